// SolanaSync against the real devnet Solana node and a real PostgreSQL: balances, SPL token
// balances (classic and Token-2022 program), NFT metadata and transactions equal the devnet's truth; a second run writes nothing;
// the `until` cursor fetches only new signatures; hostile metadata and injected faults are
// recorded per item, and the next cycle recovers with nothing half-written.
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/solana/solana_sync.h"

namespace socialai {
namespace {

using nlohmann::json;
using socialai::testing::DevnetProcess;
using socialai::testing::TestContext;

class SolanaSyncTest : public ::testing::Test {
 protected:
  void start(int wallets, int signatures, int hostile = 0, int limit = 7) {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
    devnet_ = std::make_unique<DevnetProcess>(std::vector<std::string>{
        "--solana-wallets", std::to_string(wallets), "--solana-tokens-per-wallet", "3",
        "--solana-nfts-per-wallet", "2", "--solana-signatures-per-wallet",
        std::to_string(signatures), "--solana-hostile-metadata", std::to_string(hostile)});
    ctx_ = std::make_unique<TestContext>(*db_, "solana");
    ctx_->settings_["rpc_url"] = devnet_->url("/solana");
    const json w = devnet_->get("/_devnet/solana/wallets");
    // Half from the setting, half as wallets rows (as the Farcaster worker adds them).
    json configured = json::array();
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (i % 2 == 0) {
        configured.push_back(w[i]);
      } else {
        sql("INSERT INTO wallets (chain, address, profile_source, profile_external_id) VALUES "
            "('solana', '" + w[i].get<std::string>() + "', 'farcaster', '" + std::to_string(i) +
            "')");
      }
    }
    ctx_->settings_["wallets"] = configured.dump();
    ctx_->settings_["signatures_limit"] = std::to_string(limit);
    ctx_->settings_["batch_size"] = "10";
  }

  pqxx::result sql(const std::string& text) {
    return db_->with_transaction([&](pqxx::work& tx) { return db_->exec(tx, text); });
  }

  json truth() { return devnet_->get("/_devnet/solana/truth"); }
  json calls() { return devnet_->get("/_devnet/solana/calls"); }

  // Every row the worker writes, with updated_at, as one comparable text per row.
  std::multiset<std::string> snapshot() {
    std::multiset<std::string> rows;
    for (const char* q :
         {"SELECT w::text FROM wallets w", "SELECT t::text FROM token_balances t",
          "SELECT n::text FROM nft_holdings n", "SELECT c::text FROM chain_transactions c",
          "SELECT s::text FROM sync_state s"}) {
      for (const auto& r : sql(q)) {
        rows.insert(r[0].as<std::string>());
      }
    }
    return rows;
  }

