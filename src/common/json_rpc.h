// JsonRpcClient: JSON-RPC 2.0 over HttpClient, as EVM and Solana nodes speak it: single calls
// and batches (falling back to single calls when a node refuses batches), with error objects and
// malformed answers reported with their cause.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"

namespace socialai {

// The node answered with a JSON-RPC error object.
class JsonRpcError : public std::runtime_error {
 public:
  JsonRpcError(std::string method, int code, const std::string& message, nlohmann::json data);
  const std::string& method() const { return method_; }
  int code() const { return code_; }
  const nlohmann::json& data() const { return data_; }

 private:
  std::string method_;
  int code_;
  nlohmann::json data_;
};

// No usable answer: transport error, HTTP status, truncated or malformed body, wrong shape.
class JsonRpcTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JsonRpcCall {
  std::string method;
  nlohmann::json params = nlohmann::json::array();
};

struct JsonRpcResult {
  nlohmann::json result;                 // null when `error` is set
  std::optional<JsonRpcError> error;     // the node's error object for this call
  bool ok() const { return !error.has_value(); }
};

class JsonRpcClient {
 public:
  // `http` is not owned and must outlive the client. `url` may carry an API key; it is never
  // logged or put into error texts (redact_url).
  JsonRpcClient(HttpClient& http, std::string url);

  // One call; throws JsonRpcError or JsonRpcTransportError.
  nlohmann::json call(const std::string& method, nlohmann::json params = nlohmann::json::array());

  // Calls in batches of at most `max_batch`; results in the order of `calls`. A transport
  // failure of any batch throws JsonRpcTransportError (the caller retries the whole unit of work).
  // A node that refuses batches (HTTP 4xx/5xx without a JSON array, a single error object such as
  // -32600, or an answer that is not an array) is remembered and served by single calls.
  std::vector<JsonRpcResult> batch(const std::vector<JsonRpcCall>& calls,
                                   std::size_t max_batch = 100);

  bool batches_supported() const { return batches_supported_; }
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  nlohmann::json post(const nlohmann::json& body, const std::string& what);
  std::vector<JsonRpcResult> batch_once(const std::vector<JsonRpcCall>& calls, std::size_t from,
                                        std::size_t to);

  HttpClient& http_;
  std::string url_, redacted_url_;
  std::int64_t next_id_ = 1;
  bool batches_supported_ = true;
};

}  // namespace socialai
