// RedditClient: Reddit's OAuth2 client-credentials flow plus authorized Listing fetches, with
// token refresh, the requests-per-minute limiter and X-Ratelimit-* pacing.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/http_client.h"
#include "common/rate_limiter.h"
#include "workers/reddit/reddit_api.h"

namespace socialai::reddit {

// The token endpoint refused the client credentials (401/403): retrying cannot help.
class AuthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A request that still failed after every retry; what() names the last cause.
class FetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Requests kept being answered 429 without X-Ratelimit-* headers: how Reddit refuses a
// User-Agent that breaks its rules (its rate-limit answers always carry them). Waiting cannot
// help, so the cycle fails naming the User-Agent.
class UserAgentRefused : public FetchError {
 public:
  using FetchError::FetchError;
};

struct ClientSettings {
  std::string base_url;  // e.g. https://oauth.reddit.com (no trailing slash)
  std::string auth_url;  // e.g. https://www.reddit.com/api/v1/access_token
  std::string client_id, client_secret;
  std::string user_agent;
  double requests_per_minute = 60;
  std::function<bool()> should_stop;  // true = give up waits (worker stopping)
  // Attempts per request on top of HttpClient's own retries, for bodies that arrive whole but
  // unreadable (malformed) and for requests HttpClient gave up on.
  unsigned attempts = 4;
  BackoffPolicy backoff{std::chrono::milliseconds(250), std::chrono::milliseconds(10000)};
};

// Not thread-safe: one client per worker thread. Never logs the secret, the token or queries.
class RedditClient {
 public:
  static constexpr int kBare429Limit = 2;

  explicit RedditClient(ClientSettings settings);

  // Fetches a fresh token. Throws AuthError (credentials refused) or FetchError.
  void authenticate();

  // GET base_url + path (with query) as a Listing of `kind`. The token is refreshed shortly
  // before it expires; a 401 refreshes it once and retries. 429/5xx/network errors are retried
  // by HttpClient, malformed bodies here, each logged with its cause. Throws FetchError,
  // AuthError, or MalformedResponse-derived FetchError after the last attempt, and
  // UserAgentRefused (also from authenticate) once kBare429Limit answers in a row, each after
  // HttpClient's retries, were 429s without X-Ratelimit-* headers.
  Listing listing(const std::string& path, const std::string& kind);
  // The same for a comment tree (parse_tree) and a /api/morechildren answer.
  Tree tree(const std::string& path);
  Tree more_children(const std::string& path);

  // Requests sent so far (every attempt), for logs and tests.
  int requests() const { return requests_; }
  int tokens_fetched() const { return tokens_fetched_; }

 private:
  // GET with the token, retries and error mapping of listing(); `parse` reads a 2xx body and
  // throws MalformedResponse for one that must be fetched again.
  template <typename Parse>
  auto fetch(const std::string& path, Parse parse) -> decltype(parse(std::string_view{}));
  HttpResponse authorized_get(const std::string& url);
  bool token_fresh() const;
  // Counts bare 429s in a row; throws UserAgentRefused at kBare429Limit.
  void check_user_agent(const HttpResponse& r, const std::string& what);
  // Spreads the requests left in the server's window over the time left in it.
  void pace(const HttpResponse& r);
  bool sleep(std::chrono::milliseconds d) const;

  ClientSettings settings_;
  std::unique_ptr<RateLimiter> limiter_;
  HttpClient http_;
  std::string token_;
  std::chrono::steady_clock::time_point token_expires_{};
  int requests_ = 0, tokens_fetched_ = 0;
  int bare_429s_ = 0;
};

}  // namespace socialai::reddit
