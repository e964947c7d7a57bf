// EventFeed: the Farcaster devnet's network activity. It changes the data set over time (at a
// configured rate, or on request from tests) and records each change in the hub event stream,
// and serves GET /v1/events and GET /v1/fids in the hub's dialect. Called under the server's
// lock only (like every service).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "devnet/devnet.h"
#include "devnet/farcaster_data.h"
#include "devnet/farcaster_events.h"

namespace socialai::devnet::fc {

struct FeedOptions {
  double rate = 0;           // events per second generated over time (0: only on request)
  double late_share = 0.01;  // share of rate-generated events given an id from the past
  std::int64_t late_ms = 2000;
  int shards = 2;                  // Snapchain shards 1..shards
  std::uint64_t actors = 0;        // rate-generated events are by fids 1..actors (0: every fid)
  std::size_t retention = 500000;  // events kept per stream
};

class EventFeed {
 public:
  using Clock = EventLog::Clock;

  EventFeed(DataSet& data, Dialect dialect, FeedOptions options, std::uint64_t seed);

  // The dialect changed: a different hub, so a new (empty) event stream.
  void reset(Dialect dialect) { log_.reset(dialect); }
  // Generates the events due by `now` at the configured rate (each at its scheduled time).
  void tick(Clock::time_point now);
  // Applies one change of `kind` by `fid` and records its event (after those of the fid's
  // profile when the fid acts for the first time). An impossible change (nothing left to
  // remove) becomes a new cast, so every call records at least one event. Returns the id.
  std::uint64_t apply(ChangeKind kind, std::uint64_t fid, Clock::time_point when,
                      std::int64_t late_ms = 0);

  Response events(const Request& req) const;  // GET /v1/events
  Response fids(const Request& req) const;    // GET /v1/fids
  // /_devnet/farcaster/events[/rate|/times]; see docs/devnet.md.
  Response control(const Request& req);
  // Snapchain /v1/info shardInfos.
  nlohmann::json shard_infos(std::size_t messages) const;

 private:
  ChangeKind pick_kind();
  std::uint64_t next();

  DataSet& data_;
  FeedOptions options_;
  EventLog log_;
  std::uint64_t state_;
  Clock::time_point rate_start_;
  std::uint64_t rate_generated_ = 0;
  // Cast adds recorded, with the Unix ms they were appended at (freshness benchmark).
  std::deque<std::pair<std::string, std::int64_t>> cast_times_;
  std::uint64_t cast_times_dropped_ = 0;
};

}  // namespace socialai::devnet::fc
