// RedditSync: settings, validation and the newest-first stream passes (see reddit_sync.h).
#include "workers/reddit/reddit_sync.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "socialai/version.h"

namespace socialai {
namespace {

using reddit::Item;
using reddit::StreamCursor;

constexpr const char* kDefaultBaseUrl = "https://oauth.reddit.com";
constexpr const char* kDefaultAuthUrl = "https://www.reddit.com/api/v1/access_token";
constexpr int kMaxLimit = 100;  // Reddit's cap on `limit`

std::uint64_t number_of(const std::optional<std::string>& fullname) {
  return fullname ? reddit::parse_base36(*fullname).value_or(0) : 0;
}

bool setting_bool(const WorkerContext& ctx, const std::string& key, bool fallback) {
  const std::string v = ctx.setting_or(key, fallback ? "true" : "false");
  return v == "true" || v == "1" || v == "yes" || v == "on";
}

std::string required(const WorkerContext& ctx, const std::string& key, const char* env) {
  const auto v = ctx.setting(key);
  if (!v || v->empty()) {
    throw DependencyError("reddit: " + key + " is not set; put \"${" + env +
                          "}\" in workers.reddit." + key + " and export " + env +
                          " (or set the settings row reddit_" + key + ")");
  }
  return *v;
}

// Whether `url` points at Reddit itself (reddit.com or a subdomain such as oauth.reddit.com).
bool is_reddit_url(const std::string& url) {
  const auto scheme = url.find("://");
  std::string host = url.substr(scheme == std::string::npos ? 0 : scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const auto at = host.rfind('@'); at != std::string::npos) {
    host = host.substr(at + 1);
  }
  host = host.substr(0, host.find(':'));
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!host.empty() && host.back() == '.') {
    host.pop_back();
  }
  constexpr std::string_view kDomain = ".reddit.com";
  return host == "reddit.com" ||
         (host.size() > kDomain.size() &&
          host.compare(host.size() - kDomain.size(), kDomain.size(), kDomain) == 0);
}

// Reddit's API rules ask for "<platform>:<app id>:<version> (by /u/<username>)" and answer
// other User-Agents with bare 429s, so against Reddit itself one is required: `user_agent` of
// that form, or `username` to build it. Elsewhere (the devnet) a generic one will do.
std::string user_agent(const WorkerContext& ctx, const std::string& base_url) {
  const std::string prefix = std::string("linux:socialai:") + SOCIALAI_VERSION;
  const bool reddit = is_reddit_url(base_url);
  const std::string ua = ctx.setting_or("user_agent", "");
  if (std::any_of(ua.begin(), ua.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    throw DependencyError("reddit: user_agent must not contain control characters");
  }
  if (!ua.empty()) {
    if (reddit && ua.find("(by /u/") == std::string::npos) {
      throw DependencyError("reddit: user_agent \"" + ua + "\" lacks \"(by /u/<reddit username>)\", "
                            "which Reddit requires (it answers other User-Agents with 429s); "
                            "write it as \"" + prefix + " (by /u/<name>)\" or set "
                            "workers.reddit.username instead");
    }
    return ua;
  }
  std::string name = ctx.setting_or("username", "");
  for (const char* p : {"/u/", "u/"}) {
    if (name.rfind(p, 0) == 0) {
      name = name.substr(std::string_view(p).size());
    }
  }
  if (!name.empty()) {
    const bool valid = name.size() <= 20 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                         return std::isalnum(c) != 0 || c == '_' || c == '-';
                       });
    if (!valid) {
      throw DependencyError("reddit: username \"" + name + "\" is not a Reddit username "
                            "(up to 20 of A-Z, a-z, 0-9, _ and -)");
    }
    return prefix + " (by /u/" + name + ")";
  }
  if (reddit) {
    throw DependencyError("reddit: no User-Agent for " + redact_url(base_url) + ": Reddit requires "
                          "\"<platform>:<app id>:<version> (by /u/<reddit username>)\" and answers "
                          "others with 429s; set workers.reddit.username (the default becomes \"" +
                          prefix + " (by /u/<username>)\") or workers.reddit.user_agent");
  }
  return prefix + " (socialai reddit worker)";
}

}  // namespace

