// HttpApi: the manager's HTTP listener (Boost.Beast): accepts on http.listen, parses with
// bounded header/body sizes and a per-request timeout, and passes each request to a Handler
// on the io_context's thread. Never throws out of a handler; a bad request gets a 4xx.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace socialai::manager {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target without the query
  std::map<std::string, std::string> query;
  std::string authorization;  // Authorization header value
  std::string body;
  bool peer_loopback = false;      // the client connected from a loopback address
  bool listener_loopback = false;  // http.listen is a loopback address
};

struct ApiReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using ApiHandler = std::function<ApiReply(const ApiRequest&)>;

ApiReply json_error(int status, const std::string& message);

class HttpApi {
 public:
  // Binds now; throws std::runtime_error naming the address if it cannot.
  HttpApi(boost::asio::io_context& ioc, const std::string& listen, ApiHandler handler);
  ~HttpApi();
  void start();
  // Closes the listener and open sessions (graceful: cancels, no ioc.stop()).
  void stop();
  bool listening_on_loopback() const;
  unsigned short port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace socialai::manager