  // Asserts the database equals the devnet's truth for every wallet.
  void expect_matches(const json& t) {
    std::map<std::string, std::string> balances;
    for (const auto& r : sql("SELECT address, native_balance::text FROM wallets WHERE chain = "
                             "'solana'")) {
      balances[r[0].as<std::string>()] = r[1].is_null() ? "NULL" : r[1].as<std::string>();
    }
    std::set<std::string> want_tokens, got_tokens, want_nfts, got_nfts, want_txs, got_txs;
    for (const auto& w : t["wallets"]) {
      const std::string a = w["address"];
      EXPECT_EQ(balances[a], std::to_string(w["lamports"].get<std::uint64_t>())) << a;
      for (const auto& h : w["token_accounts"]) {
        want_tokens.insert(a + " " + h["mint"].get<std::string>() + " " +
                           h["amount"].get<std::string>() + " " +
                           std::to_string(h["decimals"].get<int>()));
      }
      for (const auto& n : w["nfts"]) {
        want_nfts.insert(a + " " + n["mint"].get<std::string>() + " " + n["metadata"].dump());
      }
    }
    for (const auto& r : sql("SELECT address, token, balance::text, decimals FROM token_balances "
                             "WHERE chain = 'solana'")) {
      got_tokens.insert(r[0].as<std::string>() + " " + r[1].as<std::string>() + " " +
                        r[2].as<std::string>() + " " + r[3].as<std::string>());
    }
    for (const auto& r : sql("SELECT address, contract, token_id, metadata::text FROM "
                             "nft_holdings WHERE chain = 'solana'")) {
      EXPECT_EQ(r[1].as<std::string>(), r[2].as<std::string>());
      const json m = r[3].is_null() ? json() : json::parse(r[3].as<std::string>());
      got_nfts.insert(r[0].as<std::string>() + " " + r[1].as<std::string>() + " " + m.dump());
    }
    for (const auto& x : t["transactions"]) {
      want_txs.insert(x["signature"].get<std::string>() + " " +
                      std::to_string(x["slot"].get<std::int64_t>()) + " " +
                      std::to_string(x["block_time"].get<std::int64_t>()) + " " +
                      x["fee_payer"].get<std::string>() + " " + x["to"].get<std::string>() + " " +
                      x["value"].get<std::string>() + " " + x["status"].get<std::string>());
    }
    for (const auto& r : sql("SELECT hash, block_number, extract(epoch FROM block_time)::bigint, "
                             "from_address, to_address, value::text, status FROM "
                             "chain_transactions WHERE chain = 'solana'")) {
      got_txs.insert(r[0].as<std::string>() + " " + r[1].as<std::string>() + " " +
                     r[2].as<std::string>() + " " + r[3].as<std::string>() + " " +
                     r[4].as<std::string>() + " " + r[5].as<std::string>() + " " +
                     r[6].as<std::string>());
    }
    EXPECT_EQ(got_tokens, want_tokens);
    EXPECT_EQ(got_nfts, want_nfts);
    EXPECT_EQ(got_txs, want_txs);
    // Cursors: the newest signature of every wallet.
    for (const auto& w : t["wallets"]) {
      const auto r = sql("SELECT cursor FROM sync_state WHERE worker = 'solana' AND key = "
                         "'signatures:" + w["address"].get<std::string>() + "'");
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0][0].as<std::string>(), w["signatures"][0].get<std::string>());
    }
  }

  std::optional<testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
  std::unique_ptr<TestContext> ctx_;
  SolanaSync sync_;
};

TEST_F(SolanaSyncTest, FullSyncMatchesTruth) {
  start(6, 20);
  ASSERT_NO_THROW(sync_.validate(*ctx_));
  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty()) << ctx_->failed_.front().first << ": "
                                     << ctx_->failed_.front().second;
  EXPECT_EQ(ctx_->items_ok_, 6);
  const json t = truth();
  expect_matches(t);
  // Every transaction was fetched once; pages of 7 covered each wallet's history.
  const json c = calls();
  EXPECT_EQ(c["methods"]["getTransaction"].get<int>(), [&] {
    int n = 0;
    for (const auto& w : t["wallets"]) n += static_cast<int>(w["signatures"].size());
    return n;
  }());
  EXPECT_EQ(c["methods"]["getAccountInfo"].get<int>(), 12);  // 2 NFTs x 6 wallets
  // The Farcaster-linked rows kept their profile link.
  EXPECT_EQ(sql("SELECT count(*) FROM wallets WHERE profile_source = 'farcaster'")[0][0].as<int>(),
            3);
}

