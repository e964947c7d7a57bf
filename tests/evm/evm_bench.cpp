// EVM RPC economy benchmark: JSON-RPC calls and HTTP requests of one steady-state cycle (native
// and ERC-20 balances, verified ENS names, NFT ownership re-checks) for 1,000 wallets, with
// Multicall3 aggregate3 and with plain JSON-RPC batches, against the devnet's EVM node, which
// counts the calls it serves. `--quick`: 100 wallets.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "workers/evm/evm_sync.h"

namespace {

using namespace socialai;
using json = nlohmann::json;

struct Measure {
  std::uint64_t calls = 0, eth_call = 0, balance = 0, http = 0;
  double ms = 0;
};

std::uint64_t delta(const json& a, const json& b, const std::string& key) {
  return b.value(key, std::uint64_t{0}) - a.value(key, std::uint64_t{0});
}

Measure run(const testing::TestSchema& schema, int wallets, bool multicall) {
  testing::DevnetProcess devnet({"--evm-wallets", std::to_string(wallets), "--evm-blocks", "40",
                                 "--evm-nfts", std::to_string(wallets / 4)});
  Db db(schema.url());
  if (!db.connect(nullptr, 3)) {
    throw std::runtime_error("cannot connect to the test database");
  }
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, "TRUNCATE wallets, token_balances, nft_holdings, chain_transactions, sync_state");
  });
  const json info = devnet.get("/_devnet/evm/1/info");
  json tokens = json::array(), collections = json::array();
  for (const auto& t : info["tokens"]) {
    tokens.push_back(t["address"]);
  }
  for (const auto& c : info["collections"]) {
    collections.push_back(c["address"]);
  }
  testing::TestContext ctx(db, "ethereum");
  ctx.settings_ = {
      {"rpc_url", devnet.url("/evm/1")},
      {"tokens", tokens.dump()},
      {"collections", collections.dump()},
      {"wallets", info["wallets"].dump()},
      {"confirmations", "3"},
      {"start_block", "0"},
      {"ens", "true"},
      {"multicall_address", multicall ? "0xcA11bde05977b3631167028862bE2a173976CA11" : "none"}};
  EvmSync sync;
  sync.validate(ctx);
  sync.run_cycle(ctx);  // the first cycle also scans the chain
  const json c0 = devnet.get("/_devnet/evm/1/calls"), s0 = devnet.get("/_devnet/stats")["evm"];
  const auto t0 = bench::Clock::now();
  sync.run_cycle(ctx);
  Measure m;
  m.ms = bench::ms_since(t0);
  const json c1 = devnet.get("/_devnet/evm/1/calls"), s1 = devnet.get("/_devnet/stats")["evm"];
  m.calls = delta(c0, c1, "total");
  m.eth_call = delta(c0, c1, "eth_call");
  m.balance = delta(c0, c1, "eth_getBalance");
  m.http = delta(s0, s1, "requests");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = bench::quick_flag(argc, argv);
  auto schema = bench::bench_schema("evm_bench");
  if (!schema) {
    return 1;
  }
  {
    Db db(schema->url());
    if (!db.connect(nullptr, 3)) {
      return 1;
    }
    apply_migrations(db.conn(), embedded_migrations());
  }
  const int wallets = quick ? 100 : 1000;
  const Measure with = run(*schema, wallets, true), without = run(*schema, wallets, false);
  std::printf(
      "| one steady-state cycle, %d wallets, 3 ERC-20 tokens, ENS, %d NFTs | Multicall3 "
      "aggregate3 | JSON-RPC batches |\n|---|---|---|\n",
      wallets, 2 * (wallets / 4));
  std::printf("| JSON-RPC calls (billed calls) | %llu | %llu |\n",
              static_cast<unsigned long long>(with.calls),
              static_cast<unsigned long long>(without.calls));
  std::printf("| of which eth_call / eth_getBalance | %llu / %llu | %llu / %llu |\n",
              static_cast<unsigned long long>(with.eth_call),
              static_cast<unsigned long long>(with.balance),
              static_cast<unsigned long long>(without.eth_call),
              static_cast<unsigned long long>(without.balance));
  std::printf("| HTTP requests | %llu | %llu |\n", static_cast<unsigned long long>(with.http),
              static_cast<unsigned long long>(without.http));
  std::printf("| cycle time | %.0f ms | %.0f ms |\n", with.ms, without.ms);
  std::printf(
      "\nRatio: %.1fx fewer JSON-RPC calls with Multicall3.\n",
      with.calls ? static_cast<double>(without.calls) / static_cast<double>(with.calls) : 0.0);
  return 0;
}
