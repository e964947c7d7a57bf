#include "devnet/json_rpc.h"

namespace socialai::devnet {

using json = nlohmann::json;

namespace {

json error_object(const json& id, int code, const std::string& message, const json& data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null()) {
    err["data"] = data;
  }
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", err}};
}

json answer_one(const json& call, const RpcHandler& handler) {
  if (!call.is_object() || call.value("jsonrpc", "") != "2.0" || !call.contains("method") ||
      !call["method"].is_string()) {
    return error_object(call.is_object() ? call.value("id", json()) : json(), -32600,
                        "Invalid Request", nullptr);
  }
  const json id = call.value("id", json());
  const json params = call.value("params", json::array());
  try {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", handler(call["method"], params)}};
  } catch (const RpcFailure& e) {
    return error_object(id, e.code, e.what(), e.data);
  } catch (const json::exception& e) {
    return error_object(id, -32602, std::string("Invalid params: ") + e.what(), nullptr);
  }
}

}  // namespace

Response serve_json_rpc(const Request& request, const RpcHandler& handler, bool allow_batch) {
  if (request.method != "POST") {
    return Response::json(405, error_object(nullptr, -32600, "JSON-RPC needs POST", nullptr));
  }
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return Response::json(200, error_object(nullptr, -32700, "Parse error", nullptr));
  }
  if (body.is_array()) {
    if (!allow_batch) {
      return Response::json(400, error_object(nullptr, -32600,
                                              "batch requests are not supported", nullptr));
    }
    if (body.empty()) {
      return Response::json(200, error_object(nullptr, -32600, "Invalid Request", nullptr));
    }
    json out = json::array();
    for (const auto& call : body) {
      out.push_back(answer_one(call, handler));
    }
    return Response::json(200, out);
  }
  return Response::json(200, answer_one(body, handler));
}

}  // namespace socialai::devnet
