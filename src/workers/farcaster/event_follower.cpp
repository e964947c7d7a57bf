// EventFollower: the farcaster worker's events mode (see event_follower.h).
#include "workers/farcaster/event_follower.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "workers/farcaster/event_batch.h"

namespace socialai::farcaster {
namespace {

using json = nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr const char* kBackfillPrefix = "backfill:";
// Tracked fids are re-read every this many cycles (every ~minute at tail_ms 10 s), the whole
// network's list (fids "all") every this many times that.
constexpr std::int64_t kRefreshEvery = 6;
constexpr std::int64_t kNetworkRefreshEvery = 60;

std::string cursor_key(int shard) { return "events:" + std::to_string(shard); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EventFollower::EventFollower(HubSync& hub) : hub_(hub), settings_(hub.settings()) {}

bool EventFollower::supported() {
  const std::string pq = hub_.dialect() == Dialect::kSnapchain
                             ? "/v1/events?shard_index=1&from_event_id=0&pageSize=1"
                             : "/v1/events?from_event_id=0&pageSize=1";
  try {
    hub_.get("hub events", pq, [](std::string_view body) { parse_events(body); });
    return true;
  } catch (const HubStatusError& e) {
    if (e.status == 404) {
      return false;
    }
    throw;
  }
}

std::uint64_t EventFollower::head(int shard, std::uint64_t max_height) const {
  if (shard == 0) {  // Hubble: ids are timestamps, so "now" is the head
    const std::int64_t ms = wall_ms() - kFarcasterEpoch * 1000;
    return static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0)) << kHubbleEventSeqBits;
  }
  return max_height << kSnapchainEventSeqBits;
}

std::uint64_t EventFollower::rewind_span() const {
  const auto ms = static_cast<std::uint64_t>(settings_.rewind.count());
  if (shards_ == std::vector<int>{0}) {
    return ms << kHubbleEventSeqBits;
  }
  // Snapchain ids count blocks; assuming blocks no further apart than 250 ms covers at least
  // `rewind` (re-reading more is harmless).
  return ((ms + 249) / 250) << kSnapchainEventSeqBits;
}

std::uint64_t EventFollower::raised_floor(std::uint64_t floor, std::int64_t floor_at_ms,
                                          std::uint64_t stored, std::int64_t now_ms) const {
  if (hub_.dialect() == Dialect::kSnapchain || floor_at_ms <= 0 || now_ms < floor_at_ms ||
      stored == 0) {
    return floor;  // a clock that went back proves nothing
  }
  // The last id read (stored - 1) was at most the head now; the head moves with the hub's
  // clock, so at floor_at_ms it was at most that long (plus the millisecond under way) behind.
  const auto back = static_cast<std::uint64_t>(now_ms - floor_at_ms + 1) << kHubbleEventSeqBits;
  return std::max(floor, stored - 1 - std::min(stored - 1, back));
}

std::string EventFollower::cursor_json(std::uint64_t next, std::uint64_t floor,
                                       std::int64_t floor_at_ms) const {
  json j = {{"hub", redact_url(settings_.hub_url)}, {"next", next}, {"rewound", floor}};
  if (floor_at_ms > 0) {
    j["rewound_at_ms"] = floor_at_ms;
  }
  return j.dump();
}

std::string EventFollower::events_query(int shard, std::uint64_t from, int size) const {
  std::string pq = "/v1/events?";
  if (shard > 0) {
    pq += "shard_index=" + std::to_string(shard) + "&";
  }
  return pq + "from_event_id=" + std::to_string(from) + "&pageSize=" + std::to_string(size);
}

std::vector<int> EventFollower::hub_shards() const {
  if (hub_.dialect() != Dialect::kSnapchain) {
    return {0};
  }
  std::vector<int> out;
  for (const ShardHead& h : shard_heads()) {
    out.push_back(h.shard);
  }
  return out;
}

std::vector<ShardHead> EventFollower::shard_heads() const {
  std::vector<ShardHead> heads;
  hub_.get("hub info", "/v1/info", [&](std::string_view body) { heads = parse_shards(body); });
  return heads;
}

void EventFollower::use_shards(const std::vector<int>& held) {
  if (held == wanted_) {
    return;
  }
  wanted_ = held;
  started_ = false;  // the next cycle reads the hub's shards and the cursors again
  cycles_ = 0;       // and the tracked fids
  repair_next_ = 0;
}

bool EventFollower::owns(std::uint64_t fid) const {
  if (settings_.all_fids || shards_.size() >= hub_shard_count_ || shards_ == std::vector<int>{0}) {
    return true;
  }
  const int shard = static_cast<int>(fid % hub_shard_count_) + 1;
  return std::find(shards_.begin(), shards_.end(), shard) != shards_.end();
}

void EventFollower::start() {
  heights_.clear();
  shards_.clear();
  if (hub_.dialect() == Dialect::kSnapchain) {
    for (const ShardHead& h : shard_heads()) {
      heights_[h.shard] = h.max_height;
    }
    for (const auto& [shard, height] : heights_) {
      if (wanted_.empty() || std::find(wanted_.begin(), wanted_.end(), shard) != wanted_.end()) {
        shards_.push_back(shard);
      }
    }
    hub_shard_count_ = std::max<std::size_t>(1, heights_.size());
  } else {
    shards_ = {0};
    hub_shard_count_ = 1;
  }
  load_cursors();
  load_backfill_marks();
  started_ = true;
}

void EventFollower::load_cursors() {
  const std::string hub_id = redact_url(settings_.hub_url);
  Db& db = hub_.db();
  FarcasterStore& store = hub_.store();
  std::map<int, Cursor> kept;
  db.with_transaction([&](pqxx::work& tx) {
    for (int shard : shards_) {
      const auto stored = store.cursor(tx, hub_.worker(), cursor_key(shard));
      const json j = stored ? json::parse(*stored, nullptr, false) : json();
      std::uint64_t next = 0;
      Cursor from_db;
      if (j.is_object() && j.value("hub", "") == hub_id && j.contains("next") &&
          j["next"].is_number_unsigned()) {
        next = j["next"].get<std::uint64_t>();
        // Cursors committed before 2026-12-05 have no floor: their rewind starts at `next`.
        const json floor = j.value("rewound", json(next));
        from_db.floor =
            floor.is_number_unsigned() ? std::min(floor.get<std::uint64_t>(), next) : next;
        const json at = j.value("rewound_at_ms", json(0));
        from_db.floor_at_ms = at.is_number_integer() ? at.get<std::int64_t>() : 0;
      } else {
        // New here (or the cursor is another hub's): start at the head. History comes from
        // the per-fid backfill, which runs after this commits.
        next = head(shard, heights_[shard]);
        from_db.floor = next;
        store.set_cursor(tx, hub_.worker(), cursor_key(shard), cursor_json(next, next, 0));
        spdlog::info("events: shard {} starts at the hub's head (event id {})", shard, next);
      }
      const auto it = cursors_.find(shard);
      if (it != cursors_.end() && it->second.stored == next) {
        kept[shard] = std::move(it->second);  // ours all along: keep what was read
      } else {
        // New to this instance, or moved on by another one meanwhile: from the database.
        Cursor& c = kept[shard];
        c = std::move(from_db);
        c.stored = next;
        c.pos = next;
      }
    }
  });
  cursors_ = std::move(kept);
}

void EventFollower::load_backfill_marks() {
  hub_.db().with_transaction([&](pqxx::work& tx) {
    backfilled_.clear();
    for (const auto& key : hub_.store().cursor_keys(tx, hub_.worker(), kBackfillPrefix)) {
      backfilled_.insert(std::stoull(key.substr(std::string(kBackfillPrefix).size())));
    }
  });
}

void EventFollower::rewind() {
  const std::uint64_t span = rewind_span();
  std::map<int, std::uint64_t> heads;  // Snapchain: each shard's head now, as the hub says
  if (hub_.dialect() == Dialect::kSnapchain) {
    for (const ShardHead& h : shard_heads()) {
      heads[h.shard] = head(h.shard, h.max_height);
    }
  }
  const std::int64_t now = wall_ms();
  for (auto& [shard, c] : cursors_) {
    // A late event that arrived since the previous rewind lies at most the span behind the
    // head then (the floor), wherever the cursor has moved meanwhile.
    c.floor = raised_floor(c.floor, c.floor_at_ms, c.stored, now);
    const std::uint64_t from = std::min(c.floor, c.stored);
    c.pos = from - std::min(from, span);
    c.seen.erase(c.seen.begin(), c.seen.lower_bound(c.pos));
    const auto h = heads.find(shard);
    c.next_floor = std::max(c.stored, h == heads.end() ? 0 : h->second);
    c.next_floor_at_ms = now;
  }
}

bool EventFollower::tracked(std::uint64_t fid) const {
  return fid != 0 && (settings_.all_fids || tracked_.count(fid) > 0);
}

std::future<EventPage> EventFollower::read_ahead(int shard, std::uint64_t from) {
  return std::async(std::launch::async, [this, shard, from] {
    EventPage page;
    hub_.get_ahead("events shard " + std::to_string(shard),
                   events_query(shard, from, settings_.event_page_size),
                   [&page](std::string_view body) { page = parse_events(body); });
    return page;
  });
}

bool EventFollower::take_page(EventPage page, Cursor& c, EventBatch& batch, PollStats& stats) {
  const int size = settings_.event_page_size;
  ++stats.requests;
  stats.events += static_cast<std::int64_t>(page.events.size());
  std::uint64_t next = c.pos;
  for (const HubEvent& e : page.events) {
    next = std::max(next, e.id + 1);
    if (c.seen.count(e.id) > 0 || !c.fresh.insert(e.id).second) {
      continue;  // read before the rewind: applied already
    }
    if (tracked(e.fid)) {
      batch.add(e);
      ++stats.applied;
    }
  }
  if (!page.events.empty()) {  // a hub may skip ahead; never back
    next = std::max(next, page.next_page_event_id);
  }
  c.pos = next;
  return page.events.size() < static_cast<std::size_t>(size);
}

void EventFollower::commit(int shard, Cursor& c, EventBatch& batch, PollStats& stats) {
  const BatchRows rows = batch.rows();
  const std::uint64_t stored = std::max(c.stored, c.pos);
  // The rewind's window is read through: once this commits, its floor serves the next rewind.
  const bool pending = c.next_floor_at_ms > 0;
  const std::int64_t floor_at = pending ? c.next_floor_at_ms : c.floor_at_ms;
  const std::uint64_t floor =
      raised_floor(pending ? c.next_floor : c.floor, floor_at, stored, wall_ms());
  if (rows.size() > 0 || stored != c.stored) {
    FarcasterStore& store = hub_.store();
    hub_.db().with_transaction([&](pqxx::work& tx) {
      store.upsert_casts(tx, rows.casts);
      store.delete_casts(tx, rows.removed_casts);
      store.upsert_reactions(tx, rows.reactions);
      store.delete_reactions(tx, rows.removed_reactions);
      store.upsert_follows(tx, rows.links);
      store.delete_follows(tx, rows.removed_links);
      store.upsert_wallets(tx, rows.wallets, true);
      store.upsert_wallets(tx, rows.unlinked_wallets, false);
      store.merge_user_data(tx, rows.user_data);
      if (stored != c.stored) {
        store.set_cursor(tx, hub_.worker(), cursor_key(shard),
                         cursor_json(stored, floor, floor_at));
      }
    });
  }
  stats.rows += static_cast<std::int64_t>(rows.size());
  c.stored = stored;
  c.floor = floor;
  c.floor_at_ms = floor_at;
  c.next_floor_at_ms = 0;
  c.seen.insert(c.fresh.begin(), c.fresh.end());
  c.fresh.clear();
  const std::uint64_t keep_from = std::min(c.floor, c.stored);  // the next rewind's start
  c.seen.erase(c.seen.begin(), c.seen.lower_bound(keep_from - std::min(keep_from, rewind_span())));
  batch.clear();
}

PollStats EventFollower::poll(Steady::time_point deadline) {
  if (!started_) {
    start();
  }
  PollStats stats;
  for (int shard : shards_) {
    Cursor& c = cursors_[shard];
    // A page is committed with its cursor, except while re-reading the rewind window: that is
    // gathered into one batch up to the cursor, so a re-read never shows a row going back to
    // an older state (an add before its remove) between two transactions. So a stop within the
    // window drops what was gathered (the cursor has not moved: it is read again next time),
    // and the deadline only counts once the window is behind.
    EventBatch batch;
    // A failure (the hub, the database) drops what was read since the last commit: those ids
    // must be read and applied again, not skipped as seen (they were lost before 2026-12-04,
    // found by scripts/chaos.sh stopping PostgreSQL mid-stream).
    struct Rollback {
      Cursor& c;
      bool armed = true;
      void undo() {
        c.fresh.clear();
        c.pos = c.stored;
      }
      ~Rollback() {
        if (armed) {
          undo();
        }
      }
    } rollback{c};
    // The next page is read (HTTP and JSON) on another thread while this one writes the last.
    std::future<EventPage> next = read_ahead(shard, c.pos);
    for (;;) {
      const bool caught_up = take_page(next.get(), c, batch, stats);
      const bool in_window = c.pos < c.stored && !caught_up;
      if (in_window && hub_.stopping()) {
        rollback.undo();  // none of what was gathered was applied
        stats.caught_up = false;
        break;
      }
      const bool late = hub_.stopping() || (!in_window && Steady::now() >= deadline);
      if (!caught_up && !late) {
        next = read_ahead(shard, c.pos);
      }
      if (!in_window) {
        commit(shard, c, batch, stats);
      }
      if (caught_up) {
        break;
      }
      if (late) {
        stats.caught_up = false;
        break;
      }
    }
    rollback.armed = false;
  }
  return stats;
}

void EventFollower::refresh_fids() {
  std::vector<std::uint64_t> fids;
  if (settings_.all_fids) {
    for (int shard : shards_) {
      std::string token;
      for (;;) {
        std::string pq = "/v1/fids?pageSize=10000";
        if (shard > 0) {
          pq += "&shard_id=" + std::to_string(shard);
        }
        if (!token.empty()) {
          pq += "&pageToken=" + url_escape(token);
        }
        FidPage page;
        hub_.get("fids shard " + std::to_string(shard), pq,
                 [&page](std::string_view body) { page = parse_fids(body); });
        fids.insert(fids.end(), page.fids.begin(), page.fids.end());
        if (page.next_page_token.empty() || page.fids.empty() || page.next_page_token == token) {
          break;
        }
        token = page.next_page_token;
      }
    }
    std::sort(fids.begin(), fids.end());
    fids.erase(std::unique(fids.begin(), fids.end()), fids.end());
  } else {
    fids = hub_.fids_to_sync(std::numeric_limits<std::int64_t>::max());  // max_fids is poll's
  }
  tracked_order_ = std::move(fids);
  tracked_ = std::unordered_set<std::uint64_t>(tracked_order_.begin(), tracked_order_.end());
}

std::vector<std::uint64_t> EventFollower::pending_backfill() const {
  std::vector<std::uint64_t> out;
  for (std::uint64_t f : tracked_order_) {
    if (backfilled_.count(f) == 0 && owns(f)) {
      out.push_back(f);
    }
  }
  return out;
}

void EventFollower::backfill(std::uint64_t fid) {
  hub_.sync_fid(fid);
  hub_.db().with_transaction([&](pqxx::work& tx) {
    hub_.store().set_cursor(tx, hub_.worker(), kBackfillPrefix + std::to_string(fid), "1");
  });
  backfilled_.insert(fid);
}

void EventFollower::repair(WorkerContext& ctx) {
  for (std::int64_t i = 0; i < settings_.repair_fids && !tracked_order_.empty(); ++i) {
    const std::uint64_t fid = tracked_order_[repair_next_++ % tracked_order_.size()];
    if (backfilled_.count(fid) == 0 || !owns(fid) || ctx.stopping()) {
      continue;
    }
    try {
      hub_.sync_fid(fid);
      ctx.item_ok();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const StopRequested&) {
      throw;
    } catch (const std::exception& e) {
      ctx.item_failed("fid:" + std::to_string(fid), std::string("repair: ") + e.what());
    }
  }
}

void EventFollower::run_cycle(WorkerContext& ctx) {
  const auto deadline =
      ctx.once() ? Steady::time_point::max() : Steady::now() + settings_.tail_cycle;
  if (!started_) {
    start();
  } else if (!wanted_.empty()) {
    load_cursors();  // with shard leases, another instance may have held a shard meanwhile
  }
  rewind();
  const std::int64_t every =
      settings_.all_fids ? kRefreshEvery * kNetworkRefreshEvery : kRefreshEvery;
  if (cycles_++ % every == 0) {
    refresh_fids();
  }
  const auto pending = pending_backfill();
  const std::size_t limit =
      ctx.once() ? pending.size()
                 : std::min(pending.size(), static_cast<std::size_t>(settings_.backfill_fids));
  for (std::size_t i = 0; i < limit && !ctx.stopping(); ++i) {
    try {
      backfill(pending[i]);
      ctx.item_ok();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const StopRequested&) {
      throw;
    } catch (const std::exception& e) {
      ctx.item_failed("fid:" + std::to_string(pending[i]), std::string("backfill: ") + e.what());
    }
  }
  repair(ctx);
  PollStats total;
  while (!ctx.stopping()) {
    const PollStats s = poll(deadline);
    total.requests += s.requests;
    total.events += s.events;
    total.applied += s.applied;
    total.rows += s.rows;
    if (s.applied > 0) {
      ctx.item_ok(s.applied);
    }
    if ((ctx.once() && s.caught_up) || Steady::now() >= deadline) {
      break;
    }
    // Caught up: wait for new events. Otherwise only a look at the runtime (settings, signals,
    // partitions to take over) between reads.
    if (!ctx.pause(s.caught_up ? settings_.poll_interval : std::chrono::milliseconds(0))) {
      break;
    }
  }
  spdlog::debug("events: {} requests, {} events read, {} applied, {} row changes", total.requests,
                total.events, total.applied, total.rows);
}

}  // namespace socialai::farcaster
