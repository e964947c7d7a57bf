// SolanaSync: the solana worker (SPEC §7 "solana"). For every tracked wallet: SOL balance, SPL
// token accounts, new signatures (with an `until` cursor) and their transactions, and Metaplex
// metadata of the NFTs held; one database transaction per wallet, cursor included.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "common/json_rpc.h"
#include "common/rate_limiter.h"
#include "common/worker_runtime.h"

namespace socialai {

// Settings (keys as read here; the settings table row `solana_<key>` overrides the config):
//   rpc_url              JSON-RPC endpoint (required; may carry an API key, never logged)
//   wallets              base58 addresses to track, JSON array or comma/space separated; added
//                        to the wallets table. Every wallets row with chain 'solana' (e.g. from
//                        Farcaster verifications) is tracked as well.
//   requests_per_minute  local limit for the RPC endpoint (default 600; 0 = none)
//   batch_size           calls per JSON-RPC batch (default 50)
//   signatures_limit     page size of getSignaturesForAddress (default 1000, the maximum)
//   commitment           finalized (default) or confirmed
class SolanaSync : public Worker {
 public:
  // Runs once per database (SPEC §8): other instances stand by on the advisory lease.
  bool exclusive() const override { return true; }
  // Throws DependencyError when rpc_url is missing or the node does not answer getVersion.
  void validate(WorkerContext& ctx) override;
  // One pass over all tracked wallets; a wallet that fails is recorded in worker_errors and
  // retried next cycle with nothing of it written.
  void run_cycle(WorkerContext& ctx) override;

  struct Settings {
    std::string rpc_url;
    std::vector<std::string> wallets;
    double requests_per_minute = 600;
    int batch_size = 50;
    int signatures_limit = 1000;
    std::string commitment = "finalized";
  };
  // Throws DependencyError on an unusable value.
  static Settings read_settings(const WorkerContext& ctx);

 private:
  struct WalletState;
  JsonRpcClient& client(WorkerContext& ctx, const Settings& s);
  std::vector<std::string> tracked_wallets(WorkerContext& ctx, const Settings& s);
  void sync_chunk(WorkerContext& ctx, const Settings& s, const std::vector<std::string>& chunk);
  void fetch_history(WorkerContext& ctx, const Settings& s, WalletState& w,
                     const nlohmann::json& first_page);
  void fetch_metadata(WorkerContext& ctx, const Settings& s, WalletState& w);
  void write(WorkerContext& ctx, const WalletState& w);

  WorkerContext* ctx_ = nullptr;  // for the HTTP client's stop check
  std::string client_key_;        // rpc_url + limit the client was built for
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<JsonRpcClient> rpc_;
};

}  // namespace socialai
