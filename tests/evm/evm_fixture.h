// EvmSyncPg: the fixture of the EVM worker's integration tests: a real devnet EVM node, a real
// PostgreSQL schema and an EvmSync with a TestContext configured from the devnet's info.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/evm/evm_sync.h"

namespace socialai {

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
    const json t = truth();
    const std::string where = " WHERE chain = '" + chain_name_ + "'";
    Rows wallets, tokens;
    for (const auto& [a, w] : t["wallets"].items()) {
      wallets.insert(a + "|" + text(w["balance"]) + "|" + text(w["ens"]) + "|");
    }
    for (const auto& b : t["token_balances"]) {
      tokens.insert(text(b["address"]) + "|" + text(b["token"]) + "|" + text(b["symbol"]) + "|" +
                    text(b["decimals"]) + "|" + text(b["balance"]) + "|");
    }
    const Rows txs = transaction_rows(t), holdings = holding_rows(t);
    ASSERT_FALSE(txs.empty());
    ASSERT_FALSE(holdings.empty());
    EXPECT_EQ(rows("SELECT address, native_balance::text, ens_name FROM wallets" + where), wallets);
    EXPECT_EQ(
        rows("SELECT address, token, symbol, decimals, balance::text FROM token_balances" + where),
        tokens);
    EXPECT_EQ(stored_holdings(), holdings);
    EXPECT_EQ(stored_transactions(), txs);
  }

  // The devnet's truth with the fixture's confirmations, for `only` wallets (default all).
  json truth(const std::vector<std::string>& only = {}) {
    std::string list;
    for (const auto& w : only) {
      list += (list.empty() ? "" : ",") + w;
    }
    return devnet_->get("/_devnet/evm/" + chain_ + "/truth?confirmations=" +
                        std::to_string(kConfirmations) + (list.empty() ? "" : "&wallets=" + list));
  }
  // JSON-RPC calls the devnet served on this chain: total and per method.
  json calls() { return devnet_->get("/_devnet/evm/" + chain_ + "/calls"); }
  json mine(int blocks) {
    return devnet_->post("/_devnet/evm/" + chain_ + "/mine?blocks=" + std::to_string(blocks),
                         json::object());
  }
  // Stored transactions as "hash|block_number|block_hash|from|to|value|status|", and the same
  // rows of a truth document.
  Rows stored_transactions() {
    return rows(
        "SELECT hash, block_number, block_hash, from_address, to_address, value::text, "
        "status FROM chain_transactions WHERE chain = '" +
        chain_name_ + "'");
  }
  static Rows transaction_rows(const json& t) {
    Rows txs;
    for (const auto& x : t["transactions"]) {
      txs.insert(text(x["hash"]) + "|" + text(x["block_number"]) + "|" + text(x["block_hash"]) +
                 "|" + text(x["from"]) + "|" + text(x["to"]) + "|" + text(x["value"]) + "|" +
                 text(x["status"]) + "|");
    }
    return txs;
  }
  static Rows holding_rows(const json& t) {
    Rows holdings;
    for (const auto& h : t["holdings"]) {
      holdings.insert(text(h["address"]) + "|" + text(h["contract"]) + "|" + text(h["token_id"]) +
                      "|");
    }
    return holdings;
  }
  Rows stored_holdings() {
    return rows("SELECT address, contract, token_id FROM nft_holdings WHERE chain = '" +
                chain_name_ + "'");
  }

  std::optional<testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
  std::unique_ptr<TestContext> ctx_;
  std::unique_ptr<EvmSync> sync_;
  std::vector<std::string> wallets_;
  std::string chain_, chain_name_;
};

}  // namespace socialai
