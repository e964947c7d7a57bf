// EvmSync: the ethereum and base workers (SPEC §7): chain id check at start, native and ERC-20
// balances, ERC-721 holdings, transactions of tracked wallets from a confirmed, reorg-safe block
// scan, and ENS reverse names verified by forward resolution. One class, two chains; the worker
// name ("ethereum", "base") is the `chain` column value.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/worker_runtime.h"

namespace socialai {

class HttpClient;
class JsonRpcClient;
class RateLimiter;

namespace evm {
class EvmChain;
struct BlockCursor;
}  // namespace evm

struct EvmSettings {
  std::string chain;                       // worker name; the `chain` value of the rows written
  std::vector<std::string> wallet_chains;  // `wallets.chain` values whose addresses are tracked
  std::string rpc_url;
  std::uint64_t chain_id = 1;
  std::vector<std::string> tokens, collections, wallets;  // lowercase 0x addresses
  std::uint64_t confirmations = 12;
  bool ens = true;
  std::string ens_registry;
  std::optional<std::uint64_t> start_block;
  std::uint64_t nft_backfill_from_block = 0;  // default: start_block, else 0
  std::uint64_t max_block_range = 500;
  std::size_t batch_size = 100;
  double requests_per_minute = 0;  // 0 = no local limit
  std::string multicall_address;   // Multicall3; empty: plain JSON-RPC batches

  // Reads and checks the settings; throws ConfigError-like std::invalid_argument with the key.
  static EvmSettings from(const WorkerContext& ctx);
};

// A list setting: a JSON array text or comma/space separated addresses; throws
// std::invalid_argument naming the bad entry.
std::vector<std::string> parse_address_list(const std::string& key, const std::string& text);

class EvmSync : public Worker {
 public:
  EvmSync();
  ~EvmSync() override;

  // Runs once per database and chain (SPEC §8): other instances stand by on the lease.
  bool exclusive() const override { return true; }
  // Builds the RPC client from the settings and checks eth_chainId; DependencyError on an
  // unreachable node or a chain id mismatch.
  void validate(WorkerContext& ctx) override;
  void run_cycle(WorkerContext& ctx) override;

 private:
  std::vector<std::string> tracked_wallets(WorkerContext& ctx);
  // Logs the confirmed head against the chain head and makes it the status note; a warning
  // (log and note) when the chain is shorter than the confirmation depth.
  void report_heads(WorkerContext& ctx, std::uint64_t head, std::uint64_t safe) const;
  void scan_blocks(WorkerContext& ctx, const std::vector<std::string>& wallets,
                   std::uint64_t safe_head);
  // Rolls the cursor back to the last block both the stored scan and the node's chain share, and
  // no higher than the confirmed head (a reorg to a shorter chain); deletes the transactions
  // above it and re-derives the NFTs that moved in the blocks given up from ownerOf at the
  // confirmed head. False when nothing was rolled back.
  bool repair_reorg(WorkerContext& ctx, evm::BlockCursor& cursor, std::uint64_t safe_head,
                    const std::set<std::string>& tracked);
  // ERC-721 holdings of wallets and collections new to the worker (sync_state 'nft_backfill'
  // remembers which were done), from Transfer logs since nft_backfill_from_block, verified
  // with ownerOf at the confirmed head.
  void backfill_nfts(WorkerContext& ctx, const std::vector<std::string>& wallets,
                     std::uint64_t safe_head);
  void sync_wallets(WorkerContext& ctx, const std::vector<std::string>& wallets,
                    const std::string& block_tag);
  // Wallet index → verified name (nullopt: none); wallets whose lookup failed are left out.
  std::map<std::size_t, std::optional<std::string>> verified_ens_names(
      WorkerContext& ctx, const std::vector<std::string>& wallets, const std::string& block_tag);
  void sync_holdings(WorkerContext& ctx, const std::string& block_tag);

  EvmSettings settings_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<JsonRpcClient> rpc_;
  std::unique_ptr<evm::EvmChain> chain_;
};

}  // namespace socialai
