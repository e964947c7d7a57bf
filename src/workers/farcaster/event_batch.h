// EventBatch: the rows of a run of hub events, coalesced per row key in stream order, so that a
// whole page of events becomes one bulk upsert and one bulk delete per table: the last event
// touching a row decides whether it is written or deleted. Pure (no I/O).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "workers/farcaster/hub_api.h"
#include "workers/farcaster/hub_events.h"

namespace socialai::farcaster {

struct BatchRows {
  std::vector<CastRow> casts;
  std::vector<std::string> removed_casts;
  std::vector<ReactionRow> reactions, removed_reactions;
  std::vector<LinkRow> links, removed_links;
  std::vector<WalletRow> wallets, unlinked_wallets;
  std::vector<UserDataRow> user_data;
  std::size_t size() const;
};

class EventBatch {
 public:
  using ReactionKey = std::tuple<std::uint64_t, std::string, std::string, std::string>;

  // Adds the effects of `e` after those added before. A merge's deleted messages apply before
  // its message (a new user data value replaces the old one; a remove deletes its add).
  void add(const HubEvent& e);
  std::size_t events() const { return events_; }
  BatchRows rows() const;
  void clear() { *this = EventBatch(); }

 private:
  void put(const Page& p, bool deleted);

  std::size_t events_ = 0;
  std::map<std::string, std::optional<CastRow>> casts_;          // hash → row, nullopt: delete
  std::map<ReactionKey, std::optional<ReactionRow>> reactions_;  // (fid, kind, cast, url)
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::optional<LinkRow>> links_;
  std::map<std::pair<std::string, std::string>, std::pair<WalletRow, bool>> wallets_;  // linked?
  std::map<std::pair<std::uint64_t, std::string>, std::string> user_data_;
};

}  // namespace socialai::farcaster
