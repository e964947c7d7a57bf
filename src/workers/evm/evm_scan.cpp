// The confirmed block scan: transactions involving tracked wallets (their own from/to, or a
// Transfer log naming them) and ERC-721 receipts, committed with the cursor; reorgs found by
// block hash and rolled back.
#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "workers/evm/evm_chain.h"
#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_cursor.h"
#include "workers/evm/evm_sql.h"
#include "workers/evm/evm_sync.h"

namespace socialai {

using json = nlohmann::json;
using namespace evm;

namespace {

// Full mainnet blocks are 100-300 KB of JSON each: 20 per batch stay well inside the response cap.
constexpr std::uint64_t kMaxBlocksPerStep = 20;

const std::string& transfer_topic() {
  static const std::string t = event_topic("Transfer(address,address,uint256)");
  return t;
}

void save_cursor(Db& db, pqxx::work& tx, const std::string& worker, const BlockCursor& c) {
  db.exec(tx, kWriteCursorSql, worker, std::string(kCursorKey), c.to_text());
}

}  // namespace

bool EvmSync::repair_reorg(WorkerContext& ctx, BlockCursor& cursor, std::uint64_t safe_head,
                           const std::set<std::string>& tracked) {
  if (cursor.number < 0 || cursor.hash.empty()) {
    return false;  // nothing scanned yet, or nothing known to compare with
  }
  // The newest scanned block still on the node's chain: the cursor's own, or the newest kept
  // hash that matches (a block the node no longer has, beyond a shorter chain's head, does not).
  std::int64_t keep = cursor.number;
  if (chain_->block_hashes({static_cast<std::uint64_t>(cursor.number)})[0] != cursor.hash) {
    std::vector<std::uint64_t> numbers;
    for (auto it = cursor.recent.rbegin(); it != cursor.recent.rend(); ++it) {
      if (it->first < cursor.number) {
        numbers.push_back(static_cast<std::uint64_t>(it->first));
      }
    }
    const auto now =
        numbers.empty() ? std::vector<std::optional<std::string>>{} : chain_->block_hashes(numbers);
    // Deeper than the hashes kept: rescan from before the oldest one we know.
    keep = (cursor.recent.empty() ? cursor.number : cursor.recent.front().first) - 1;
    for (std::size_t i = 0; i < now.size(); ++i) {
      if (now[i] == cursor.hash_of(static_cast<std::int64_t>(numbers[i]))) {
        keep = static_cast<std::int64_t>(numbers[i]);
        break;
      }
    }
  }
  // Above the confirmed head nothing is stored: after a reorg to a shorter chain the scan waits
  // there until the chain has grown back.
  const std::int64_t target = std::min(keep, static_cast<std::int64_t>(safe_head));
  if (target >= cursor.number) {
    return false;
  }
  const std::int64_t old = cursor.number;
  const auto dropped = cursor.rewind_to(target, cursor.hash_of(target));

  // Every NFT that moved to or from a tracked wallet in the blocks given up: its owner now.
  std::vector<EvmCall> calls;
  std::vector<const TouchedNft*> tokens;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& t : dropped) {
    if (seen.insert({t.contract, t.token_id}).second) {
      tokens.push_back(&t);
      calls.push_back(
          {t.contract, calldata("ownerOf(uint256)", {word_hex(decimal_to_hex(t.token_id))})});
    }
  }
  const auto owners =
      calls.empty() ? std::vector<JsonRpcResult>{} : chain_->calls(calls, quantity(safe_head));
  json now = json::array(), held = json::array();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& r = owners[i];
    json owner;  // null: the token does not exist (its mint was on the orphaned branch)
    if (r.ok() && r.result.is_string()) {
      owner = decode_address(r.result.get<std::string>());
    } else if (r.ok() || std::string(r.error->what()).find("revert") == std::string::npos) {
      throw EvmShapeError("ownerOf(" + tokens[i]->token_id + ") of " + tokens[i]->contract +
                          " after the reorg: " + (r.ok() ? "not a hex string" : r.error->what()));
    }
    now.push_back(
        {{"contract", tokens[i]->contract}, {"token_id", tokens[i]->token_id}, {"owner", owner}});
    if (owner.is_string() && tracked.count(owner.get<std::string>()) > 0) {
      held.push_back({{"address", owner},
                      {"contract", tokens[i]->contract},
                      {"token_id", tokens[i]->token_id}});
    }
  }
  Db& db = ctx.db();
  const auto removed = db.with_transaction([&](pqxx::work& tx) {
    const auto r = db.exec(tx, kRollbackTxSql, settings_.chain, target);
    db.exec(tx, kDeleteOtherHoldersSql, settings_.chain, now.dump());
    db.exec(tx, kInsertHoldingSql, settings_.chain, held.dump());
    save_cursor(db, tx, ctx.name(), cursor);
    return r.affected_rows();
  });
  spdlog::warn(
      "{}: reorg: scanned block {} is no longer on the chain or above the confirmed head {}; "
      "rolled back to block {} ({} transaction(s) removed, {} NFT(s) re-derived from ownerOf)",
      settings_.chain, old, safe_head, target, removed, tokens.size());
  return true;
}

