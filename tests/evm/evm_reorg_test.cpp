// Reorgs that change holdings or shorten the chain: holdings touched in the rolled-back blocks
// are re-derived from ownerOf, and a chain that got shorter is waited for, not failed on.
#include <gtest/gtest.h>

#include "evm_fixture.h"

namespace socialai {
namespace {

TEST_F(EvmSyncPg, ReorgThatUndoesAnNftMoveRestoresTheHolding) {
  start();
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  // Bob: a tracked wallet holding a token; carol: another tracked wallet.
  const json info = devnet_->get("/_devnet/evm/1/info");
  const json held = truth()["holdings"];
  ASSERT_FALSE(held.empty());
  const std::string bob = held[0]["address"], contract = held[0]["contract"];
  const std::string id = held[0]["token_id"];
  std::size_t collection = 0;
  while (info["collections"][collection]["address"] != contract) {
    ++collection;
  }
  const std::string carol = wallets_[0] == bob ? wallets_[1] : wallets_[0];
  const std::string bob_row = bob + "|" + contract + "|" + id + "|";
  const std::string carol_row = carol + "|" + contract + "|" + id + "|";

  // On a branch that will be orphaned, bob's token goes to carol and is confirmed there.
  const json moved =
      devnet_->post("/_devnet/evm/1/transfer_nft?collection=" + std::to_string(collection) +
                        "&id=" + id + "&to=" + carol,
                    json::object());
  mine(kConfirmations + 2);
  sync_->run_cycle(*ctx_);
  expect_truth();
  ASSERT_EQ(stored_holdings().count(bob_row), 0u);
  ASSERT_EQ(stored_holdings().count(carol_row), 1u);

  // The reorg replaces the block of the move: on the chain now, bob never sent it.
  const std::int64_t depth =
      truth()["head"].get<std::int64_t>() - moved["block"].get<std::int64_t>() + 1;
  devnet_->post("/_devnet/evm/1/reorg?depth=" + std::to_string(depth), json::object());
  sync_->run_cycle(*ctx_);
  expect_truth();
  EXPECT_EQ(stored_holdings().count(bob_row), 1u) << "bob's token " << id << " is lost";
  EXPECT_EQ(stored_holdings().count(carol_row), 0u);
}

TEST_F(EvmSyncPg, ReorgToAShorterChainRollsBackAndWaitsForTheChainToGrow) {
  start();
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  // Twelve blocks replaced by two: the head drops by ten, below what was scanned.
  const json r = devnet_->post("/_devnet/evm/1/reorg?depth=12&length=2", json::object());
  const auto first = r["first_replaced"].get<std::int64_t>();
  const auto safe = r["head"].get<std::int64_t>() - kConfirmations;
  ASSERT_LT(safe, first);
  const Rows orphaned =
      rows("SELECT hash FROM chain_transactions WHERE block_number >= " + std::to_string(first));
  ASSERT_FALSE(orphaned.empty()) << "the reorg must replace stored transactions";
  sync_->run_cycle(*ctx_);  // must not fail with "block N is unknown"
  EXPECT_TRUE(ctx_->failed_.empty());
  EXPECT_EQ(
      rows("SELECT count(*) FROM chain_transactions WHERE block_number > " + std::to_string(safe)),
      Rows{"0|"});
  EXPECT_EQ(stored_transactions(), transaction_rows(truth()));
  // Nothing new to scan until the chain grows; then it catches up.
  sync_->run_cycle(*ctx_);
  mine(15);
  sync_->run_cycle(*ctx_);
  expect_truth();
}

}  // namespace
}  // namespace socialai
