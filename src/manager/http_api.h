// HttpApi: the manager's HTTP listener (Boost.Beast): accepts on http.listen, parses with
// bounded header/body sizes and a per-request timeout, and passes each request to a Handler
// on the io_context's thread. Never throws out of a handler; a bad request gets a 4xx.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace socialai::manager {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target without the query
  std::map<std::string, std::string> query;
  std::string authorization;  // Authorization header value
  std::string host;           // Host header value ("" when absent)
  std::string origin;         // Origin header value ("" when absent)
  std::string fetch_site;     // Sec-Fetch-Site header value ("" when absent)
  std::string body;
  std::string peer;                // client address, for the audit log
  bool head = false;               // a HEAD request: routed as GET, answered without a body
  bool peer_loopback = false;      // the client connected from a loopback address
  bool listener_loopback = false;  // http.listen is a loopback address
};

struct ApiReply;

// A long poll: instead of an answer now, the session asks `poll(false)` for one each time the
// wake function it gave `watch` is called (from any thread), and `poll(true)` (which must
// answer) once `timeout` has passed. The session does this on the io_context's thread and ends
// the watch (destroys its handle) before it answers or closes. A waiting connection counts
// toward the connection limits and is never evicted; at most kMaxWaiting wait at once (any
// more get 503 at once), and HttpApi::stop() ends every wait.
struct ApiWait {
  std::function<std::shared_ptr<void>(std::function<void()> wake)> watch;
  std::function<std::optional<ApiReply>(bool final)> poll;
  std::chrono::milliseconds timeout{0};
};

struct ApiReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  std::shared_ptr<ApiWait> wait;  // set: answer later (the fields above are unused)
};

using ApiHandler = std::function<ApiReply(const ApiRequest&)>;

// Bounds of one request (Beast request_parser header_limit / body_limit): beyond them the
// client gets 431 / 413.
inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
// Connection bounds. A client must send its whole header within kHeaderTimeout of connecting
// (or of its previous answer); at most kMaxSessions connections are open, at most
// kMaxSessionsPerPeer from one address. When a bound is reached, the connection that has waited
// longest for its header is closed to admit the new one, so a client holding many idle or
// half-open connections cannot lock out a /healthz probe or an operator (a connection that
// sent its request is never evicted).
inline constexpr std::size_t kMaxSessions = 64;
inline constexpr std::size_t kMaxSessionsPerPeer = 16;
// Long polls (ApiWait) open at once, so followers cannot take every connection for long.
inline constexpr std::size_t kMaxWaiting = 8;

ApiReply json_error(int status, const std::string& message);

// Splits a request target into `out.path` (percent-decoded, without the query) and
// `out.query` (percent- and '+'-decoded pairs; a key without '=' maps to ""; the last
// occurrence of a key wins). Pure; the fuzz tests call it directly.
void parse_target(std::string_view target, ApiRequest& out);

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