TEST_F(SolanaSyncTest, SecondRunWritesNothingAndUntilFetchesOnlyNewSignatures) {
  start(4, 15);
  sync_.run_cycle(*ctx_);
  ASSERT_TRUE(ctx_->failed_.empty());
  const auto first = snapshot();
  const json c1 = calls();
  auto requests = [&] { return devnet_->get("/_devnet/stats")["solana"]["requests"].get<int>(); };
  const int r1 = requests();

  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  EXPECT_EQ(snapshot(), first);  // updated_at included: not a single row rewritten
  EXPECT_EQ(requests() - r1, 1);  // nothing new: one batch for the whole chunk of 4 wallets
  const json c2 = calls();
  EXPECT_EQ(c2["methods"]["getTransaction"], c1["methods"]["getTransaction"]);
  EXPECT_EQ(c2["methods"]["getAccountInfo"], c1["methods"]["getAccountInfo"]);  // metadata kept
  EXPECT_EQ(c2["signatures_returned"], c1["signatures_returned"]);

  // Three new transfers paid by every wallet; some also reach other tracked wallets.
  devnet_->post("/_devnet/solana/grow", {{"signatures", 3}});
  const json t = truth();
  std::set<std::string> fresh;
  for (const auto& w : t["wallets"]) {
    const std::string cursor =
        sql("SELECT cursor FROM sync_state WHERE key = 'signatures:" +
            w["address"].get<std::string>() + "'")[0][0].as<std::string>();
    for (const auto& s : w["signatures"]) {
      if (s == cursor) break;
      fresh.insert(s.get<std::string>());
    }
  }
  EXPECT_GE(fresh.size(), 12u);
  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  expect_matches(t);
  const json c3 = calls();
  // Only the new signatures were listed and fetched (a transfer between two tracked wallets is
  // listed for both, and fetched for both).
  std::int64_t listed = 0;
  for (const auto& w : t["wallets"]) {
    const std::string a = w["address"];
    for (const auto& s : w["signatures"]) {
      if (fresh.count(s.get<std::string>())) ++listed;
    }
  }
  EXPECT_EQ(c3["signatures_returned"].get<std::int64_t>() - c2["signatures_returned"].get<std::int64_t>(),
            listed);
  EXPECT_EQ(c3["methods"]["getTransaction"].get<std::int64_t>() -
                c2["methods"]["getTransaction"].get<std::int64_t>(),
            listed);
}

TEST_F(SolanaSyncTest, TokenAccountsNoLongerHeldAreRemoved) {
  start(3, 4);
  sync_.run_cycle(*ctx_);
  // 3 x (3 + 2 NFTs + 1 Token-2022)
  ASSERT_EQ(sql("SELECT count(*) FROM token_balances")[0][0].as<int>(), 18);
  // Each wallet gives up its first three token accounts (the classic fungible ones).
  devnet_->post("/_devnet/solana/grow", {{"signatures", 0}, {"drop_holdings", 3}});
  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  expect_matches(truth());
  EXPECT_EQ(sql("SELECT count(*) FROM token_balances")[0][0].as<int>(), 9);
  devnet_->post("/_devnet/solana/grow", {{"signatures", 0}, {"drop_holdings", 1}});
  sync_.run_cycle(*ctx_);
  expect_matches(truth());
  EXPECT_EQ(sql("SELECT count(*) FROM nft_holdings")[0][0].as<int>(), 3);
}

TEST_F(SolanaSyncTest, Token2022BalancesAreStoredBesideClassicOnes) {
  start(4, 2);
  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  const json t = truth();
  expect_matches(t);
  std::set<std::string> want;
  for (const auto& w : t["wallets"]) {
    for (const auto& h : w["token_accounts"]) {
      if (h["program"] == "spl-token-2022") {
        want.insert(w["address"].get<std::string>() + " " + h["mint"].get<std::string>() + " " +
                    h["amount"].get<std::string>());
      }
    }
  }
  ASSERT_EQ(want.size(), 4u);  // one Token-2022 account per wallet
  std::set<std::string> got;
  for (const auto& r : sql("SELECT address, token, balance::text FROM token_balances WHERE "
                           "chain = 'solana'")) {
    const std::string row = r[0].as<std::string>() + " " + r[1].as<std::string>() + " " +
                            r[2].as<std::string>();
    if (want.count(row) != 0) {
      got.insert(row);
    }
  }
  EXPECT_EQ(got, want);
  // One query per program and wallet, in the chunk's single first batch.
  EXPECT_EQ(calls()["methods"]["getTokenAccountsByOwner"].get<int>(), 8);
}

