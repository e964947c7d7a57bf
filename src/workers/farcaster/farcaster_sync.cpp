// FarcasterSync: per-fid sync from a Farcaster hub: snapshots of profile, reactions, follows and
// verified wallets, and casts incrementally behind a page-token cursor.
#include "workers/farcaster/farcaster_sync.h"

#include <algorithm>
#include <future>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "workers/farcaster/event_follower.h"

namespace socialai::farcaster {
namespace {

using json = nlohmann::json;

HttpClient::Options http_options(RateLimiter* limiter, std::function<bool()> stopping) {
  HttpClient::Options o;
  o.limiter = limiter;
  o.should_stop = std::move(stopping);
  o.max_retries = 4;
  o.backoff = {std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
  o.max_response_bytes = std::size_t{64} * 1024 * 1024;
  return o;
}

ProfileData profile_from(const std::vector<std::pair<std::string, std::string>>& user_data) {
  ProfileData p;
  json raw = json::object();
  for (const auto& [type, value] : user_data) {
    raw[type] = value;  // the hub keeps one message per type; a later duplicate wins
  }
  for (const auto& [type, value] : raw.items()) {
    const std::string v = value.get<std::string>();
    if (type == "USER_DATA_TYPE_USERNAME") {
      p.username = v;
    } else if (type == "USER_DATA_TYPE_DISPLAY") {
      p.display_name = v;
    } else if (type == "USER_DATA_TYPE_BIO") {
      p.bio = v;
    } else if (type == "USER_DATA_TYPE_PFP") {
      p.avatar_url = v;
    }
  }
  p.raw = raw.dump();
  return p;
}

}  // namespace

HubSync::HubSync(Db& db, std::string worker, HubSettings settings, std::function<bool()> stopping)
    : db_(db),
      worker_(std::move(worker)),
      settings_(std::move(settings)),
      stopping_(std::move(stopping)),
      limiter_(std::make_unique<RateLimiter>(settings_.requests_per_minute)),
      http_(http_options(limiter_.get(), stopping_)),
      cast_http_(http_options(limiter_.get(), stopping_)),
      store_(db),
      dialect_(settings_.dialect) {}

Dialect HubSync::dialect() {
  if (dialect_) {
    return *dialect_;
  }
  HttpHeaders headers;
  if (!settings_.api_key.empty()) {
    headers.emplace_back("x-api-key", settings_.api_key);
  }
  const std::string url = settings_.hub_url + "/v1/info";
  for (int attempt = 1;; ++attempt) {
    const HttpResponse r = http_.get(url, headers);
    if (!r.ok()) {
      throw std::runtime_error(
          "hub " + redact_url(url) + ": " +
          (r.status == 0 ? r.error
                         : "status " + std::to_string(r.status) + " " + error_reason(r.body)));
    }
    try {
      dialect_ = detect_dialect(r.body);
      spdlog::info("hub {} speaks the {} dialect", redact_url(settings_.hub_url),
                   dialect_name(*dialect_));
      return *dialect_;
    } catch (const MalformedResponse& e) {
      spdlog::warn("hub {}: malformed response: {} (attempt {}/{})", redact_url(url), e.what(),
                   attempt, settings_.parse_attempts);
      if (attempt >= settings_.parse_attempts) {
        throw;
      }
    }
  }
}

void HubSync::get(HttpClient& client, const std::string& what, const std::string& path_query,
                  const std::function<void(std::string_view)>& parse) {
  HttpHeaders headers;
  if (!settings_.api_key.empty()) {
    headers.emplace_back("x-api-key", settings_.api_key);
  }
  const std::string url = settings_.hub_url + path_query;
  for (int attempt = 1;; ++attempt) {
    const HttpResponse r = client.get(url, headers);
    if (!r.ok()) {
      // HttpClient already retried 429/5xx/transport failures; this one is final.
      if (r.status == 0 && stopping()) {
        throw StopRequested(what + ": stopped");
      }
      if (r.status == 0) {
        throw std::runtime_error(what + ": " + r.error);
      }
      throw HubStatusError(r.status, what + ": status " + std::to_string(r.status) + " (" +
                                         error_reason(r.body) + ")");
    }
    try {
      parse(r.body);
      return;
    } catch (const MalformedResponse& e) {
      spdlog::warn("{}: malformed response from {}: {} (attempt {}/{})", what, redact_url(url),
                   e.what(), attempt, settings_.parse_attempts);
      if (attempt >= settings_.parse_attempts || (stopping_ && stopping_())) {
        throw std::runtime_error(what + ": malformed response: " + e.what());
      }
    }
  }
}

Page HubSync::fetch(HttpClient& client, const std::string& what, const std::string& path_query) {
  Page p;
  get(client, what, path_query, [&p](std::string_view body) { p = parse_page(body); });
  return p;
}

Page HubSync::fetch_all(const std::string& what, const std::string& path_query) {
  Page all;
  std::string token;
  std::set<std::string> seen_tokens;
  for (;;) {
    std::string pq = path_query + "&pageSize=" + std::to_string(settings_.page_size);
    if (!token.empty()) {
      pq += "&pageToken=" + url_escape(token);
    }
    Page p = fetch(what, pq);
    all.messages += p.messages;
    all.reactions.insert(all.reactions.end(), p.reactions.begin(), p.reactions.end());
    all.links.insert(all.links.end(), p.links.begin(), p.links.end());
    all.wallets.insert(all.wallets.end(), p.wallets.begin(), p.wallets.end());
    all.user_data.insert(all.user_data.end(), p.user_data.begin(), p.user_data.end());
    if (p.next_page_token.empty() || p.messages == 0) {
      return all;
    }
    if (!seen_tokens.insert(p.next_page_token).second) {
      throw std::runtime_error(what + ": hub repeated a page token (paging loop)");
    }
    token = p.next_page_token;
  }
}

void HubSync::sync_snapshot(std::uint64_t fid) {
  const Dialect d = dialect();
  const std::string f = std::to_string(fid);
  const Page user = fetch_all("fid " + f + " userDataByFid", "/v1/userDataByFid?fid=" + f);
  std::vector<ReactionRow> reactions;
  for (int type : {1, 2}) {
    const Page p =
        fetch_all("fid " + f + " reactionsByFid",
                  "/v1/reactionsByFid?fid=" + f + "&reaction_type=" + reaction_type_param(d, type));
    for (const auto& r : p.reactions) {
      if ((r.kind == "like") == (type == 1)) {  // Hubble ignores a type it cannot read
        reactions.push_back(r);
      }
    }
  }
  const Page links =
      fetch_all("fid " + f + " linksByFid", "/v1/linksByFid?fid=" + f + "&link_type=follow");
  const Page verifications =
      fetch_all("fid " + f + " verificationsByFid", "/v1/verificationsByFid?fid=" + f);
  db_.with_transaction([&](pqxx::work& tx) {
    store_.upsert_profile(tx, fid, profile_from(user.user_data));
    store_.replace_reactions(tx, fid, reactions);
    store_.replace_follows(tx, fid, links.links);
    store_.replace_wallets(tx, fid, verifications.wallets);
  });
}

void HubSync::sync_casts(std::uint64_t fid, FidResult& result) {
  const std::string f = std::to_string(fid);
  const std::string key = "casts:" + f;
  // The cursor is the token that fetched the last page read: the next cycle re-reads that page
  // (idempotently) and goes on from there, since a hub gives no token after its last page.
  std::string cursor =
      db_.with_transaction([&](pqxx::work& tx) { return store_.cursor(tx, worker_, key); })
          .value_or("");
  // The next page is fetched and parsed on another thread while this one writes the current
  // page, so HTTP, JSON and PostgreSQL overlap. Only one request is in flight at a time.
  auto request = [this, f](const std::string& token) {
    std::string pq = "/v1/castsByFid?fid=" + f + "&pageSize=" + std::to_string(settings_.page_size);
    if (!token.empty()) {
      pq += "&pageToken=" + url_escape(token);
    }
    return std::async(std::launch::async,
                      [this, f, pq] { return fetch(cast_http_, "fid " + f + " castsByFid", pq); });
  };
  std::string token = cursor;
  std::future<Page> pending = request(token);
  for (bool first = true;; first = false) {
    Page p;
    try {
      p = pending.get();
    } catch (const HubStatusError& e) {
      // A token from another hub (or an older hub version) is refused with a 4xx: start over
      // from the first page; the upserts make the re-read harmless.
      if (!first || token.empty() || e.status < 400 || e.status >= 500) {
        throw;
      }
      spdlog::warn("fid {}: the hub refused the stored casts cursor ({}); reading from the start",
                   f, e.what());
      token.clear();
      p = request(token).get();
    }
    const bool last = p.next_page_token.empty() || p.messages == 0;
    const std::string next_cursor = last ? token : p.next_page_token;
    if (!last && p.next_page_token == token) {
      throw std::runtime_error("fid " + f + " castsByFid: hub repeated a page token");
    }
    const bool more = !last && !(stopping_ && stopping_());
    if (more) {
      pending = request(p.next_page_token);
    }
    db_.with_transaction([&](pqxx::work& tx) {
      result.casts_written += store_.upsert_casts(tx, p.casts);
      result.casts_removed += store_.delete_casts(tx, p.removed_casts);
      if (next_cursor != cursor) {
        store_.set_cursor(tx, worker_, key, next_cursor);
      }
    });
    cursor = next_cursor;
    result.casts += static_cast<std::int64_t>(p.casts.size());
    ++result.pages;
    if (!more) {
      return;
    }
    token = p.next_page_token;
  }
}

FidResult HubSync::sync_fid(std::uint64_t fid) {
  FidResult result;
  sync_snapshot(fid);
  sync_casts(fid, result);
  return result;
}

std::vector<std::uint64_t> HubSync::fids_to_sync(std::int64_t limit) {
  std::vector<std::uint64_t> out;
  std::set<std::uint64_t> seen;
  for (std::uint64_t f : settings_.fids) {
    if (f > 0 && seen.insert(f).second) {
      out.push_back(f);
    }
  }
  const auto known =
      db_.with_transaction([&](pqxx::work& tx) { return store_.known_fids(tx, limit); });
  for (std::uint64_t f : known) {
    if (seen.insert(f).second) {
      out.push_back(f);
    }
  }
  if (out.size() > static_cast<std::size_t>(limit)) {
    out.resize(static_cast<std::size_t>(limit));
  }
  return out;
}

FarcasterSync::FarcasterSync() = default;
FarcasterSync::~FarcasterSync() = default;

void FarcasterSync::validate(WorkerContext& ctx) {
  HubSettings s;
  try {
    s = read_settings(ctx);
  } catch (const std::invalid_argument& e) {
    throw DependencyError(std::string("farcaster settings: ") + e.what());
  }
  follower_.reset();
  hub_ = std::make_unique<HubSync>(ctx.db(), ctx.name(), s, [&ctx] { return ctx.stopping(); });
  try {
    hub_->dialect();
    if (s.mode != SyncMode::kPoll) {
      auto follower = std::make_unique<EventFollower>(*hub_);
      if (follower->supported()) {
        follower_ = std::move(follower);
      } else if (s.mode == SyncMode::kEvents) {
        throw std::runtime_error("mode events: the hub does not serve /v1/events");
      } else {
        spdlog::info("the hub does not serve /v1/events; polling every fid");
      }
    }
  } catch (const std::exception& e) {
    hub_.reset();
    follower_.reset();
    throw DependencyError(e.what());
  }
}

void FarcasterSync::run_cycle(WorkerContext& ctx) {
  if (!hub_) {
    validate(ctx);
  }
  if (follower_) {
    std::vector<int> held;
    constexpr std::string_view kShard = "shard:";
    for (const std::string& p : ctx.held_partitions()) {
      if (p.rfind(kShard, 0) == 0) {
        held.push_back(std::stoi(p.substr(kShard.size())));
      }
    }
    follower_->use_shards(held);
    follower_->run_cycle(ctx);
  } else {
    poll_cycle(ctx);
  }
}

std::vector<std::string> FarcasterSync::partitions(WorkerContext& ctx) {
  if (!hub_) {
    validate(ctx);
  }
  std::vector<std::string> out;
  if (follower_ && hub_->dialect() == Dialect::kSnapchain) {
    for (int shard : follower_->hub_shards()) {
      out.push_back("shard:" + std::to_string(shard));
    }
  }
  return out;
}

void FarcasterSync::poll_cycle(WorkerContext& ctx) {
  const auto fids = hub_->fids_to_sync();
  if (fids.empty()) {
    spdlog::info("no fids to sync: set farcaster_fids (e.g. [3, 5650])");
    return;
  }
  std::int64_t casts = 0, written = 0, removed = 0;
  for (std::uint64_t fid : fids) {
    if (ctx.stopping()) {
      break;
    }
    try {
      const FidResult r = hub_->sync_fid(fid);
      casts += r.casts;
      written += r.casts_written;
      removed += r.casts_removed;
      ctx.item_ok();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const StopRequested&) {
      throw;
    } catch (const std::exception& e) {
      ctx.item_failed("fid:" + std::to_string(fid), e.what());
    }
  }
  spdlog::info("synced {} fids: {} casts read, {} written, {} removed", fids.size(), casts, written,
               removed);
}

}  // namespace socialai::farcaster
