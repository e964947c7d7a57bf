// NFT backfill: the ERC-721 holdings of wallets (and collections) that are new to the worker,
// found from Transfer logs since nft_backfill_from_block and kept only where ownerOf at the
// confirmed head still names the wallet. The block scan covers what comes after.
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "workers/evm/evm_chain.h"
#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_sql.h"
#include "workers/evm/evm_sync.h"

namespace socialai {

using json = nlohmann::json;
using namespace evm;

namespace {

constexpr const char* kBackfillKey = "nft_backfill";

std::set<std::string> string_set(const json& j, const char* key) {
  std::set<std::string> out;
  if (j.is_object() && j.contains(key) && j[key].is_array()) {
    for (const auto& v : j[key]) {
      if (v.is_string()) {
        out.insert(v.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

void EvmSync::backfill_nfts(WorkerContext& ctx, const std::vector<std::string>& wallets,
                            std::uint64_t safe_head) {
  if (settings_.collections.empty() || wallets.empty()) {
    return;
  }
  Db& db = ctx.db();
  const auto stored = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx, kReadCursorSql, ctx.name(), std::string(kBackfillKey));
  });
  const json state = stored.empty() || stored[0][0].is_null()
                         ? json::object()
                         : json::parse(stored[0][0].as<std::string>(), nullptr, false);
  const auto done_wallets = string_set(state, "wallets");
  const auto done_collections = string_set(state, "collections");
  std::vector<std::string> new_wallets, old_collections, new_collections;
  for (const auto& w : wallets) {
    if (done_wallets.count(w) == 0) {
      new_wallets.push_back(w);
    }
  }
  for (const auto& c : settings_.collections) {
    (done_collections.count(c) > 0 ? old_collections : new_collections).push_back(c);
  }
  // New wallets in the collections already backfilled; every wallet in new collections.
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> queries;
  if (!new_wallets.empty() && !old_collections.empty()) {
    queries.emplace_back(old_collections, new_wallets);
  }
  if (!new_collections.empty()) {
    queries.emplace_back(new_collections, wallets);
  }
  if (queries.empty()) {
    return;
  }

  const std::uint64_t from = settings_.nft_backfill_from_block;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> received;  // token → to
  if (from <= safe_head) {
    const std::string transfer = event_topic("Transfer(address,address,uint256)");
    for (const auto& [collections, who] : queries) {
      json topics = json::array();
      for (const auto& w : who) {
        topics.push_back("0x" + word_address(w));
      }
      const std::set<std::string> wanted(who.begin(), who.end());
      const json filter = {{"address", collections},
                           {"topics", json::array({transfer, nullptr, topics})}};
      // One query over the whole range first; the node's range/size limits halve it.
      for (const auto& log : chain_->logs_in_range(filter, from, safe_head, safe_head - from + 1)) {
        if (log.topics.size() != 4 || log.topics[0] != transfer) {
          continue;  // ERC-721 only: the token id is indexed
        }
        const std::string to = decode_address(log.topics[2]);
        if (wanted.count(to) > 0) {
          received[{log.address, hex_to_decimal(log.topics[3])}].insert(to);
        }
      }
    }
  }
  // Received once is not held now: ownerOf at the confirmed head decides.
  std::vector<EvmCall> calls;
  for (const auto& [token, _] : received) {
    calls.push_back(
        {token.first, calldata("ownerOf(uint256)", {word_hex(decimal_to_hex(token.second))})});
  }
  const auto owners = chain_->calls(calls, quantity(safe_head));
  json held = json::array();
  std::size_t k = 0;
  for (const auto& [token, recipients] : received) {
    const auto& r = owners[k++];
    if (!r.ok() && std::string(r.error->what()).find("revert") == std::string::npos) {
      throw *r.error;  // a node-side failure: the whole backfill is tried again next cycle
    }
    if (!r.ok() || !r.result.is_string()) {
      continue;  // burnt
    }
    const std::string owner = decode_address(r.result.get<std::string>());
    if (recipients.count(owner) > 0) {
      held.push_back({{"address", owner}, {"contract", token.first}, {"token_id", token.second}});
    }
  }
  const json next = {{"wallets", wallets}, {"collections", settings_.collections}};
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, kInsertHoldingSql, settings_.chain, held.dump());
    db.exec(tx, kWriteCursorSql, ctx.name(), std::string(kBackfillKey), next.dump());
  });
  spdlog::info(
      "{}: NFT backfill from block {} to {} for {} new wallet(s), {} new collection(s): "
      "{} token(s) received, {} still held",
      settings_.chain, from, safe_head, new_wallets.size(), new_collections.size(), received.size(),
      held.size());
}

}  // namespace socialai
