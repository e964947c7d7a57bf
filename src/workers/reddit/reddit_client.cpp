// RedditClient: token lifecycle, authorized GETs with one 401-refresh, retries of malformed
// bodies, and pacing from Reddit's X-Ratelimit-* headers (see reddit_client.h).
#include "workers/reddit/reddit_client.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>

namespace socialai::reddit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::chrono::seconds kMaxRefreshMargin{60};
constexpr milliseconds kSleepSlice{50};

std::string base64(const std::string& raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.find('\0'));
  return out;
}

std::optional<double> header_number(const HttpResponse& r, const char* name) {
  const auto it = r.headers.find(name);
  if (it == r.headers.end()) {
    return std::nullopt;
  }
  double v = 0;
  const std::string& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !(v >= 0)) {
    return std::nullopt;
  }
  return v;
}

bool bare_429(const HttpResponse& r) {
  return r.status == 429 && r.headers.count("x-ratelimit-remaining") == 0 &&
         r.headers.count("x-ratelimit-used") == 0 && r.headers.count("x-ratelimit-reset") == 0;
}

std::string cause_of(const HttpResponse& r) {
  if (r.status == 0) {
    return r.error.empty() ? std::string("no response") : r.error;
  }
  return "HTTP " + std::to_string(r.status);
}

}  // namespace

RedditClient::RedditClient(ClientSettings settings)
    : settings_(std::move(settings)),
      limiter_(std::make_unique<RateLimiter>(settings_.requests_per_minute, 1)),
      http_([this] {
        HttpClient::Options o;
        o.user_agent = settings_.user_agent;
        o.limiter = limiter_.get();
        o.should_stop = settings_.should_stop;
        o.backoff = settings_.backoff;
        return o;
      }()) {
  if (sodium_init() < 0) {
    throw std::runtime_error("sodium_init failed");
  }
  while (!settings_.base_url.empty() && settings_.base_url.back() == '/') {
    settings_.base_url.pop_back();
  }
}

bool RedditClient::sleep(milliseconds d) const {
  const auto deadline = Clock::now() + d;
  while (Clock::now() < deadline) {
    if (settings_.should_stop && settings_.should_stop()) {
      return false;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(kSleepSlice, deadline - Clock::now()));
  }
  return true;
}

void RedditClient::check_user_agent(const HttpResponse& r, const std::string& what) {
  bare_429s_ = bare_429(r) ? bare_429s_ + 1 : 0;
  if (bare_429s_ < kBare429Limit) {
    return;
  }
  throw UserAgentRefused(
      what + ": HTTP 429 without X-Ratelimit headers " + std::to_string(kBare429Limit) +
      " times in a row (after retries): Reddit answers so to a User-Agent it refuses, so the "
      "User-Agent \"" + settings_.user_agent + "\" is the likely cause; Reddit asks for "
      "\"<platform>:<app id>:<version> (by /u/<reddit username>)\": set workers.reddit.username "
      "or a workers.reddit.user_agent of that form");
}

bool RedditClient::token_fresh() const { return !token_.empty() && Clock::now() < token_expires_; }