void EvmSync::scan_blocks(WorkerContext& ctx, const std::vector<std::string>& wallets,
                          std::uint64_t safe_head) {
  Db& db = ctx.db();
  BlockCursor cursor;
  const auto stored = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx, kReadCursorSql, ctx.name(), std::string(kCursorKey));
  });
  if (!stored.empty() && !stored[0][0].is_null()) {
    if (auto c = BlockCursor::parse(stored[0][0].as<std::string>())) {
      cursor = *c;
    } else {
      spdlog::warn("{}: unreadable block cursor; starting over", settings_.chain);
    }
  }
  if (stored.empty() || cursor.number < 0) {
    const std::uint64_t range = settings_.max_block_range;
    const std::uint64_t start =
        settings_.start_block.value_or(safe_head >= range ? safe_head - range + 1 : 0);
    cursor.number = std::max<std::int64_t>(cursor.number, static_cast<std::int64_t>(start) - 1);
  }
  const std::set<std::string> tracked(wallets.begin(), wallets.end());
  repair_reorg(ctx, cursor, safe_head, tracked);
  const std::set<std::string> collections(settings_.collections.begin(),
                                          settings_.collections.end());
  json wallet_topics = json::array();
  for (const auto& w : wallets) {
    wallet_topics.push_back("0x" + word_address(w));
  }
  const std::uint64_t chunk =
      std::min<std::uint64_t>({settings_.max_block_range, settings_.batch_size, kMaxBlocksPerStep});
  while (!ctx.stopping() && cursor.number < static_cast<std::int64_t>(safe_head)) {
    const auto from = static_cast<std::uint64_t>(cursor.number + 1);
    const std::uint64_t to = std::min(safe_head, from + chunk - 1);
    std::vector<std::uint64_t> numbers;
    for (std::uint64_t n = from; n <= to; ++n) {
      numbers.push_back(n);
    }
    const auto blocks = chain_->blocks(numbers, true);
    if (!cursor.hash.empty() && blocks.front().parent_hash != cursor.hash) {
      if (!repair_reorg(ctx, cursor, safe_head, tracked)) {
        throw EvmShapeError("block " + std::to_string(from) +
                            " does not extend the scanned chain (reorg in progress?)");
      }
      continue;
    }
    for (std::size_t i = 1; i < blocks.size(); ++i) {
      if (blocks[i].parent_hash != blocks[i - 1].hash) {
        throw EvmShapeError("blocks changed during the scan at " +
                            std::to_string(blocks[i].number) + " (reorg in progress?)");
      }
    }

    // Transfer logs (ERC-20 and ERC-721, of any contract) naming a tracked wallet as sender
    // (topic1) or recipient (topic2): their transactions involve the wallet even when a third
    // party sent them. ERC-721 receipts of the configured collections are holdings.
    std::map<std::uint64_t, std::string> hash_of;
    for (const auto& b : blocks) {
      hash_of[b.number] = b.hash;
    }
    std::set<std::string> involved;
    json received = json::array();
    std::vector<TouchedNft> touched;
    for (const bool incoming : {false, true}) {
      if (wallets.empty()) {
        break;
      }
      const json topics = incoming ? json::array({transfer_topic(), nullptr, wallet_topics})
                                   : json::array({transfer_topic(), wallet_topics});
      for (const auto& log :
           chain_->logs_in_range({{"topics", topics}}, from, to, settings_.max_block_range)) {
        if (log.topics.size() < 3 || log.topics[0] != transfer_topic()) {
          continue;
        }
        const auto it = hash_of.find(log.block_number);
        if (it == hash_of.end() || it->second != log.block_hash) {
          throw EvmShapeError("a log of block " + std::to_string(log.block_number) +
                              " is from another branch (reorg in progress?)");
        }
        involved.insert(log.tx_hash);
        // ERC-721 Transfer has the token id indexed (4 topics); ERC-20's has 3.
        if (log.topics.size() != 4 || collections.count(log.address) == 0) {
          continue;
        }
        touched.push_back({static_cast<std::int64_t>(log.block_number), log.address,
                           hex_to_decimal(log.topics[3])});
        if (!incoming) {
          continue;
        }
        const std::string to_addr = decode_address(log.topics[2]);
        if (tracked.count(to_addr) > 0) {
          received.push_back({{"address", to_addr},
                              {"contract", log.address},
                              {"token_id", hex_to_decimal(log.topics[3])}});
        }
      }
    }

    json txs = json::array();
    std::vector<std::string> hashes;
    for (const auto& b : blocks) {
      for (const auto& t : b.txs) {
        if (tracked.count(t.from) == 0 && (!t.to || tracked.count(*t.to) == 0) &&
            involved.count(t.hash) == 0) {
          continue;
        }
        txs.push_back({{"hash", t.hash},
                       {"block_number", b.number},
                       {"block_hash", b.hash},
                       {"block_time", b.timestamp},
                       {"from", t.from},
                       {"to", t.to ? json(*t.to) : json()},
                       {"value", t.value_decimal}});
        hashes.push_back(t.hash);
      }
    }
    const auto status =
        hashes.empty() ? std::map<std::string, bool>{} : chain_->receipt_status(hashes);
    for (auto& t : txs) {
      t["status"] = status.at(t["hash"].get<std::string>()) ? "success" : "failed";
    }

    for (const auto& b : blocks) {
      cursor.advance(static_cast<std::int64_t>(b.number), b.hash);
    }
    std::sort(touched.begin(), touched.end(),
              [](const TouchedNft& a, const TouchedNft& b) { return a.block < b.block; });
    for (auto& t : touched) {
      cursor.touch(t.block, std::move(t.contract), std::move(t.token_id));
    }
    db.with_transaction([&](pqxx::work& tx) {
      if (!txs.empty()) {
        db.exec(tx, kUpsertTxSql, settings_.chain, txs.dump());
      }
      if (!received.empty()) {
        db.exec(tx, kInsertHoldingSql, settings_.chain, received.dump());
      }
      save_cursor(db, tx, ctx.name(), cursor);
    });
    ctx.item_ok(static_cast<std::int64_t>(txs.size()));
    spdlog::debug("{}: scanned blocks {}..{}: {} transaction(s), {} NFT receipt(s)",
                  settings_.chain, from, to, txs.size(), received.size());
  }
}

}  // namespace socialai
