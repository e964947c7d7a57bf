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

#include "common/migrate.h"
#include "devnet_process.h"
#include "manager_harness.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/evm/evm_sync.h"

namespace socialai {
namespace {

using nlohmann::json;
using testing::DevnetProcess;
using testing::TestContext;
using Rows = std::set<std::string>;

constexpr int kConfirmations = 3;

class EvmSyncPg : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
  }

  // Starts a devnet and a context configured from its wallet/token/collection list. The last
  // wallet is not in the `wallets` setting but in the wallets table (as Farcaster adds them).
  void start(const std::vector<std::string>& devnet_args = {}, std::uint64_t chain_id = 1,
             const std::string& worker = "ethereum") {
    std::vector<std::string> args = {"--evm-wallets", "14", "--evm-blocks", "70"};
    args.insert(args.end(), devnet_args.begin(), devnet_args.end());
    devnet_ = std::make_unique<DevnetProcess>(args);
    chain_ = std::to_string(chain_id);
    chain_name_ = worker;
    const json info = devnet_->get("/_devnet/evm/" + chain_ + "/info");
    wallets_ = info["wallets"].get<std::vector<std::string>>();
    json configured = wallets_;
    configured.erase(configured.size() - 1);
    json tokens = json::array(), collections = json::array();
    for (const auto& t : info["tokens"]) {
      tokens.push_back(t["address"]);
    }
    for (const auto& c : info["collections"]) {
      collections.push_back(c["address"]);
    }
    sql("INSERT INTO wallets (chain, address, profile_source, profile_external_id) "
        "VALUES ('ethereum', '" +
        wallets_.back() + "', 'farcaster', '42')");
    ctx_ = std::make_unique<TestContext>(*db_, worker);
    ctx_->settings_ = {{"rpc_url", devnet_->url("/evm/" + chain_)},
                       {"chain_id", chain_},
                       {"tokens", tokens.dump()},
                       {"collections", collections.dump()},
                       {"wallets", configured.dump()},
                       {"confirmations", std::to_string(kConfirmations)},
                       {"start_block", "0"},
                       {"batch_size", "16"},
                       {"max_block_range", "25"},
                       {"ens", "true"}};
    sync_ = std::make_unique<EvmSync>();
  }

  pqxx::result sql(const std::string& text) {
    return db_->with_transaction([&](pqxx::work& tx) { return db_->exec(tx, text); });
  }
  Rows rows(const std::string& text) {
    Rows out;
    for (const auto& r : sql(text)) {
      std::string line;
      for (const auto& f : r) {
        line += (f.is_null() ? std::string("NULL") : f.as<std::string>()) + "|";
      }
      out.insert(line);
    }
    return out;
  }
  static std::string text(const json& v) {
    if (v.is_null()) {
      return "NULL";
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
  }

  // Every table the worker writes equals the devnet's truth.
  void expect_truth() {
    const json t = devnet_->get("/_devnet/evm/" + chain_ +
                                "/truth?confirmations=" + std::to_string(kConfirmations));
    const std::string where = " WHERE chain = '" + chain_name_ + "'";
    Rows wallets, tokens, holdings, txs;
    for (const auto& [a, w] : t["wallets"].items()) {
      wallets.insert(a + "|" + text(w["balance"]) + "|" + text(w["ens"]) + "|");
    }
    for (const auto& b : t["token_balances"]) {
      tokens.insert(text(b["address"]) + "|" + text(b["token"]) + "|" + text(b["symbol"]) + "|" +
                    text(b["decimals"]) + "|" + text(b["balance"]) + "|");
    }
    for (const auto& h : t["holdings"]) {
      holdings.insert(text(h["address"]) + "|" + text(h["contract"]) + "|" + text(h["token_id"]) +
                      "|");
    }
    for (const auto& x : t["transactions"]) {
      txs.insert(text(x["hash"]) + "|" + text(x["block_number"]) + "|" + text(x["block_hash"]) +
                 "|" + text(x["from"]) + "|" + text(x["to"]) + "|" + text(x["value"]) + "|" +
                 text(x["status"]) + "|");
    }
    ASSERT_FALSE(txs.empty());
    ASSERT_FALSE(holdings.empty());
    EXPECT_EQ(rows("SELECT address, native_balance::text, ens_name FROM wallets" + where), wallets);
    EXPECT_EQ(
        rows("SELECT address, token, symbol, decimals, balance::text FROM token_balances" + where),
        tokens);
    EXPECT_EQ(rows("SELECT address, contract, token_id FROM nft_holdings" + where), holdings);
    EXPECT_EQ(rows("SELECT hash, block_number, block_hash, from_address, to_address, value::text, "
                   "status FROM chain_transactions" +
                   where),
              txs);
  }

  std::optional<testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
  std::unique_ptr<TestContext> ctx_;
  std::unique_ptr<EvmSync> sync_;
  std::vector<std::string> wallets_;
  std::string chain_, chain_name_;
};

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
        "/evm/1", {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_blockNumber"}, {"params", json::array()}});
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
