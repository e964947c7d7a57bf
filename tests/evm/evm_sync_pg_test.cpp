// EvmSync against the devnet's EVM node and a real PostgreSQL: tables equal the devnet's truth
// (balances, token balances, holdings, transactions, verified ENS names), a reorg is repaired,
// malformed answers fail a cycle without half-writes, a batch-refusing node works, and a wrong
// chain id stops the real binary with a clear message.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "evm_fixture.h"
#include "manager_harness.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/evm/evm_sync.h"

namespace socialai {
namespace {

TEST_F(EvmSyncPg, TablesEqualDevnetTruth) {
  start();
  // An old name for the wallet whose reverse record resolves elsewhere must be cleared.
  sql("INSERT INTO wallets (chain, address, ens_name) VALUES ('ethereum', '" + wallets_[1] +
      "', 'imposter.eth')");
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  expect_truth();
  EXPECT_TRUE(ctx_->failed_.empty()) << ctx_->failed_.front().second;
  // Reverse records exist for wallets 1 (forward points to wallet 2) and 2 (no forward record).
  EXPECT_EQ(rows("SELECT count(*) FROM wallets WHERE ens_name IS NOT NULL AND address IN ('" +
                 wallets_[1] + "', '" + wallets_[2] + "')"),
            Rows{"0|"});
  EXPECT_EQ(rows("SELECT count(*) FROM wallets WHERE ens_name IS NOT NULL"), Rows{"5|"});
  // 2^256 - 1 stored exactly.
  EXPECT_EQ(rows("SELECT count(*) FROM token_balances WHERE balance = 2::numeric ^ 256 - 1"),
            Rows{"1|"});
  // NFT metadata from name()/symbol()/tokenURI().
  EXPECT_EQ(rows("SELECT count(*) FROM nft_holdings WHERE metadata->>'symbol' LIKE 'DVC%' AND "
                 "metadata->>'uri' LIKE 'https://%'"),
            rows("SELECT count(*) FROM nft_holdings"));
  // The table-tracked wallet keeps its profile link.
  EXPECT_EQ(
      rows("SELECT profile_external_id FROM wallets WHERE address = '" + wallets_.back() + "'"),
      Rows{"42|"});

  // New blocks: the next cycle scans only them and still matches.
  devnet_->post("/_devnet/evm/1/mine?blocks=12", json::object());
  sync_->run_cycle(*ctx_);
  expect_truth();
}

TEST_F(EvmSyncPg, TheNoteShowsTheConfirmedHeadAndWarnsOnAChainShorterThanTheDepth) {
  // A quiet dev chain: 5 blocks, the default depth of 12.
  start({"--evm-blocks", "5"});
  ctx_->settings_.erase("confirmations");
  const auto head = [&] {
    const json r = devnet_->post(
        "/evm/1",
        {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_blockNumber"}, {"params", json::array()}});
    return std::stoull(r["result"].get<std::string>(), nullptr, 16);
  };
  const std::uint64_t h0 = head();
  ASSERT_LT(h0, 12u);
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  EXPECT_EQ(ctx_->note(), "warning: chain head " + std::to_string(h0) +
                              " is below the confirmation depth 12: no block is confirmed yet, "
                              "so no block is scanned and balances are read at block 0; lower "
                              "workers.ethereum.confirmations for a chain this short");
  devnet_->post("/_devnet/evm/1/mine?blocks=20", json::object());
  const std::uint64_t h1 = head();
  ASSERT_GE(h1, 12u);
  sync_->run_cycle(*ctx_);
  EXPECT_EQ(ctx_->note(), "confirmed head " + std::to_string(h1 - 12) + " of chain head " +
                              std::to_string(h1) + " (12 confirmations)");
}

TEST_F(EvmSyncPg, InjectedReorgIsRepaired) {
  start();
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  const Rows before = rows("SELECT hash FROM chain_transactions");
  // Deeper than the confirmation depth: confirmed, stored blocks change.
  const json r = devnet_->post("/_devnet/evm/1/reorg?depth=12", json::object());
  const auto first = r["first_replaced"].get<std::int64_t>();
  const Rows orphaned =
      rows("SELECT hash FROM chain_transactions WHERE block_number >= " + std::to_string(first));
  ASSERT_FALSE(orphaned.empty()) << "the reorg must replace stored transactions";
  sync_->run_cycle(*ctx_);
  expect_truth();
  for (const auto& h : orphaned) {
    EXPECT_EQ(rows("SELECT count(*) FROM chain_transactions WHERE hash || '|' = '" + h + "'"),
              Rows{"0|"})
        << h;
  }
  EXPECT_NE(rows("SELECT hash FROM chain_transactions"), before);
}

TEST_F(EvmSyncPg, MalformedAnswersFailTheCycleAndTheNextRecovers) {
  start();
  sync_->validate(*ctx_);
  devnet_->set_faults("evm", 1.0, {"malformed"});
  EXPECT_THROW(sync_->run_cycle(*ctx_), std::exception);
  EXPECT_EQ(rows("SELECT count(*) FROM chain_transactions"), Rows{"0|"});
  EXPECT_EQ(rows("SELECT count(*) FROM sync_state"), Rows{"0|"});
  // Half the answers garbled: whatever a cycle commits is whole; then a clean cycle catches up.
  devnet_->set_faults("evm", 0.5, {"malformed"});
  for (int i = 0; i < 3; ++i) {
    try {
      sync_->run_cycle(*ctx_);
    } catch (const std::exception&) {
    }
  }
  devnet_->set_faults("evm", 0.0);
  sync_->run_cycle(*ctx_);
  expect_truth();
}

TEST_F(EvmSyncPg, NodeWithoutBatchesWorksThroughFallback) {
  start({"--evm-no-batch", "true"});
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  expect_truth();
}

TEST_F(EvmSyncPg, BaseChainUsesItsOwnRows) {
  start({}, 8453, "base");
  ctx_->settings_.erase("chain_id");  // the base default is 8453
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  expect_truth();
  EXPECT_EQ(rows("SELECT count(*) FROM wallets WHERE chain = 'ethereum'"), Rows{"1|"});
  // The address Farcaster verified (chain 'ethereum') is tracked on base with its profile link.
  EXPECT_EQ(rows("SELECT profile_external_id FROM wallets WHERE chain = 'base' AND address = '" +
                 wallets_.back() + "'"),
            Rows{"42|"});
}

TEST_F(EvmSyncPg, WrongChainIdIsADependencyError) {
  start();
  ctx_->settings_["chain_id"] = "5";
  try {
    sync_->validate(*ctx_);
    FAIL() << "validate accepted chain 1 as 5";
  } catch (const DependencyError& e) {
    EXPECT_NE(std::string(e.what()).find("chain id mismatch"), std::string::npos) << e.what();
  }
}

// The real binary: --once exits 1 with the message; without --once it stays up (no crash loop)
// and stops cleanly on SIGTERM.
TEST_F(EvmSyncPg, WrongChainIdStopsTheRealWorker) {
  start();
  const std::string dir = testing::make_temp_dir();
  const json config = {
      {"database", {{"url", schema_->url()}}},
      {"workers",
       {{"ethereum",
         {{"interval_ms", 60000}, {"rpc_url", devnet_->url("/evm/1")}, {"chain_id", 8453}}}}}};
  std::ofstream(dir + "/c.json") << config.dump();
  const auto r =
      testing::run_command({SOCIALAI_ETHEREUM_WORKER_BIN, "--once", "--config", dir + "/c.json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string log = r.out + r.err;
  EXPECT_NE(log.find("chain id mismatch"), std::string::npos) << log;
  EXPECT_NE(log.find("reports chain id 1, configured chain_id is 8453"), std::string::npos) << log;

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cfg = dir + "/c.json";
    execl(SOCIALAI_ETHEREUM_WORKER_BIN, SOCIALAI_ETHEREUM_WORKER_BIN, "--config", cfg.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the worker exited instead of idling";
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(rows("SELECT count(*) FROM chain_transactions"), Rows{"0|"});
  EXPECT_EQ(rows("SELECT count(*) > 0 FROM worker_runs WHERE error LIKE '%chain id mismatch%'"),
            Rows{"t|"});
}

}  // namespace
}  // namespace socialai