void RedditClient::authenticate() {
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.auth_url;
  req.headers = {{"Authorization", "Basic " + base64(settings_.client_id + ":" +
                                                     settings_.client_secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "grant_type=client_credentials";
  std::string cause;
  for (unsigned attempt = 1; attempt <= settings_.attempts; ++attempt) {
    const HttpResponse r = http_.perform(req);
    requests_ += r.attempts;
    check_user_agent(r, "reddit token request to " + redact_url(settings_.auth_url));
    if (r.status == 401 || r.status == 403) {
      throw AuthError("reddit token endpoint " + redact_url(settings_.auth_url) +
                      " refused the client credentials (HTTP " + std::to_string(r.status) +
                      "); check client_id/client_secret");
    }
    if (r.ok()) {
      try {
        const Token t = parse_token(r.body);
        token_ = t.access_token;
        // Refresh a little early: a tenth of the lifetime, at most a minute.
        const auto margin = std::min<Clock::duration>(kMaxRefreshMargin, t.expires_in / 10);
        token_expires_ = Clock::now() + t.expires_in - margin;
        ++tokens_fetched_;
        spdlog::info("reddit: access token obtained (expires in {} s)", t.expires_in.count());
        return;
      } catch (const MalformedResponse& e) {
        cause = std::string("malformed token response: ") + e.what();
      }
    } else {
      cause = cause_of(r);
    }
    spdlog::warn("reddit: token request to {} failed: {} (attempt {}/{})",
                 redact_url(settings_.auth_url), cause, attempt, settings_.attempts);
    if (attempt < settings_.attempts &&
        !sleep(jittered_delay(settings_.backoff, attempt - 1, random_unit()))) {
      break;
    }
  }
  throw FetchError("reddit token request to " + redact_url(settings_.auth_url) + " failed: " +
                   cause);
}

HttpResponse RedditClient::authorized_get(const std::string& url) {
  HttpResponse r = http_.get(url, {{"Authorization", "bearer " + token_}});
  requests_ += r.attempts;
  pace(r);
  return r;
}

void RedditClient::pace(const HttpResponse& r) {
  const auto remaining = header_number(r, "x-ratelimit-remaining");
  const auto reset = header_number(r, "x-ratelimit-reset");
  // Remaining < 1 is HttpClient's job (it pauses the limiter until the reset).
  if (!remaining || !reset || *remaining < 1.0 || *reset > 3600) {
    return;
  }
  const auto gap = std::chrono::ceil<milliseconds>(std::chrono::duration<double>(*reset / *remaining));
  limiter_->pause_until(limiter_->now() + gap);
}

Listing RedditClient::listing(const std::string& path, const std::string& kind) {
  return fetch(path, [&](std::string_view body) { return parse_listing(body, kind); });
}

Tree RedditClient::tree(const std::string& path) {
  return fetch(path, [](std::string_view body) { return parse_tree(body); });
}

Tree RedditClient::more_children(const std::string& path) {
  return fetch(path, [](std::string_view body) { return parse_more_children(body); });
}

template <typename Parse>
auto RedditClient::fetch(const std::string& path, Parse parse)
    -> decltype(parse(std::string_view{})) {
  const std::string url = settings_.base_url + path;
  const std::string shown = redact_url(settings_.base_url) + path;  // path and query hold no secret
  std::string cause;
  bool refreshed = false;
  for (unsigned attempt = 1; attempt <= settings_.attempts; ++attempt) {
    if (settings_.should_stop && settings_.should_stop()) {
      throw FetchError("GET " + shown + ": stopped");
    }
    if (!token_fresh()) {
      authenticate();
    }
    const HttpResponse r = authorized_get(url);
    check_user_agent(r, "GET " + shown);
    if (r.status == 401 && !refreshed) {
      // The token was revoked or expired early: one refresh, and this try does not count.
      spdlog::warn("reddit: GET {} answered 401; refreshing the access token", shown);
      token_.clear();
      refreshed = true;
      --attempt;
      continue;
    }
    if (r.ok()) {
      try {
        return parse(r.body);
      } catch (const MalformedResponse& e) {
        cause = std::string("malformed response: ") + e.what();
      }
    } else {
      cause = cause_of(r);
      if (r.status == 401) {
        throw FetchError("GET " + shown + ": HTTP 401 even with a fresh token");
      }
      if (r.status >= 300 && r.status < 500 && r.status != 429) {
        // 403 private/quarantined, 404 banned, 302 to the search page for unknown names.
        throw FetchError("GET " + shown + ": " + cause);
      }
    }
    spdlog::warn("reddit: GET {}: {} (attempt {}/{})", shown, cause, attempt, settings_.attempts);
    if (attempt < settings_.attempts &&
        !sleep(jittered_delay(settings_.backoff, attempt - 1, random_unit()))) {
      break;
    }
  }
  throw FetchError("GET " + shown + " failed: " + cause);
}

}  // namespace socialai::reddit
