// Multicall3: balance, token and ENS lookups packed into aggregate3 eth_calls (100 lookups in
// one call), counted by the devnet; without a Multicall3 (no code, or a contract that reverts)
// the worker falls back to JSON-RPC batches with the same tables.
#include "workers/evm/evm_multicall.h"

#include <gtest/gtest.h>

#include "evm_fixture.h"
#include "workers/evm/evm_codec.h"

namespace socialai {
namespace {

// JSON-RPC calls of `method` served between two /calls snapshots.
std::uint64_t delta(const json& before, const json& after, const std::string& method) {
  return after.value(method, std::uint64_t{0}) - before.value(method, std::uint64_t{0});
}

TEST(EvmMulticallAbi, SelectorsMatchThePublishedOnes) {
  // The devnet hard-codes these; the worker derives them with Keccak-256.
  EXPECT_EQ(evm::selector("aggregate3((address,bool,bytes)[])"), "0x82ad56cb");
  EXPECT_EQ(evm::selector("getEthBalance(address)"), "0x4d2301cc");
  EXPECT_THROW(evm::decode_aggregate3("0x", 1), evm::AbiError);
  // Two results: (true, 0x1234), (false, 0x); a length claiming more data than there is fails.
  const std::string two = "0x" + evm::word_uint(32) + evm::word_uint(2) + evm::word_uint(64) +
                          evm::word_uint(192) + evm::word_uint(1) + evm::word_uint(64) +
                          evm::word_uint(2) + "1234" + std::string(60, '0') + evm::word_uint(0) +
                          evm::word_uint(64) + evm::word_uint(0);
  const auto r = evm::decode_aggregate3(two, 2);
  EXPECT_EQ(r[0], std::make_pair(true, std::string("0x1234")));
  EXPECT_EQ(r[1], std::make_pair(false, std::string("0x")));
  EXPECT_THROW(evm::decode_aggregate3(two, 3), evm::AbiError);
  std::string hostile = two;
  hostile.replace(2 + 64 * 6, 64, evm::word_uint(1000));
  EXPECT_THROW(evm::decode_aggregate3(hostile, 2), evm::AbiError);
}

TEST_F(EvmSyncPg, HundredBalanceLookupsCostOneCall) {
  start({"--evm-wallets", "100"});
  sql("DELETE FROM wallets");
  ctx_->settings_["wallets"] = json(wallets_).dump();
  ctx_->settings_["tokens"] = "[]";
  ctx_->settings_["collections"] = "[]";
  ctx_->settings_["ens"] = "false";
  ctx_->settings_["batch_size"] = "100";
  sync_->validate(*ctx_);
  sync_->run_cycle(*ctx_);  // the scan, and the eth_getCode check of Multicall3
  const json before = calls();
  sync_->run_cycle(*ctx_);
  const json after = calls();
  EXPECT_EQ(delta(before, after, "eth_call"), 1u);
  EXPECT_EQ(delta(before, after, "eth_getBalance"), 0u);
  EXPECT_EQ(rows("SELECT count(*) FROM wallets WHERE native_balance IS NOT NULL"), Rows{"100|"});
  const json t = truth();
  for (const auto& [a, w] : t["wallets"].items()) {
    ASSERT_EQ(rows("SELECT native_balance::text FROM wallets WHERE address = '" + a + "'"),
              Rows{w["balance"].get<std::string>() + "|"});
  }
}

TEST_F(EvmSyncPg, MulticallAndBatchFallbackGiveTheSameTables) {
  // One full cycle's eth_call + eth_getBalance count (after a first cycle), on a fresh schema,
  // with the tables checked against the truth.
  const auto run = [&](const std::vector<std::string>& devnet_args,
                       const std::optional<std::string>& multicall) {
    sync_.reset();
    ctx_.reset();
    db_.reset();
    schema_.reset();
    EXPECT_TRUE(socialai::testing::open_migrated_schema(schema_, db_));
    start(devnet_args);
    ctx_->settings_["batch_size"] = "100";
    if (multicall) {
      ctx_->settings_["multicall_address"] = *multicall;
    }
    sync_->validate(*ctx_);
    sync_->run_cycle(*ctx_);
    const json before = calls();
    sync_->run_cycle(*ctx_);
    const json after = calls();
    expect_truth();
    EXPECT_TRUE(ctx_->failed_.empty()) << ctx_->failed_.front().second;
    return delta(before, after, "eth_call") + delta(before, after, "eth_getBalance");
  };
  const std::uint64_t packed = run({}, std::nullopt);
  // 14 wallets x (1 + 3 tokens) + 6 token metadata + 4 ENS stages + NFT checks: one aggregate3
  // per phase and stage.
  EXPECT_LE(packed, 8u);
  // No Multicall3 on the node (eth_getCode is empty): JSON-RPC batches.
  const std::uint64_t plain = run({"--evm-no-multicall", "true"}, std::nullopt);
  EXPECT_GT(plain, 10 * packed) << "multicall " << packed << ", batches " << plain;
  // A contract that reverts aggregate3 (a token): the same fallback after the first try.
  const json info = devnet_->get("/_devnet/evm/1/info");
  EXPECT_EQ(run({}, info["tokens"][0]["address"].get<std::string>()), plain);
  // Multicall3 switched off by the setting.
  EXPECT_EQ(run({}, std::string("none")), plain);
}

}  // namespace
}  // namespace socialai
