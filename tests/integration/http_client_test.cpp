// Integration tests for HttpClient against a scripted HTTP/1.1 server on 127.0.0.1 (POSIX
// sockets, one thread per connection): retries, Retry-After, size cap, rate limits, redaction.
#include "common/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "common/rate_limiter.h"
#include "socialai/version.h"

namespace socialai {
namespace {

using std::chrono::milliseconds;

// Serves a queue of raw responses, one per request, and records what it received. An empty
// queue closes the connection (the client sees a network error).
class ScriptedServer {
 public:
  struct Request {
    int connection = 0;  // 1-based index of the TCP connection it arrived on
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;
  };

  ScriptedServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) {
      throw std::runtime_error("socket failed");
    }
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("bind/listen failed");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ScriptedServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : sessions_) {
      t.join();
    }
    ::close(listen_fd_);
  }

  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // `close`: hang up after sending (needed for truncated bodies; otherwise keep-alive).
  void push(std::string raw, bool close = false) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back({std::move(raw), close});
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::uint16_t port() const { return port_; }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  struct Reply {
    std::string raw;
    bool close = false;
  };

  void accept_loop() {
    int connections = 0;
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) {
        continue;
      }
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) {
        const int id = ++connections;
        sessions_.emplace_back([this, fd, id] { serve(fd, id); });
      }
    }
  }

  // Appends to `buf` until done(); false on EOF, error or stop.
  bool read_until(int fd, std::string& buf, const std::function<bool()>& done) {
    char chunk[4096];
    while (!done()) {
      pollfd pfd{fd, POLLIN, 0};
      if (stop_) {
        return false;
      }
      if (::poll(&pfd, 1, 20) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        return false;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  void serve(int fd, int id) {
    std::string buf;
    for (;;) {
      if (!read_until(fd, buf, [&] { return buf.find("\r\n\r\n") != std::string::npos; })) {
        break;
      }
      const std::size_t head_end = buf.find("\r\n\r\n");
      Request req = parse_head(buf.substr(0, head_end));
      req.connection = id;
      buf.erase(0, head_end + 4);
      std::size_t length = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
        length = std::stoul(it->second);
      }
      if (!read_until(fd, buf, [&] { return buf.size() >= length; })) {
        break;
      }
      req.body = buf.substr(0, length);
      buf.erase(0, length);

      Reply reply;
      bool have_reply = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(std::move(req));
        if (!replies_.empty()) {
          reply = std::move(replies_.front());
          replies_.pop_front();
          have_reply = true;
        }
      }
      if (!have_reply) {
        break;
      }
      std::size_t sent = 0;
      while (sent < reply.raw.size()) {
        const ssize_t n =
            ::send(fd, reply.raw.data() + sent, reply.raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
          break;  // the client aborted (size cap): fine
        }
        sent += static_cast<std::size_t>(n);
      }
      if (reply.close) {
        break;
      }
    }
    ::close(fd);
  }

  static Request parse_head(const std::string& head) {
    Request req;
    std::istringstream in(head);
    std::string line;
    std::getline(in, line);
    std::istringstream first(line);
    first >> req.method >> req.target;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      const auto colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string name = line.substr(0, colon);
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      req.headers[name] = value;
    }
    return req;
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> sessions_;  // touched by acceptor_ only until it is joined
  mutable std::mutex mu_;
  std::deque<Reply> replies_;
  std::vector<Request> requests_;
};

std::string response(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: text/plain\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

HttpClient::Options fast_options() {
  HttpClient::Options o;
  o.backoff = BackoffPolicy{milliseconds(10), milliseconds(50)};
  o.connect_timeout = milliseconds(2000);
  o.total_timeout = milliseconds(5000);
  return o;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

// Sends spdlog's default logger into a string for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(HttpClientTest, ReturnsBodyAndHeadersOf200) {
  ScriptedServer server;
  server.push(response(200, "hello", "X-Thing: a\r\nX-Thing: b\r\n"));
  HttpClient client(fast_options());
  const HttpResponse r = client.get(server.url("/v1/items?id=7"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.headers.at("content-type"), "text/plain");
  EXPECT_EQ(r.headers.at("x-thing"), "a, b");
  ASSERT_EQ(server.requests().size(), 1U);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[0].target, "/v1/items?id=7");
}

TEST(HttpClientTest, SendsUserAgentAndCustomHeaders) {
  ScriptedServer server;
  server.push(response(200, "ok"));
  HttpClient client(fast_options());
  client.get(server.url("/"), {{"Accept", "application/json"}});
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  const auto& headers = requests[0].headers;
  EXPECT_EQ(headers.at("user-agent"), SOCIALAI_USER_AGENT);
  EXPECT_EQ(headers.at("accept"), "application/json");
  EXPECT_EQ(headers.count("expect"), 0U);
}

TEST(HttpClientTest, PostJsonSendsBodyAndContentType) {
  ScriptedServer server;
  server.push(response(201, "{}"));
  HttpClient client(fast_options());
  const HttpResponse r = client.post_json(server.url("/rpc"), R"({"id":1})");
  EXPECT_EQ(r.status, 201);
  ASSERT_EQ(server.requests().size(), 1U);
  EXPECT_EQ(server.requests()[0].method, "POST");
  EXPECT_EQ(server.requests()[0].body, R"({"id":1})");
  EXPECT_EQ(server.requests()[0].headers.at("content-type"), "application/json");
}

TEST(HttpClientTest, ReusesTheConnection) {
  ScriptedServer server;
  server.push(response(200, "one"));
  server.push(response(200, "two"));
  HttpClient client(fast_options());
  EXPECT_EQ(client.get(server.url("/a")).body, "one");
  EXPECT_EQ(client.get(server.url("/b")).body, "two");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0].connection, requests[1].connection);
}

