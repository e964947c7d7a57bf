#include "common/json_rpc.h"

#include <map>

#include "common/redact.h"

namespace socialai {

using json = nlohmann::json;

JsonRpcError::JsonRpcError(std::string method, int code, const std::string& message, json data)
    : std::runtime_error(method + ": JSON-RPC error " + std::to_string(code) + ": " + message),
      method_(std::move(method)),
      code_(code),
      data_(std::move(data)) {}

namespace {

JsonRpcError error_of(const std::string& method, const json& err) {
  int code = 0;
  std::string message = "(no message)";
  if (err.is_object()) {
    if (err.contains("code") && err["code"].is_number_integer()) {
      code = err["code"].get<int>();
    }
    if (err.contains("message") && err["message"].is_string()) {
      message = err["message"].get<std::string>();
    }
  } else {
    message = "malformed error member: " + err.dump().substr(0, 200);
  }
  return JsonRpcError(method, code, message, err.is_object() ? err.value("data", json()) : json());
}

// The node answered a batch with something other than an array: it does not do batches.
struct NoBatchSupport {};

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 120);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  return s;
}

}  // namespace

JsonRpcClient::JsonRpcClient(HttpClient& http, std::string url)
    : http_(http), url_(std::move(url)), redacted_url_(redact_url(url_)) {}

json JsonRpcClient::post(const json& body, const std::string& what) {
  const HttpResponse r = http_.post_json(url_, body.dump());
  if (!r.error.empty()) {
    throw JsonRpcTransportError(what + " at " + redacted_url_ + ": " + r.error);
  }
  json parsed = json::parse(r.body, nullptr, false);
  if (parsed.is_discarded()) {
    throw JsonRpcTransportError(what + " at " + redacted_url_ + ": HTTP " +
                                std::to_string(r.status) + " with a body that is not JSON (" +
                                std::to_string(r.body.size()) + " bytes: " + snippet(r.body) + ")");
  }
  if (r.status < 200 || r.status >= 300) {
    // Some nodes answer errors with 4xx and a JSON-RPC error body (e.g. "batch requests are not
    // supported"); keep it for the caller. A 429 or 5xx that outlived the retries is a transport
    // failure whatever its body says: it must not read as "this node refuses batches".
    if (r.status >= 400 && r.status < 500 && r.status != 429 && parsed.is_object() &&
        parsed.contains("error")) {
      return parsed;
    }
    throw JsonRpcTransportError(what + " at " + redacted_url_ + ": HTTP " +
                                std::to_string(r.status) + ": " + snippet(r.body));
  }
  return parsed;
}

json JsonRpcClient::call(const std::string& method, json params) {
  const std::int64_t id = next_id_++;
  const json body = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  const json answer = post(body, method);
  if (!answer.is_object()) {
    throw JsonRpcTransportError(method + ": answer is not a JSON-RPC object");
  }
  if (answer.contains("error") && !answer["error"].is_null()) {
    throw error_of(method, answer["error"]);
  }
  if (!answer.contains("result")) {
    throw JsonRpcTransportError(method + ": answer has neither result nor error");
  }
  return answer["result"];
}

std::vector<JsonRpcResult> JsonRpcClient::batch_once(const std::vector<JsonRpcCall>& calls,
                                                     std::size_t from, std::size_t to) {
  json body = json::array();
  std::map<std::int64_t, std::size_t> index_of;
  for (std::size_t i = from; i < to; ++i) {
    const std::int64_t id = next_id_++;
    index_of[id] = i - from;
    body.push_back({{"jsonrpc", "2.0"}, {"id", id}, {"method", calls[i].method},
                    {"params", calls[i].params}});
  }
  const std::string what = "batch of " + std::to_string(to - from) + " (" + calls[from].method + "…)";
  const json answer = post(body, what);
  std::vector<JsonRpcResult> out(to - from);
  if (!answer.is_array()) {
    throw NoBatchSupport{};
  }
  std::vector<bool> seen(to - from, false);
  for (const auto& item : answer) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_number_integer()) {
      throw JsonRpcTransportError(what + ": batch answer holds an item without an integer id");
    }
    const auto it = index_of.find(item["id"].get<std::int64_t>());
    if (it == index_of.end() || seen[it->second]) {
      throw JsonRpcTransportError(what + ": batch answer holds an unknown or repeated id");
    }
    seen[it->second] = true;
    JsonRpcResult& res = out[it->second];
    if (item.contains("error") && !item["error"].is_null()) {
      res.error = error_of(calls[from + it->second].method, item["error"]);
    } else if (item.contains("result")) {
      res.result = item["result"];
    } else {
      throw JsonRpcTransportError(what + ": batch item has neither result nor error");
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      throw JsonRpcTransportError(what + ": batch answer lacks the result of " +
                                  calls[from + i].method);
    }
  }
  return out;
}

std::vector<JsonRpcResult> JsonRpcClient::batch(const std::vector<JsonRpcCall>& calls,
                                                std::size_t max_batch) {
  std::vector<JsonRpcResult> out;
  out.reserve(calls.size());
  if (max_batch == 0) {
    max_batch = 1;
  }
  std::size_t i = 0;
  while (i < calls.size()) {
    if (batches_supported_ && calls.size() - i > 1) {
      const std::size_t to = std::min(calls.size(), i + max_batch);
      try {
        auto part = batch_once(calls, i, to);
        out.insert(out.end(), std::make_move_iterator(part.begin()),
                   std::make_move_iterator(part.end()));
        i = to;
        continue;
      } catch (const NoBatchSupport&) {
        batches_supported_ = false;
      }
    }
    JsonRpcResult r;
    try {
      r.result = call(calls[i].method, calls[i].params);
    } catch (const JsonRpcError& e) {
      r.error = e;
    }
    out.push_back(std::move(r));
    ++i;
  }
  return out;
}

}  // namespace socialai
