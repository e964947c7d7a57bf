// HttpClient: the one way workers talk to outside HTTP APIs (libcurl): timeouts, a response size
// cap, retries with jittered backoff, Retry-After and rate-limit headers, secret-free messages.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/backoff.h"
#include "common/redact.h"  // redact_url: every URL in a message goes through it
#include "socialai/version.h"

namespace socialai {

class RateLimiter;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE, HEAD, ...
  std::string url;             // may carry secrets (userinfo, query): never logged as is
  HttpHeaders headers;         // sent in order after the client's own (User-Agent, Expect)
  std::string body;            // sent when non-empty, or always for POST
};

struct HttpResponse {
  long status = 0;  // HTTP status of the last attempt; 0 when no response was received
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names; repeated headers joined by ", "
  std::optional<std::chrono::milliseconds> retry_after;  // parsed Retry-After, uncapped
  std::string error;  // network/transfer error text, empty when the server answered; no secrets
  int attempts = 0;   // requests actually sent (1 + retries)

  // True for a 2xx answer.
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

// One client owns one curl easy handle, reused across requests for keep-alive.
//
// Thread-safety: NOT thread-safe. An HttpClient belongs to the thread that uses it; give every
// thread its own client (they may share one RateLimiter, which is thread-safe).
//
// perform() never throws for HTTP or network failures: 4xx/5xx arrive in `status`, transport
// failures in `error` with status 0. Behaviour per attempt:
//  - 5xx, 429 and retryable network errors (connect/DNS failures, timeouts, resets, truncated
//    bodies) are retried up to Options::max_retries times; other 4xx and 3xx are returned at once
//    (redirects are not followed, so Authorization never reaches another host).
//  - The wait before a retry is jittered_delay(backoff, retry#); on 429/503 with a Retry-After
//    header that value is used instead, capped at kRetryAfterCapFactor * backoff.max so one
//    answer cannot park a worker for hours (the uncapped value stays in `retry_after`).
//  - A body larger than max_response_bytes aborts the transfer: status 0, empty body,
//    error "response exceeds N bytes", no retry.
//  - With a limiter, every attempt first waits limiter->reserve(); X-Ratelimit-Remaining < 1 with
//    X-Ratelimit-Reset (seconds until reset; floats accepted, as Reddit sends them; values above
//    1e9 are read as a Unix time; capped at 1 h) and a honoured Retry-After pause the limiter.
//  - A header with CR/LF (or ':' in its name) is refused: status 0, an error, nothing sent.
//  - Waits are sliced so should_stop() (if set) can abort them; a stop also aborts a transfer in
//    flight. A stopped call returns the last response, or status 0 with error "stopped".
// Log lines and error texts contain redact_url(url) only, never the query, userinfo, or the value
// of Authorization / key / token / cookie headers.
// Percent-encodes every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - _ . ~): a query
// value or a path segment.
std::string url_escape(std::string_view s);

class HttpClient {
 public:
  static constexpr int kRetryAfterCapFactor = 4;

  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds total_timeout{30000};  // per attempt, including the body
    std::size_t max_response_bytes = std::size_t{16} * 1024 * 1024;
    unsigned max_retries = 3;
    BackoffPolicy backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
    std::string user_agent = SOCIALAI_USER_AGENT;
    RateLimiter* limiter = nullptr;     // not owned; must outlive the client
    std::function<bool()> should_stop;  // optional; true = give up waiting (worker stopping)
  };

  HttpClient();
  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse perform(const HttpRequest& request);
  HttpResponse get(std::string url, HttpHeaders headers = {});
  // Adds Content-Type: application/json unless `headers` already has a Content-Type.
  HttpResponse post_json(std::string url, std::string body, HttpHeaders headers = {});

  const Options& options() const { return options_; }

 private:
  struct Handle;
  struct Transfer;
  struct Attempt;

  // One attempt, no retries, no waits.
  Attempt perform_once(const HttpRequest& request);
  // Passes the server's rate-limit signals (and a Retry-After we obey) on to options_.limiter.
  void feed_limiter(const HttpResponse& response,
                    std::optional<std::chrono::milliseconds> honoured_retry_after);
  // Sleeps `delay`, in short slices when should_stop is set; false if it asked to give up.
  bool wait(std::chrono::milliseconds delay) const;
  bool stopping() const;

  Options options_;
  std::unique_ptr<Handle> handle_;
};


// Parses a Retry-After value (delta-seconds or an HTTP-date) relative to `now`. Past dates give
// zero; garbage gives nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace socialai
