// RedditSync: settings, validation and the newest-first stream passes (see reddit_sync.h).
#include "workers/reddit/reddit_sync.h"

#include <algorithm>

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
  s.user_agent = ctx.setting_or(
      "user_agent", std::string("linux:socialai:") + SOCIALAI_VERSION + " (socialai reddit worker)");
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
