// EvmSync: settings, chain id check, the cycle's phases and the reorg-safe block scan.
#include "workers/evm/evm_sync.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "common/json_rpc.h"
#include "common/rate_limiter.h"
#include "workers/evm/evm_chain.h"
#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_multicall.h"
#include "workers/evm/evm_sql.h"

namespace socialai {

using json = nlohmann::json;
using namespace evm;

namespace {

constexpr const char* kMainnetEnsRegistry = "0x00000000000c2e074ec69a0dfb2997ba6c7d2e1e";

std::uint64_t non_negative(const WorkerContext& ctx, const std::string& key,
                           std::int64_t fallback) {
  const std::int64_t v = ctx.setting_int(key, fallback);
  if (v < 0) {
    throw std::invalid_argument("setting " + key + " must not be negative");
  }
  return static_cast<std::uint64_t>(v);
}

}  // namespace

std::vector<std::string> parse_address_list(const std::string& key, const std::string& text) {
  std::vector<std::string> items;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_array()) {
    for (const auto& v : j) {
      if (!v.is_string()) {
        throw std::invalid_argument("setting " + key + ": entries must be address strings");
      }
      items.push_back(v.get<std::string>());
    }
  } else {
    std::string s = text;
    std::replace(s.begin(), s.end(), ',', ' ');
    std::istringstream in(s);
    for (std::string w; in >> w;) {
      items.push_back(w);
    }
  }
  std::vector<std::string> out;
  for (const auto& a : items) {
    if (!is_address(a)) {
      throw std::invalid_argument("setting " + key + ": \"" + a.substr(0, 60) +
                                  "\" is not a 0x address of 20 bytes");
    }
    const std::string n = normalize_address(a);
    if (std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(n);
    }
  }
  return out;
}

EvmSettings EvmSettings::from(const WorkerContext& ctx) {
  EvmSettings s;
  s.chain = ctx.name();
  s.wallet_chains = {s.chain};
  if (s.chain != "ethereum") {
    // Farcaster stores verified EVM addresses as chain 'ethereum'; an address is the same
    // account on every EVM chain, so the other EVM workers track those rows too.
    s.wallet_chains.push_back("ethereum");
  }
  s.rpc_url = ctx.setting_or("rpc_url", "");
  if (s.rpc_url.empty()) {
    throw std::invalid_argument("setting rpc_url is missing");
  }
  s.chain_id = non_negative(ctx, "chain_id", s.chain == "base" ? 8453 : 1);
  s.tokens = parse_address_list("tokens", ctx.setting_or("tokens", ""));
  s.collections = parse_address_list("collections", ctx.setting_or("collections", ""));
  s.wallets = parse_address_list("wallets", ctx.setting_or("wallets", ""));
  s.confirmations = non_negative(ctx, "confirmations", 12);
  const std::string ens = ctx.setting_or("ens", s.chain_id == 1 ? "true" : "false");
  if (ens != "true" && ens != "false") {
    throw std::invalid_argument("setting ens must be true or false");
  }
  s.ens = ens == "true";
  const std::string registry = ctx.setting_or("ens_registry", kMainnetEnsRegistry);
  if (!is_address(registry)) {
    throw std::invalid_argument("setting ens_registry is not an address");
  }
  s.ens_registry = normalize_address(registry);
  if (ctx.setting("start_block")) {
    s.start_block = non_negative(ctx, "start_block", 0);
  }
  s.nft_backfill_from_block = non_negative(ctx, "nft_backfill_from_block",
                                           static_cast<std::int64_t>(s.start_block.value_or(0)));
  s.max_block_range = std::max<std::uint64_t>(1, non_negative(ctx, "max_block_range", 500));
  s.batch_size = std::max<std::size_t>(1, non_negative(ctx, "batch_size", 100));
  s.requests_per_minute = static_cast<double>(non_negative(ctx, "requests_per_minute", 0));
  const std::string multicall = ctx.setting("multicall_address").value_or(kMulticall3Address);
  if (multicall.empty() || multicall == "none") {
    s.multicall_address.clear();
  } else if (is_address(multicall)) {
    s.multicall_address = normalize_address(multicall);
  } else {
    throw std::invalid_argument("setting multicall_address is not an address (\"none\": none)");
  }
  return s;
}

EvmSync::EvmSync() = default;
EvmSync::~EvmSync() = default;

