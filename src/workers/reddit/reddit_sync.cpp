// RedditSync: settings, validation and the newest-first stream passes (see reddit_sync.h).
#include "workers/reddit/reddit_sync.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
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
constexpr std::size_t kMaxIdsPerCall = 100;  // /api/info and /api/morechildren
// Tree requests: as many comments and levels as Reddit gives in one answer, oldest first.
constexpr const char* kTreeQuery = "?limit=500&depth=10&sort=old&showmore=1&raw_json=1";

std::string id36(const std::string& fullname) {
  return fullname.size() > 3 && fullname[2] == '_' ? fullname.substr(3) : fullname;
}

std::string join(const std::vector<std::string>& v, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < v.size(); ++i) {
    out += (out.empty() ? "" : ",") + v[i];
  }
  return out;
}

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
  trees_ = setting_bool(ctx, "trees", true);
  refresh_max_age_hours_ = static_cast<int>(
      std::clamp<std::int64_t>(ctx.setting_int("refresh_max_age_hours", 48), 0, 24 * 365));
  // Half of what the limiter allows in one interval goes to trees, the rest to the streams.
  const double per_cycle = s.requests_per_minute *
                           static_cast<double>(ctx.setting_int("interval_ms", 60000)) / 60000.0 / 2;
  const auto fallback = static_cast<std::int64_t>(per_cycle / static_cast<double>(subreddits_.size()));
  tree_requests_ = static_cast<int>(
      std::clamp<std::int64_t>(ctx.setting_int("tree_requests", std::max<std::int64_t>(2, fallback)), 1, 1000000));

  client_ = std::make_unique<reddit::RedditClient>(std::move(s));
  try {
    client_->authenticate();
  } catch (const reddit::AuthError& e) {
    throw DependencyError(e.what());
  } catch (const reddit::FetchError& e) {
    throw DependencyError(e.what());
  }
  spdlog::info("reddit: {} subreddit(s), comments {}, limit {}, max_pages {}, trees {} "
               "({} requests per subreddit per cycle, refresh under {} h)",
               subreddits_.size(), comments_ ? "on" : "off", limit_, max_pages_,
               trees_ ? "on" : "off", tree_requests_, refresh_max_age_hours_);
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
    if (trees_ && !ctx.stopping()) {
      try {
        sync_threads(ctx, sub);
      } catch (const reddit::UserAgentRefused&) {
        throw;
      } catch (const reddit::FetchError& e) {
        if (ctx.stopping()) {
          return;
        }
        ctx.item_failed("r/" + sub + "/refresh", e.what());
      } catch (const pqxx::sql_error& e) {
        ctx.item_failed("r/" + sub + "/refresh", std::string("database: ") + e.what());
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


void RedditSync::sync_threads(WorkerContext& ctx, const std::string& sub) {
  const int start = client_->requests();
  const auto left = [&] { return tree_requests_ - (client_->requests() - start); };
  // 1. Scores and comment counts of young posts: 100 per request.
  const std::vector<std::string> young = reddit::young_posts(
      ctx.db(), sub, refresh_max_age_hours_, static_cast<int>(kMaxIdsPerCall) * tree_requests_);
  std::size_t refreshed = 0;
  const int refresh_budget = std::max(1, tree_requests_ / 2);  // the rest is for the trees
  for (std::size_t i = 0; i < young.size() && client_->requests() - start < refresh_budget &&
                          !ctx.stopping();
       i += kMaxIdsPerCall) {
    const reddit::Listing page =
        client_->listing("/api/info?id=" + join(young, i, i + kMaxIdsPerCall) + "&raw_json=1", "t3");
    for (const auto& [ref, why] : page.rejected) {
      ctx.item_failed("r/" + sub + "/refresh " + ref, "unreadable item skipped: " + why);
    }
    reddit::Batch b;
    b.upsert = page.items;
    const std::size_t changed = reddit::commit(ctx.db(), ctx.name(), b);
    refreshed += changed;
    ctx.item_ok(static_cast<std::int64_t>(changed));
  }
  // 2. Trees of posts with comments not stored yet, newest first.
  const auto todo = reddit::tree_candidates(
      ctx.db(), ctx.name(), sub, refresh_max_age_hours_, tree_requests_);
  std::size_t walked = 0;
  for (const auto& [post, state] : todo) {
    if (left() <= 0 || ctx.stopping()) {
      break;
    }
    try {
      if (!walk_tree(ctx, sub, post, state, left())) {
        break;  // the budget ran out: the walk goes on next cycle
      }
      ++walked;
    } catch (const reddit::UserAgentRefused&) {
      throw;
    } catch (const reddit::FetchError& e) {
      if (ctx.stopping()) {
        return;
      }
      ctx.item_failed(reddit::tree_key(sub, post), e.what());
    }
  }
  if (refreshed > 0 || walked > 0 || walked < todo.size()) {
    spdlog::info("reddit: r/{} threads: {} young post(s) refreshed ({} changed), {} of {} tree(s) "
                 "walked, {} request(s)",
                 sub, young.size(), refreshed, walked, todo.size(), client_->requests() - start);
  }
}

bool RedditSync::walk_tree(WorkerContext& ctx, const std::string& sub, const std::string& post,
                           const std::optional<std::string>& state, int budget) {
  using json = nlohmann::json;
  const int start = client_->requests();
  const std::string key = reddit::tree_key(sub, post);
  const std::string base = "/r/" + sub + "/comments/" + id36(post);
  std::map<std::string, Item> found;       // fullname → comment
  std::vector<std::string> load;           // ids behind "load more" stubs, not yet asked for
  std::vector<std::string> deeper;         // comments behind "continue this thread"
  std::set<std::string> asked, continued;  // never ask twice (a stub may repeat)
  std::int64_t num_comments = 0;
  const auto absorb = [&](const reddit::Tree& t) {
    for (const auto& [ref, why] : t.rejected) {
      ctx.item_failed(key + " " + ref, "unreadable item skipped: " + why);
    }
    for (const Item& c : t.comments) {
      if (c.link_fullname != post) {
        ctx.item_failed(key + " " + c.fullname, "comment of another post (" +
                                                    c.link_fullname.value_or("") + ") skipped");
        continue;
      }
      found.emplace(c.fullname, c);
    }
    for (const reddit::MoreStub& m : t.more) {
      if (m.continue_thread()) {
        if (m.parent_fullname.rfind("t1_", 0) == 0 && continued.insert(id36(m.parent_fullname)).second) {
          deeper.push_back(id36(m.parent_fullname));
        }
        continue;
      }
      for (const std::string& id : m.children) {
        if (found.count("t1_" + id) == 0 && asked.insert(id).second) {
          load.push_back(id);
        }
      }
    }
  };
  // An unfinished walk resumes at its pending stubs; otherwise it starts at the root.
  const json saved = state ? json::parse(*state, nullptr, false) : json();
  const auto strings = [&](const char* k) {
    std::vector<std::string> out;
    if (saved.is_object() && saved.contains(k) && saved[k].is_array()) {
      for (const json& v : saved[k]) {
        if (v.is_string() && reddit::parse_base36(v.get<std::string>())) {
          out.push_back(v.get<std::string>());
        }
      }
    }
    return out;
  };
  load = strings("load");
  deeper = strings("deeper");
  asked.insert(load.begin(), load.end());
  continued.insert(deeper.begin(), deeper.end());
  if (!load.empty() || !deeper.empty()) {
    num_comments = saved.value("num_comments", json(0)).is_number_integer()
                       ? saved["num_comments"].get<std::int64_t>()
                       : 0;
  } else {
    const reddit::Tree root = client_->tree(base + kTreeQuery);
    num_comments = root.post->reply_count.value_or(0);
    absorb(root);
  }
  while ((!load.empty() || !deeper.empty()) && client_->requests() - start < budget &&
         !ctx.stopping()) {
    if (!load.empty()) {
      const std::size_t n = std::min(load.size(), kMaxIdsPerCall);
      const std::vector<std::string> ids(load.begin(), load.begin() + static_cast<std::ptrdiff_t>(n));
      absorb(client_->more_children("/api/morechildren?api_type=json&raw_json=1&link_id=" + post +
                                    "&children=" + join(ids, 0, ids.size())));
      load.erase(load.begin(), load.begin() + static_cast<std::ptrdiff_t>(n));
    } else {
      const std::string parent = deeper.back();
      absorb(client_->tree(base + "/_/" + parent + kTreeQuery));
      deeper.erase(std::find(deeper.begin(), deeper.end(), parent));
    }
  }
  const bool complete = load.empty() && deeper.empty();
  json next = {{"num_comments", num_comments}};
  if (!complete) {
    next["load"] = load;
    next["deeper"] = deeper;
  }
  reddit::Batch b;
  for (auto& [fullname, c] : found) {
    b.insert_only.push_back(std::move(c));
  }
  b.state.emplace_back(key, next.dump());
  const std::size_t written = reddit::commit(ctx.db(), ctx.name(), b);
  ctx.item_ok(static_cast<std::int64_t>(written));
  if (written > 0 || !complete) {
    spdlog::info("reddit: {}: {} comment(s) fetched, {} new, {} request(s){}", key, found.size(),
                 written, client_->requests() - start,
                 complete ? "" : "; the walk goes on next cycle (" +
                                     std::to_string(load.size()) + " more, " +
                                     std::to_string(deeper.size()) + " deeper)");
  }
  return complete;
}

}  // namespace socialai
