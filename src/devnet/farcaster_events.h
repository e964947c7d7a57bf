// EventLog: the Farcaster devnet's hub event stream (GET /v1/events) in either dialect's id
// scheme, fed by DataSet changes: MERGE_MESSAGE (with deletedMessages), PRUNE_MESSAGE and
// REVOKE_MESSAGE, plus Snapchain's BLOCK_CONFIRMED. Late events get an id below ones already
// served. Not thread-safe (the devnet server calls services under one lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "devnet/farcaster_data.h"
#include "devnet/farcaster_messages.h"

namespace socialai::devnet::fc {

// Hubble: id = (ms since the Farcaster epoch << 12) | sequence within that ms
// (hubble's rust eventId generator: TIMESTAMP_BITS 41, SEQUENCE_BITS 12).
constexpr int kHubbleSeqBits = 12;
// Snapchain: id = (block height << 14) | index of the event within its block
// (snapchain's HubEventIdGenerator: HEIGHT_BITS 50, SEQUENCE_BITS 14); index 0 is the block's
// BLOCK_CONFIRMED event.
constexpr int kSnapchainSeqBits = 14;
constexpr std::int64_t kBlockMs = 500;        // the devnet's Snapchain block time
constexpr std::uint64_t kFirstHeight = 1000;  // height of the devnet's first block

class EventLog {
 public:
  using Clock = std::chrono::system_clock;

  EventLog(Dialect dialect, int shards, std::size_t retention);

  // Forgets every event and takes the other id scheme (a dialect switch is a different hub).
  void reset(Dialect dialect);
  Dialect dialect() const { return dialect_; }
  int shards() const { return shards_; }
  // Snapchain's shard of a fid (1..shards); Hubble has one stream (0).
  int shard_of(std::uint64_t fid) const;

  // Records `change` of `data` as one event at `when` (its id encodes that time), or, when
  // `late_ms` > 0, that long before (behind the head, so below the ids already served while
  // events are flowing). Returns the event id.
  std::uint64_t append(const DataSet& data, const Change& change, Clock::time_point when,
                       std::int64_t late_ms = 0);

  // GET /v1/events body: events with id >= from (of `shard` on Snapchain), at most `size`,
  // and nextPageEventId (the last id served + 1, else `from`).
  std::string page(int shard, std::uint64_t from, std::size_t size) const;
  // Snapchain shardInfos maxHeight: the height of the block being built now.
  std::uint64_t height(Clock::time_point now) const;
  std::uint64_t appended() const { return appended_; }
  std::uint64_t late() const { return late_; }

 private:
  std::uint64_t next_id(int shard, Clock::time_point when, std::int64_t late_ms);
  void store(int shard, std::uint64_t id, std::string text);

  Dialect dialect_;
  int shards_;
  std::size_t retention_;  // events kept per stream (hubs prune theirs after 3 days)
  Clock::time_point start_;
  std::map<int, std::map<std::uint64_t, std::string>> streams_;  // shard → id → event JSON
  std::map<std::pair<int, std::uint64_t>, std::uint64_t> seq_;   // (shard, ms|height) → next
  std::deque<std::pair<int, std::uint64_t>> seq_order_;          // to forget old seq_ keys
  std::map<int, std::uint64_t> last_slot_;  // per stream: latest ms/height of an on-time id
  std::uint64_t appended_ = 0, late_ = 0;
};

}  // namespace socialai::devnet::fc
