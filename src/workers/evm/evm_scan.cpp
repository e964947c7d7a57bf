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

bool EvmSync::repair_reorg(WorkerContext& ctx, BlockCursor& cursor) {
  if (cursor.number < 0 || cursor.hash.empty()) {
    return false;
  }
  const auto now = chain_->blocks({static_cast<std::uint64_t>(cursor.number)}, false);
  if (now[0].hash == cursor.hash) {
    return false;
  }
  // Walk back through the kept hashes (newest first) to the last block both branches share.
  std::vector<std::uint64_t> numbers;
  for (auto it = cursor.recent.rbegin(); it != cursor.recent.rend(); ++it) {
    if (it->first < cursor.number) {
      numbers.push_back(static_cast<std::uint64_t>(it->first));
    }
  }
  const auto blocks = numbers.empty() ? std::vector<EvmBlock>{} : chain_->blocks(numbers, false);
  std::int64_t fork = -1;
  std::string fork_hash;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto& kept = *std::find_if(cursor.recent.begin(), cursor.recent.end(), [&](auto& p) {
      return p.first == static_cast<std::int64_t>(numbers[i]);
    });
    if (blocks[i].hash == kept.second) {
      fork = kept.first;
      fork_hash = kept.second;
      break;
    }
  }
  if (fork_hash.empty()) {
    // Deeper than the hashes kept: rescan from before the oldest one we know.
    fork = (cursor.recent.empty() ? cursor.number : cursor.recent.front().first) - 1;
  }
  const std::int64_t old = cursor.number;
  cursor.rewind_to(fork, fork_hash);
  Db& db = ctx.db();
  const auto removed = db.with_transaction([&](pqxx::work& tx) {
    const auto r = db.exec(tx, kRollbackTxSql, settings_.chain, fork);
    save_cursor(db, tx, ctx.name(), cursor);
    return r.affected_rows();
  });
  spdlog::warn(
      "{}: reorg: block {} changed hash; rolled back to block {} ({} transaction(s) "
      "removed), rescanning",
      settings_.chain, old, fork, removed);
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
  repair_reorg(ctx, cursor);

  const std::set<std::string> tracked(wallets.begin(), wallets.end());
  const std::set<std::string> collections(settings_.collections.begin(),
                                          settings_.collections.end());
  json wallet_topics = json::array();
  for (const auto& w : wallets) {
    wallet_topics.push_back("0x" + word_address(w));
  }
  const std::uint64_t chunk = std::min<std::uint64_t>(
      {settings_.max_block_range, settings_.batch_size, kMaxBlocksPerStep});
  while (!ctx.stopping() && cursor.number < static_cast<std::int64_t>(safe_head)) {
    const auto from = static_cast<std::uint64_t>(cursor.number + 1);
    const std::uint64_t to = std::min(safe_head, from + chunk - 1);
    std::vector<std::uint64_t> numbers;
    for (std::uint64_t n = from; n <= to; ++n) {
      numbers.push_back(n);
    }
    const auto blocks = chain_->blocks(numbers, true);
    if (!cursor.hash.empty() && blocks.front().parent_hash != cursor.hash) {
      if (!repair_reorg(ctx, cursor)) {
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
        if (!incoming || log.topics.size() != 4 || collections.count(log.address) == 0) {
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