TEST(HttpClientTest, RetriesA500ThenSucceeds) {
  ScriptedServer server;
  server.push(response(500, "boom"));
  server.push(response(200, "fine"));
  HttpClient client(fast_options());
  const HttpResponse r = client.get(server.url("/x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "fine");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(server.requests().size(), 2U);
}

TEST(HttpClientTest, GivesUpAfterMaxRetriesWithTheLastStatus) {
  ScriptedServer server;
  for (int i = 0; i < 3; ++i) {
    server.push(response(502, "bad gateway"));
  }
  HttpClient::Options options = fast_options();
  options.max_retries = 2;
  HttpClient client(options);
  const HttpResponse r = client.get(server.url("/x"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "bad gateway");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.attempts, 3);
}

TEST(HttpClientTest, HonoursRetryAfterOn429) {
  ScriptedServer server;
  server.push(response(429, "slow down", "Retry-After: 1\r\n"));
  server.push(response(200, "ok"));
  HttpClient::Options options = fast_options();
  options.backoff.max = milliseconds(1000);  // Retry-After cap = 4 s
  HttpClient client(options);
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = client.get(server.url("/x"));
  const double waited = elapsed_ms(start);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(waited, 990.0);
  EXPECT_LT(waited, 3000.0);
}

TEST(HttpClientTest, CapsALongRetryAfter) {
  ScriptedServer server;
  server.push(response(503, "maintenance", "Retry-After: 3600\r\n"));
  server.push(response(200, "ok"));
  HttpClient client(fast_options());  // cap = 4 * 50 ms
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = client.get(server.url("/x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(elapsed_ms(start), 190.0);
  EXPECT_LT(elapsed_ms(start), 2000.0);
}

TEST(HttpClientTest, DoesNotRetryA404) {
  ScriptedServer server;
  server.push(response(404, "nope"));
  server.push(response(200, "should not be fetched"));
  HttpClient client(fast_options());
  const HttpResponse r = client.get(server.url("/missing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "nope");
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1U);
}

TEST(HttpClientTest, OversizedBodyIsCutWithoutRetry) {
  ScriptedServer server;
  server.push(response(200, std::string(5000, 'x')), true);
  HttpClient::Options options = fast_options();
  options.max_response_bytes = 1024;
  HttpClient client(options);
  const HttpResponse r = client.get(server.url("/big"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "response exceeds 1024 bytes");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1U);
}

TEST(HttpClientTest, OversizedChunkedBodyIsCutWhileStreaming) {
  ScriptedServer server;
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    raw += "3e8\r\n" + std::string(1000, 'y') + "\r\n";  // no length known up front
  }
  raw += "0\r\n\r\n";
  server.push(raw, true);
  HttpClient::Options options = fast_options();
  options.max_response_bytes = 2500;
  HttpClient client(options);
  const HttpResponse r = client.get(server.url("/stream"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "response exceeds 2500 bytes");
  EXPECT_EQ(r.attempts, 1);
}

TEST(HttpClientTest, TruncatedBodyIsANetworkErrorAndRetried) {
  ScriptedServer server;
  server.push("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true);
  server.push(response(200, "complete"));
  HttpClient client(fast_options());
  const HttpResponse r = client.get(server.url("/x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "complete");
  EXPECT_EQ(r.attempts, 2);
}

TEST(HttpClientTest, TruncatedBodyEveryTimeReportsTheError) {
  ScriptedServer server;
  server.push("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true);
  HttpClient::Options options = fast_options();
  options.max_retries = 0;
  HttpClient client(options);
  const HttpResponse r = client.get(server.url("/x"));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.attempts, 1);
}

// A port nobody listens on: bind one, note it, close it.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(HttpClientTest, ConnectRefusedGivesErrorTextWithoutSecrets) {
  LogCapture logs;
  HttpClient::Options options = fast_options();
  options.max_retries = 1;
  HttpClient client(options);
  const std::string url = "http://user:hunter2pass@127.0.0.1:" + std::to_string(closed_port()) +
                          "/v1/data?api_key=secret123&q=1";
  const HttpResponse r = client.get(url, {{"Authorization", "Bearer tok_abcdef123456"}});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.attempts, 2);
  const std::string log = logs.text();
  EXPECT_NE(log.find("127.0.0.1"), std::string::npos) << log;
  EXPECT_NE(log.find("/v1/data?\u2026"), std::string::npos) << log;
  for (const std::string& text : {r.error, log}) {
    for (const char* secret : {"secret123", "hunter2pass", "user:", "tok_abcdef", "api_key"}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked into: " << text;
    }
  }
}

TEST(HttpClientTest, RedactUrlDropsUserinfoQueryAndFragment) {
  EXPECT_EQ(redact_url("https://user:pass@api.example.com:8443/v1/x?api_key=secret#frag"),
            "https://api.example.com:8443/v1/x?\u2026");
  EXPECT_EQ(redact_url("http://example.com/path?api_key=secret"), "http://example.com/path?\u2026");
  EXPECT_EQ(redact_url("http://example.com?token=abc"), "http://example.com?\u2026");
  EXPECT_EQ(redact_url("https://example.com/a/b"), "https://example.com/a/b");
  EXPECT_EQ(redact_url("https://eth.example/v2/AbCdEfGhIjKlMnOpQrStUv12/x"),
            "https://eth.example/v2/***/x");
  EXPECT_EQ(redact_url("https://example.com/a#x?y"), "https://example.com/a");
  EXPECT_EQ(redact_url("user:pass@example.com/p?k=v"), "example.com/p?\u2026");
  EXPECT_EQ(redact_url("/relative/path?k=v"), "/relative/path?\u2026");
  EXPECT_EQ(redact_url(""), "");
  for (const char* url : {"https://user:pass@h/p?api_key=secret", "http://a:b@h?api_key=secret"}) {
    const std::string redacted = redact_url(url);
    EXPECT_EQ(redacted.find("secret"), std::string::npos) << redacted;
    EXPECT_EQ(redacted.find("pass"), std::string::npos) << redacted;
    EXPECT_EQ(redacted.find('@'), std::string::npos) << redacted;
  }
}

TEST(HttpClientTest, ParsesRetryAfterSecondsAndDates) {
  const auto now = std::chrono::system_clock::from_time_t(1445412450);  // 07:27:30 GMT
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
}

// A limiter on a frozen clock: reserve() answers how far the client paused it, exactly.
struct FrozenLimiter {
  RateLimiter::Clock::time_point now = RateLimiter::Clock::now();
  RateLimiter limiter{6000, 10, [this] { return now; }};
};

TEST(HttpClientTest, RatelimitHeadersPauseTheLimiter) {
  ScriptedServer server;
  server.push(response(200, "last one",
                       "X-Ratelimit-Used: 100\r\nX-Ratelimit-Remaining: 0.0\r\n"
                       "X-Ratelimit-Reset: 42.5\r\n"));
  FrozenLimiter frozen;
  HttpClient::Options options = fast_options();
  options.limiter = &frozen.limiter;
  HttpClient client(options);
  const HttpResponse r = client.get(server.url("/r/all/new"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(frozen.limiter.reserve(), milliseconds(42500));
}

TEST(HttpClientTest, RemainingQuotaDoesNotPauseTheLimiter) {
  ScriptedServer server;
  server.push(response(200, "ok", "X-Ratelimit-Remaining: 57.0\r\nX-Ratelimit-Reset: 300\r\n"));
  FrozenLimiter frozen;
  HttpClient::Options options = fast_options();
  options.limiter = &frozen.limiter;
  HttpClient client(options);
  EXPECT_EQ(client.get(server.url("/")).status, 200);
  EXPECT_EQ(frozen.limiter.reserve(), milliseconds(0));
}

TEST(HttpClientTest, RequestsWaitForTheLimiter) {
  ScriptedServer server;
  server.push(response(200, "a"));
  server.push(response(200, "b"));
  RateLimiter limiter(300, 1);  // one request per 200 ms
  HttpClient::Options options = fast_options();
  options.limiter = &limiter;
  HttpClient client(options);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.get(server.url("/")).body, "a");
  EXPECT_EQ(client.get(server.url("/")).body, "b");
  EXPECT_GE(elapsed_ms(start), 190.0);
}

TEST(HttpClientTest, StopAbortsARetryWait) {
  ScriptedServer server;
  server.push(response(503, "busy", "Retry-After: 30\r\n"));
  HttpClient::Options options = fast_options();
  options.backoff.max = milliseconds(30000);
  std::atomic<bool> stop{false};
  options.should_stop = [&stop] { return stop.load(); };
  HttpClient client(options);
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(milliseconds(150));
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = client.get(server.url("/"));
  stopper.join();
  EXPECT_LT(elapsed_ms(start), 2000.0);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.retry_after, milliseconds(30000));

  const HttpResponse after = client.get(server.url("/"));  // already stopping: nothing is sent
  EXPECT_EQ(after.status, 0);
  EXPECT_EQ(after.error, "stopped");
  EXPECT_EQ(after.attempts, 0);
  EXPECT_EQ(server.requests().size(), 1U);
}

}  // namespace
}  // namespace socialai

namespace socialai {
namespace {

TEST(UrlEscape, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(url_escape("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(url_escape("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(url_escape("\xc3\xa9+%"), "%C3%A9%2B%25");
  EXPECT_EQ(url_escape(""), "");
}

}  // namespace
}  // namespace socialai
