// The server side of JSON-RPC 2.0 for the devnet's EVM and Solana nodes: single and batch
// requests, parse errors (-32700), invalid requests (-32600), unknown methods (-32601) and
// handler errors as error objects, as real nodes answer them.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"

namespace socialai::devnet {

// Thrown by a method handler to answer with an error object.
class RpcFailure : public std::runtime_error {
 public:
  RpcFailure(int error_code, const std::string& message, nlohmann::json error_data = nullptr)
      : std::runtime_error(message), code(error_code), data(std::move(error_data)) {}
  int code;
  nlohmann::json data;
};

// Returns the result of `method`; throws RpcFailure (e.g. -32601 for an unknown method, -32602
// for bad params).
using RpcHandler = std::function<nlohmann::json(const std::string& method,
                                                const nlohmann::json& params)>;

// Serves one HTTP request. With `allow_batch` false a batch gets the single error object
// {-32600, "batch requests are not supported"} with HTTP 400, as some providers answer.
Response serve_json_rpc(const Request& request, const RpcHandler& handler,
                        bool allow_batch = true);

}  // namespace socialai::devnet
