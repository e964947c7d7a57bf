// EventFollower: the farcaster worker's events mode (docs/farcaster.md). It follows the hub's
// event stream (GET /v1/events, per shard on Snapchain) behind a cursor per shard in
// sync_state, applies the events of the tracked fids in batches (one transaction per page, with
// the cursor that covers it), and uses HubSync's per-fid reconcile to backfill fids it has never
// synced and to repair a few known ones per cycle. Not thread-safe: the worker's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/worker_runtime.h"
#include "workers/farcaster/event_batch.h"
#include "workers/farcaster/farcaster_sync.h"
#include "workers/farcaster/hub_events.h"

namespace socialai::farcaster {

struct PollStats {
  std::int64_t requests = 0;  // GET /v1/events made
  std::int64_t events = 0;    // events read
  std::int64_t applied = 0;   // events of tracked fids applied
  std::int64_t rows = 0;      // row changes sent to the database (after coalescing)
  bool caught_up = true;      // every shard read to its end (not cut by the deadline)
};

class EventFollower {
 public:
  // `hub` must outlive the follower; its settings and database are used.
  explicit EventFollower(HubSync& hub);

  // Whether the hub serves GET /v1/events (a 404 says no). Throws on other failures.
  bool supported();
  // One events-mode cycle: start (first time), rewind, backfill, repair, then follow the
  // stream until settings.tail_cycle has passed (under --once: until caught up), pausing
  // settings.poll_interval between reads once caught up.
  void run_cycle(WorkerContext& ctx);

  // The steps, for tests and the benchmark.
  // The hub's shards: Snapchain's user shards from /v1/info, {0} on Hubble. Throws on failure.
  std::vector<int> hub_shards() const;
  // Restricts the follower to `held` (the shard leases this instance holds; empty: every
  // shard). A change restarts it: cursors and backfill marks are read again from the database,
  // where the previous holder committed them, and the tracked fids are re-read.
  void use_shards(const std::vector<int>& held);
  // Loads the cursors of the shards in use; a shard without one (or with another hub's) starts
  // at the hub's head, committed at once, so that backfills taken afterwards are covered by it.
  void start();
  // Moves every read position back to settings.rewind before the hub's head when the previous
  // rewind ran (or before the cursor, if lower): events already applied in that window are
  // skipped, late ones (ids below those already read) are applied. Late events lie at most
  // settings.rewind behind the head when they arrive, so one arriving at any time since the
  // previous rewind is in the window. On Snapchain it reads the shards' heights (/v1/info) for
  // the next one; throws if that fails.
  void rewind();
  // Reads every shard until caught up, `deadline` or SIGTERM, applying the tracked fids' events.
  PollStats poll(std::chrono::steady_clock::time_point deadline =
                     std::chrono::steady_clock::time_point::max());
  // Re-reads the tracked fids: configured and known ones, or every fid of the network.
  void refresh_fids();
  // Tracked fids never backfilled, lowest first.
  std::vector<std::uint64_t> pending_backfill() const;
  // Per-fid reconcile of `fid` (HubSync::sync_fid), then marks it backfilled.
  void backfill(std::uint64_t fid);
  const std::vector<int>& shards() const { return shards_; }

 private:
  // Snapchain's /v1/info: each shard's index and height.
  std::vector<ShardHead> shard_heads() const;
  struct Cursor {
    std::uint64_t stored = 0;  // committed: where reading resumes after a restart
    std::uint64_t pos = 0;     // where the next read starts
    // A lower bound of the hub's head when the last rewind ran (at floor_at_ms, system clock
    // ms since the Unix epoch; 0: not known): the next rewind reads from min(floor, stored)
    // minus the rewind span. Committed with the cursor, so a restart keeps it.
    std::uint64_t floor = 0;
    std::int64_t floor_at_ms = 0;
    // The floor of the rewind under way: it replaces `floor` once its window has been read
    // through (the first commit), so a cycle that fails inside the window rewinds as far again.
    std::uint64_t next_floor = 0;
    std::int64_t next_floor_at_ms = 0;  // 0: none pending
    std::set<std::uint64_t> seen;       // ids applied (committed) from the next rewind's start on
    std::set<std::uint64_t> fresh;      // ids read since the last commit: not applied yet
  };

  // Reads the cursors of the shards in use from the database: a shard
  // whose committed cursor is the one in memory keeps what was read since; any other starts
  // from the database's (or the hub's head, committed, if it has none).
  void load_cursors();
  void load_backfill_marks();
  std::string events_query(int shard, std::uint64_t from, int size) const;
  std::uint64_t head(int shard, std::uint64_t max_height) const;
  std::uint64_t rewind_span() const;
  // Hubble: `floor` raised to what the cursor (`stored`) proves of the head at floor_at_ms. Ids are
  // the hub's clock, so the head then was at most the time since behind the cursor's now; after a
  // backlog that bounds what the next rewind re-reads. Snapchain: nothing (its floor is the
  // height the hub reported).
  std::uint64_t raised_floor(std::uint64_t floor, std::int64_t floor_at_ms, std::uint64_t stored,
                             std::int64_t now_ms) const;
  // The sync_state cursor row's JSON: hub, next, and the rewind's floor.
  std::string cursor_json(std::uint64_t next, std::uint64_t floor, std::int64_t floor_at_ms) const;
  // Starts reading the page of `shard` from `from` on another thread (HubSync::get_ahead), so
  // that it arrives while the previous page is written.
  std::future<EventPage> read_ahead(int shard, std::uint64_t from);
  // Adds a page read from c.pos to `batch`; true if the shard is caught up.
  bool take_page(EventPage page, Cursor& c, EventBatch& batch, PollStats& stats);
  // Writes `batch` and the cursor at c.pos in one transaction (nothing if nothing changed).
  void commit(int shard, Cursor& c, EventBatch& batch, PollStats& stats);
  bool tracked(std::uint64_t fid) const;
  // Whether this instance backfills and repairs `fid`: with a subset of the shards in use, only
  // the fids of those shards (Snapchain: fid % shards + 1; the whole-network list comes per
  // shard already).
  bool owns(std::uint64_t fid) const;
  void repair(WorkerContext& ctx);

  HubSync& hub_;
  const HubSettings& settings_;
  bool started_ = false;
  std::vector<int> shards_;               // in use: {0} for Hubble
  std::vector<int> wanted_;               // held shard leases (empty: all)
  std::map<int, std::uint64_t> heights_;  // the hub's shards and heights at start()
  std::size_t hub_shard_count_ = 1;
  std::map<int, Cursor> cursors_;
  std::unordered_set<std::uint64_t> tracked_;
  std::vector<std::uint64_t> tracked_order_;
  std::unordered_set<std::uint64_t> backfilled_;
  std::size_t repair_next_ = 0;
  std::int64_t cycles_ = 0;
};

}  // namespace socialai::farcaster