void RedditSync::validate(WorkerContext& ctx) {
  ctx_ = &ctx;
  reddit::ClientSettings s;
  s.client_id = required(ctx, "client_id", "REDDIT_CLIENT_ID");
  s.client_secret = required(ctx, "client_secret", "REDDIT_CLIENT_SECRET");
  try {
    subreddits_ = reddit::parse_subreddits(ctx.setting_or("subreddits", ""));
  } catch (const std::invalid_argument& e) {
    throw DependencyError(std::string("reddit: ") + e.what());
  }
  if (subreddits_.empty()) {
    throw DependencyError("reddit: no subreddits configured (workers.reddit.subreddits)");
  }
  s.base_url = ctx.setting_or("base_url", kDefaultBaseUrl);
  s.auth_url = ctx.setting_or("auth_url", kDefaultAuthUrl);
  s.user_agent = user_agent(ctx, s.base_url);
  s.requests_per_minute = static_cast<double>(ctx.setting_int("requests_per_minute", 60));
  s.should_stop = [this] { return ctx_ != nullptr && ctx_->stopping(); };
  comments_ = setting_bool(ctx, "comments", true);
  limit_ = static_cast<int>(std::clamp<std::int64_t>(ctx.setting_int("limit", kMaxLimit), 1, kMaxLimit));
  max_pages_ = static_cast<int>(std::max<std::int64_t>(1, ctx.setting_int("max_pages", 10)));

  client_ = std::make_unique<reddit::RedditClient>(std::move(s));
  try {
    client_->authenticate();
  } catch (const reddit::AuthError& e) {
    throw DependencyError(e.what());
  } catch (const reddit::FetchError& e) {
    throw DependencyError(e.what());
  }
  spdlog::info("reddit: {} subreddit(s), comments {}, limit {}, max_pages {}", subreddits_.size(),
               comments_ ? "on" : "off", limit_, max_pages_);
}

void RedditSync::run_cycle(WorkerContext& ctx) {
  ctx_ = &ctx;
  for (const std::string& sub : subreddits_) {
    std::vector<std::pair<std::string, std::string>> streams = {{"new", "t3"}};
    if (comments_) {
      streams.emplace_back("comments", "t1");
    }
    for (const auto& [stream, kind] : streams) {
      if (ctx.stopping()) {
        return;
      }
      try {
        const StreamResult r = sync_stream(ctx, sub, stream, kind);
        if (r.written > 0 || !r.complete) {
          spdlog::info("reddit: r/{} {}: {} fetched, {} written in {} page(s){}", sub, stream,
                       r.fetched, r.written, r.pages, r.complete ? "" : "; pass continues");
        }
      } catch (const reddit::UserAgentRefused&) {
        throw;  // every stream would meet it: the cycle fails, naming the User-Agent
      } catch (const reddit::FetchError& e) {
        if (ctx.stopping()) {
          return;
        }
        ctx.item_failed(reddit::stream_key(sub, stream), e.what());
      } catch (const pqxx::sql_error& e) {
        // A page the database refused (its transaction rolled back whole, cursor included).
        // A lost connection is not caught here: the runtime reconnects.
        ctx.item_failed(reddit::stream_key(sub, stream), std::string("database: ") + e.what());
      }
    }
  }
}

RedditSync::StreamResult RedditSync::sync_stream(WorkerContext& ctx, const std::string& subreddit,
                                                 const std::string& stream,
                                                 const std::string& kind) {
  const std::string key = reddit::stream_key(subreddit, stream);
  StreamCursor cursor = reddit::load_cursor(ctx.db(), ctx.name(), key);
  StreamResult result;
  const std::uint64_t known = number_of(cursor.newest);
  while (!ctx.stopping() && result.pages < static_cast<std::size_t>(max_pages_)) {
    std::string path = "/r/" + subreddit + "/" + stream + "?limit=" + std::to_string(limit_) +
                       "&raw_json=1";
    if (cursor.after) {
      path += "&after=" + *cursor.after;
    }
    const reddit::Listing page = client_->listing(path, kind);
    ++result.pages;
    for (const auto& [ref, why] : page.rejected) {
      ctx.item_failed(key + " " + ref, "unreadable item skipped: " + why);
    }
    // Items not newer than the last completed pass are already stored: the pass ends there.
    std::vector<Item> fresh;
    std::uint64_t page_newest = 0;
    for (const Item& it : page.items) {
      page_newest = std::max(page_newest, it.number);
      if (it.number > known) {
        fresh.push_back(it);
      }
    }
    result.fetched += page.items.size();
    StreamCursor next = cursor;
    if (!cursor.after) {  // the first page of a pass: its newest item ends the next pass
      for (const Item& it : page.items) {
        if (it.number == page_newest) {
          next.pass_newest = it.fullname;
        }
      }
    }
    const bool reached_known = fresh.size() < page.items.size();
    const bool empty = page.items.empty() && page.rejected.empty();
    const bool looping = page.after && cursor.after && *page.after == *cursor.after;
    result.complete = reached_known || !page.after || empty || looping;
    if (result.complete) {
      if (number_of(next.pass_newest) > known) {
        next.newest = next.pass_newest;
      }
      next.pass_newest.reset();
      next.after.reset();
    } else {
      next.after = page.after;
    }
    if (!fresh.empty() || !(next == cursor)) {
      result.written += reddit::commit_page(ctx.db(), ctx.name(), key, fresh, next);
      ctx.item_ok(static_cast<std::int64_t>(fresh.size()));
    }
    cursor = std::move(next);
    if (result.complete) {
      break;
    }
  }
  return result;
}

}  // namespace socialai