TEST_F(SolanaSyncTest, HostileMetadataFailsOnlyThatNft) {
  start(3, 3, /*hostile=*/3);
  sync_.run_cycle(*ctx_);
  const json t = truth();
  std::map<std::string, int> hostile;
  for (const auto& w : t["wallets"]) {
    for (const auto& n : w["nfts"]) {
      if (n["hostile"].get<int>() != 0) hostile[n["mint"]] = n["hostile"];
    }
  }
  ASSERT_EQ(hostile.size(), 3u);
  std::map<std::string, std::string> errors;
  for (const auto& [ref, error] : ctx_->failed_) {
    errors[ref] = error;
  }
  ASSERT_EQ(errors.size(), 3u);
  for (const auto& [mint, kind] : hostile) {
    const std::string e = errors["nft:" + mint];
    static const char* const kCause[] = {"", "truncated", "name length",
                                         "no Metaplex metadata account"};
    EXPECT_NE(e.find(kCause[kind]), std::string::npos) << e;
  }
  EXPECT_EQ(ctx_->items_ok_, 3);  // every wallet still synced
  expect_matches(t);              // hostile NFTs are held with metadata NULL
  // Retried (and failing the same way) next cycle, never a crash.
  ctx_->failed_.clear();
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->failed_.size(), 3u);
}

TEST_F(SolanaSyncTest, InjectedFaultsAreRecordedAndTheNextCycleRecovers) {
  start(5, 10, 0, 4);
  devnet_->post("/_devnet/faults", {{"service", "solana"},
                                    {"rate", 0.2},
                                    {"retry_after_s", 0},
                                    {"kinds", {"429", "5xx", "truncate", "malformed"}}});
  const json t0 = truth();
  std::map<std::string, std::vector<std::string>> history;  // wallet -> signatures, newest first
  for (const auto& w : t0["wallets"]) {
    history[w["address"]] = w["signatures"].get<std::vector<std::string>>();
  }
  int failures = 0;
  for (int cycle = 0; cycle < 4; ++cycle) {
    ctx_->failed_.clear();
    sync_.run_cycle(*ctx_);
    failures += static_cast<int>(ctx_->failed_.size());
    for (const auto& [ref, error] : ctx_->failed_) {
      EXPECT_EQ(ref.rfind("wallet:", 0), 0u) << ref;
      EXPECT_FALSE(error.empty());
    }
    // Nothing half-written: a wallet with a cursor has every transaction up to it.
    for (const auto& [wallet, sigs] : history) {
      const auto r = sql("SELECT cursor FROM sync_state WHERE key = 'signatures:" + wallet + "'");
      if (r.empty()) continue;
      const std::string cursor = r[0][0].as<std::string>();
      bool reached = false;
      for (const auto& s : sigs) {
        reached = reached || s == cursor;
        if (reached) {
          EXPECT_EQ(sql("SELECT count(*) FROM chain_transactions WHERE hash = '" + s + "'")[0][0]
                        .as<int>(),
                    1)
              << "cycle " << cycle << " wallet " << wallet;
        }
      }
      EXPECT_TRUE(reached);
    }
  }
  EXPECT_GT(failures, 0) << "20% faults should have failed some wallet";
  devnet_->set_faults("solana", 0.0);
  ctx_->failed_.clear();
  sync_.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  expect_matches(truth());
}

TEST_F(SolanaSyncTest, BadSettingsAndWalletsAreClearErrors) {
  start(2, 2);
  ctx_->settings_["wallets"] = "not-a-wallet, 0OIl";
  sync_.run_cycle(*ctx_);
  std::set<std::string> refs;
  for (const auto& [ref, error] : ctx_->failed_) refs.insert(ref);
  EXPECT_TRUE(refs.count("wallet:not-a-wallet"));
  EXPECT_TRUE(refs.count("wallet:0OIl"));
  EXPECT_EQ(ctx_->items_ok_, 1);  // the wallets row still synced
  ctx_->settings_["commitment"] = "processed";
  EXPECT_THROW(sync_.run_cycle(*ctx_), DependencyError);
  ctx_->settings_["commitment"] = "finalized";
  ctx_->settings_["rpc_url"] = devnet_->url("/nothing-here");
  EXPECT_THROW(sync_.validate(*ctx_), DependencyError);
}

}  // namespace
}  // namespace socialai