void EvmSync::validate(WorkerContext& ctx) {
  try {
    settings_ = EvmSettings::from(ctx);
  } catch (const std::invalid_argument& e) {
    throw DependencyError(ctx.name() + ": " + e.what());
  }
  chain_.reset();
  rpc_.reset();
  http_.reset();
  limiter_ = std::make_unique<RateLimiter>(settings_.requests_per_minute, 10);
  HttpClient::Options options;
  options.limiter = limiter_.get();
  options.should_stop = [&ctx] { return ctx.stopping(); };
  options.max_retries = 2;
  options.max_response_bytes = std::size_t{64} * 1024 * 1024;  // batches of full blocks
  http_ = std::make_unique<HttpClient>(options);
  rpc_ = std::make_unique<JsonRpcClient>(*http_, settings_.rpc_url);
  auto chain = std::make_unique<EvmChain>(*rpc_, settings_.batch_size);
  chain->use_multicall(settings_.multicall_address);
  std::uint64_t id = 0;
  try {
    id = chain->chain_id();
  } catch (const std::exception& e) {
    throw DependencyError(ctx.name() + ": cannot read eth_chainId from " + rpc_->redacted_url() +
                          ": " + e.what());
  }
  if (id != settings_.chain_id) {
    throw DependencyError(ctx.name() + ": chain id mismatch: the node at " + rpc_->redacted_url() +
                          " reports chain id " + std::to_string(id) + ", configured chain_id is " +
                          std::to_string(settings_.chain_id) +
                          " (wrong rpc_url or chain_id); not syncing");
  }
  chain_ = std::move(chain);
  spdlog::info("{}: node at {} is chain {}; tracking {} token(s), {} collection(s)", ctx.name(),
               rpc_->redacted_url(), id, settings_.tokens.size(), settings_.collections.size());
}

std::vector<std::string> EvmSync::tracked_wallets(WorkerContext& ctx) {
  std::set<std::string> set(settings_.wallets.begin(), settings_.wallets.end());
  Db& db = ctx.db();
  db.with_transaction([&](pqxx::work& tx) {
    for (const auto& row : db.exec(tx, kTrackedWalletsSql, json(settings_.wallet_chains).dump())) {
      const std::string a = row[0].as<std::string>();
      if (is_address(a)) {
        set.insert(normalize_address(a));
      }
    }
  });
  return {set.begin(), set.end()};
}

void EvmSync::report_heads(WorkerContext& ctx, std::uint64_t head, std::uint64_t safe) const {
  const std::string depth = std::to_string(settings_.confirmations);
  if (head >= settings_.confirmations) {
    const std::string note = "confirmed head " + std::to_string(safe) + " of chain head " +
                             std::to_string(head) + " (" + depth + " confirmations)";
    spdlog::info("{}: {}", settings_.chain, note);
    ctx.set_note(note);
    return;
  }
  // A dev chain that mines on demand may never get that deep: say so instead of silently
  // showing block 0's state.
  const std::string note = "chain head " + std::to_string(head) +
                           " is below the confirmation depth " + depth +
                           ": no block is confirmed yet, so no block is scanned and balances "
                           "are read at block 0; lower workers." +
                           ctx.name() + ".confirmations for a chain this short";
  spdlog::warn("{}: {}", settings_.chain, note);
  ctx.set_note("warning: " + note);
}

void EvmSync::run_cycle(WorkerContext& ctx) {
  if (!chain_) {
    validate(ctx);
  }
  const auto wallets = tracked_wallets(ctx);
  const std::uint64_t head = chain_->block_number();
  const std::uint64_t safe = head >= settings_.confirmations ? head - settings_.confirmations : 0;
  const std::string tag = quantity(safe);
  report_heads(ctx, head, safe);

  std::vector<std::string> failures;
  const auto phase = [&](const std::string& name, const auto& fn) {
    if (ctx.stopping()) {
      return;
    }
    try {
      fn();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("{}: {} failed: {}", settings_.chain, name, e.what());
      failures.push_back(name + ": " + e.what());
    }
  };
  if (head >= settings_.confirmations) {
    phase("block scan", [&] { scan_blocks(ctx, wallets, safe); });
    phase("nft backfill", [&] { backfill_nfts(ctx, wallets, safe); });
  }
  phase("wallets", [&] { sync_wallets(ctx, wallets, tag); });
  phase("nft holdings", [&] { sync_holdings(ctx, tag); });
  if (!failures.empty()) {
    std::string all;
    for (const auto& f : failures) {
      all += (all.empty() ? "" : "; ") + f;
    }
    throw std::runtime_error(all);
  }
}

}  // namespace socialai
