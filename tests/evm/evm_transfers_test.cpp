// Transactions "involving" a wallet: token transfers to or from it in a transaction someone
// else sent count as its transactions; eth_getLogs ranges the node refuses are halved.
#include <iostream>

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "common/json_rpc.h"
#include "evm_fixture.h"
#include "workers/evm/evm_chain.h"

namespace socialai {
namespace {

TEST_F(EvmSyncPg, TransfersMadeByOthersAreTheWalletsTransactions) {
  // A node that refuses eth_getLogs over more than 6 blocks or with more than 4 results.
  start({"--evm-max-log-range", "6", "--evm-max-log-results", "4"});
  // The wallet with the most transactions it is neither the sender nor the recipient of.
  std::string wallet;
  json expected;
  std::size_t most = 0;
  for (const auto& w : wallets_) {
    const json t = truth({w});
    std::size_t n = 0;
    for (const auto& x : t["transactions"]) {
      n += x["from"] != w && x["to"] != w ? 1 : 0;
    }
    if (n > most) {
      most = n;
      wallet = w;
      expected = t;
    }
  }
  ASSERT_FALSE(wallet.empty());
  const json info = devnet_->get("/_devnet/evm/1/info");
  std::size_t erc20 = 0, erc721 = 0;
  for (const auto& x : expected["transactions"]) {
    if (x["from"] == wallet || x["to"] == wallet) {
      continue;
    }
    for (const auto& t : info["tokens"]) {
      erc20 += x["to"] == t["address"] ? 1 : 0;
    }
    for (const auto& c : info["collections"]) {
      erc721 += x["to"] == c["address"] ? 1 : 0;
    }
  }
  ASSERT_GT(erc20, 0u) << "the devnet must have ERC-20 transfers of " << wallet << " by others";
  // Only this wallet is tracked.
  sql("DELETE FROM wallets");
  ctx_->settings_["wallets"] = json::array({wallet}).dump();
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  const Rows want = transaction_rows(expected);
  EXPECT_EQ(stored_transactions(), want)
      << wallet << ": " << want.size() << " transactions, " << erc20 << " ERC-20 and " << erc721
      << " ERC-721 transfers made by others";
  EXPECT_EQ(stored_holdings(), holding_rows(expected));
  std::cout << wallet << ": " << want.size() << " transactions, " << erc20 << " ERC-20 and "
            << erc721 << " ERC-721 transfers made by others\n";
}

TEST_F(EvmSyncPg, RefusedLogRangesAreHalved) {
  // The same chain twice: one node refuses wide or large eth_getLogs, the other answers all.
  start({"--evm-max-log-range", "5", "--evm-max-log-results", "8"});
  DevnetProcess open({"--evm-wallets", "14", "--evm-blocks", "70"});
  HttpClient http;
  JsonRpcClient strict_rpc(http, devnet_->url("/evm/1")), open_rpc(http, open.url("/evm/1"));
  evm::EvmChain strict(strict_rpc, 16), reference(open_rpc, 16);
  const std::uint64_t head = reference.block_number();
  const json filter = {{"topics", json::array({"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11"
                                               "628f55a4df523b3ef"})}};
  json whole = filter;
  whole["fromBlock"] = "0x0";
  whole["toBlock"] = "latest";
  const auto want = reference.logs(whole);
  ASSERT_GT(want.size(), 10u);
  EXPECT_THROW(strict.logs(whole), JsonRpcError);
  const auto got = strict.logs_in_range(filter, 0, head, 1000);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tx_hash, want[i].tx_hash) << i;
    EXPECT_EQ(got[i].topics, want[i].topics) << i;
  }
  // More than the cap in one block cannot be split: the node's error comes through.
  DevnetProcess tiny({"--evm-wallets", "14", "--evm-blocks", "70", "--evm-max-log-results", "0"});
  JsonRpcClient tiny_rpc(http, tiny.url("/evm/1"));
  evm::EvmChain tiny_chain(tiny_rpc, 16);
  EXPECT_THROW(tiny_chain.logs_in_range(filter, 0, head, 1000), JsonRpcError);
}

}  // namespace
}  // namespace socialai
