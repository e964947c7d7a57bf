// NFTs of a wallet added after the scan has passed its receipts: the next cycle backfills them
// from Transfer logs since nft_backfill_from_block, verified with ownerOf.
#include <gtest/gtest.h>

#include "evm_fixture.h"

namespace socialai {
namespace {

class EvmBackfill : public EvmSyncPg {
 protected:
  // Starts with the owner of the first truth holding (not the table wallet) left out of the
  // `wallets` setting; returns it.
  std::string start_without_a_holder(const std::vector<std::string>& devnet_args) {
    start(devnet_args);
    const json t = truth();
    for (const auto& h : t["holdings"]) {
      if (h["address"] != wallets_.back()) {
        late_ = h["address"];
        break;
      }
    }
    json configured = json::array();
    for (std::size_t i = 0; i + 1 < wallets_.size(); ++i) {
      if (wallets_[i] != late_) {
        configured.push_back(wallets_[i]);
      }
    }
    ctx_->settings_["wallets"] = configured.dump();
    return late_;
  }
  Rows held_by(const std::string& w) {
    return rows("SELECT contract, token_id FROM nft_holdings WHERE address = '" + w + "'");
  }
  std::string late_;
};

TEST_F(EvmBackfill, AWalletAddedLaterGetsItsNfts) {
  // A node that refuses eth_getLogs over more than 10 blocks: the backfill's one wide query
  // is halved.
  const std::string late = start_without_a_holder({"--evm-max-log-range", "10"});
  ASSERT_FALSE(late.empty());
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  ASSERT_TRUE(held_by(late).empty());
  // The scan is past its receipts (the devnet mints in the first half of the chain); then it
  // becomes tracked, as the Farcaster worker adds verified addresses.
  sql("INSERT INTO wallets (chain, address) VALUES ('ethereum', '" + late + "')");
  mine(2);
  sync_->run_cycle(*ctx_);
  EXPECT_FALSE(held_by(late).empty());
  EXPECT_EQ(stored_holdings(), holding_rows(truth()));
  EXPECT_TRUE(ctx_->failed_.empty());
}

TEST_F(EvmBackfill, StartsAtNftBackfillFromBlock) {
  const std::string late = start_without_a_holder({});
  // Past every mint and transfer: nothing of the late wallet to find.
  ctx_->settings_["nft_backfill_from_block"] = std::to_string(truth()["safe"].get<int>());
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);
  sql("INSERT INTO wallets (chain, address) VALUES ('ethereum', '" + late + "')");
  sync_->run_cycle(*ctx_);
  EXPECT_TRUE(held_by(late).empty());
}

}  // namespace
}  // namespace socialai
