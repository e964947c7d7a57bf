// The Farcaster devnet's hub event stream (see farcaster_events.h).
#include "devnet/farcaster_events.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace socialai::devnet::fc {
namespace {

using json = nlohmann::json;

constexpr std::size_t kSeqSlotsKept = 200000;

json merge(json message, json deleted = json::array()) {
  return {{"type", "HUB_EVENT_TYPE_MERGE_MESSAGE"},
          {"mergeMessageBody",
           {{"message", std::move(message)}, {"deletedMessages", std::move(deleted)}}}};
}

json single(const char* type, const char* body_key, json message) {
  return {{"type", type}, {body_key, {{"message", std::move(message)}}}};
}

// The event (without id) that reports `c`.
json render(const DataSet& data, const Change& c) {
  const Account& a = *data.account(c.fid);
  switch (c.kind) {
    case ChangeKind::kCastAdd:
      return merge(cast_add_message(a.casts[c.index]));
    case ChangeKind::kCastRemove: {
      const Cast& cast = a.casts[c.index];
      return merge(cast_remove_message(cast), json::array({cast_add_message(cast)}));
    }
    case ChangeKind::kCastPrune:
      return single("HUB_EVENT_TYPE_PRUNE_MESSAGE", "pruneMessageBody",
                    cast_add_message(a.casts[c.index]));
    case ChangeKind::kReactionAdd:
      return merge(reaction_message(a.reactions[c.index]));
    case ChangeKind::kReactionRemove: {
      const Reaction& r = a.reactions[c.index];
      return merge(reaction_message(r, true), json::array({reaction_message(r)}));
    }
    case ChangeKind::kReactionRevoke:
      return single("HUB_EVENT_TYPE_REVOKE_MESSAGE", "revokeMessageBody",
                    reaction_message(a.reactions[c.index]));
    case ChangeKind::kLinkAdd:
      return merge(link_message(a.links[c.index]));
    case ChangeKind::kLinkRemove: {
      const Link& l = a.links[c.index];
      return merge(link_message(l, true), json::array({link_message(l)}));
    }
    case ChangeKind::kUserData: {
      json deleted = json::array();
      if (!c.replaced.hash.empty()) {
        deleted.push_back(user_data_message(c.fid, c.replaced));
      }
      return merge(user_data_message(c.fid, a.user_data[c.index]), std::move(deleted));
    }
  }
  return json::object();
}

std::uint64_t ms_since_epoch(EventLog::Clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<std::uint64_t>(std::max<std::int64_t>(ms - kFarcasterEpoch * 1000, 0));
}

}  // namespace

EventLog::EventLog(Dialect dialect, int shards, std::size_t retention)
    : dialect_(dialect),
      shards_(std::max(shards, 1)),
      retention_(std::max<std::size_t>(retention, 1)),
      start_(Clock::now()) {}

void EventLog::reset(Dialect dialect) {
  dialect_ = dialect;
  streams_.clear();
  seq_.clear();
  seq_order_.clear();
  last_slot_.clear();
}

int EventLog::shard_of(std::uint64_t fid) const {
  if (dialect_ == Dialect::kHubble) {
    return 0;
  }
  return 1 + static_cast<int>(fid % static_cast<std::uint64_t>(shards_));
}

std::uint64_t EventLog::height(Clock::time_point now) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count();
  return kFirstHeight + static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0) / kBlockMs);
}

std::uint64_t EventLog::next_id(int shard, Clock::time_point when, std::int64_t late_ms) {
  const bool hubble = dialect_ == Dialect::kHubble;
  const int bits = hubble ? kHubbleSeqBits : kSnapchainSeqBits;
  std::uint64_t slot = hubble ? ms_since_epoch(when) : height(when);
  std::uint64_t& last = last_slot_[shard];
  if (late_ms > 0) {
    const auto back = static_cast<std::uint64_t>(
        hubble ? late_ms : std::max<std::int64_t>(late_ms / kBlockMs, 1));
    // Behind the head (the hub's clock or height), as a hub's late events are: below the ids
    // already served while events are flowing, not behind an idle stream's last one.
    slot -= std::min(slot, back);
  } else {
    slot = std::max(slot, last);  // on-time ids never go backwards
  }
  for (;; ++slot) {
    const auto key = std::make_pair(shard, slot);
    auto [it, fresh] = seq_.try_emplace(key, 0);
    if (fresh) {
      seq_order_.push_back(key);
      if (seq_order_.size() > kSeqSlotsKept) {
        seq_.erase(seq_order_.front());
        seq_order_.pop_front();
      }
    }
    if (!hubble && it->second == 0) {  // a block opens with its BLOCK_CONFIRMED event
      it->second = 1;
      const json confirmed = {{"blockNumber", slot},
                              {"shardIndex", shard},
                              {"timestamp", ms_since_epoch(when) / 1000},
                              {"blockHash", "0x" + std::string(64, 'b')},
                              {"totalEvents", 0}};
      store(shard, slot << bits,
            json{{"type", "HUB_EVENT_TYPE_BLOCK_CONFIRMED"},
                 {"id", slot << bits},
                 {"blockConfirmedBody", confirmed},
                 {"blockNumber", slot},
                 {"shardIndex", shard}}
                .dump());
    }
    const auto& stream = streams_[shard];
    while (it->second < (std::uint64_t{1} << bits) && stream.count(slot << bits | it->second)) {
      ++it->second;
    }
    if (it->second < (std::uint64_t{1} << bits)) {
      if (late_ms <= 0) {
        last = slot;
      }
      return slot << bits | it->second++;
    }
  }
}

void EventLog::store(int shard, std::uint64_t id, std::string text) {
  auto& stream = streams_[shard];
  stream.emplace(id, std::move(text));
  while (stream.size() > retention_) {
    stream.erase(stream.begin());
  }
}

std::uint64_t EventLog::append(const DataSet& data, const Change& change, Clock::time_point when,
                               std::int64_t late_ms) {
  const int shard = shard_of(change.fid);
  const std::uint64_t id = next_id(shard, when, late_ms);
  json ev = render(data, change);
  ev["id"] = id;
  if (dialect_ == Dialect::kSnapchain) {
    ev["blockNumber"] = id >> kSnapchainSeqBits;
    ev["shardIndex"] = shard;
  }
  store(shard, id, ev.dump());
  ++appended_;
  late_ += late_ms > 0 ? 1 : 0;
  return id;
}

std::string EventLog::page(int shard, std::uint64_t from, std::size_t size) const {
  std::string body = "{\"events\":[";
  std::uint64_t next = from;
  std::size_t n = 0;
  if (const auto s = streams_.find(shard); s != streams_.end()) {
    for (auto it = s->second.lower_bound(from); it != s->second.end() && n < size; ++it, ++n) {
      body += n == 0 ? "" : ",";
      body += it->second;
      next = it->first + 1;
    }
  }
  return body + "],\"nextPageEventId\":" + std::to_string(next) + "}";
}

}  // namespace socialai::devnet::fc
