// JsonRpcClient (src/common/json_rpc.h) against the devnet's EVM node: single calls, batches
// split by max_batch, error objects per call, malformed answers, and the single-call fallback
// for a node that refuses batches.
#include <gtest/gtest.h>

#include "common/http_client.h"
#include "common/json_rpc.h"
#include "devnet_process.h"

namespace socialai {
namespace {

using nlohmann::json;
using testing::DevnetProcess;

HttpClient::Options quick_http() {
  HttpClient::Options o;
  o.max_retries = 0;
  return o;
}

TEST(JsonRpcClient, CallsAndErrorObjects) {
  DevnetProcess devnet;
  HttpClient http(quick_http());
  JsonRpcClient rpc(http, devnet.url("/evm/8453"));
  EXPECT_EQ(rpc.call("eth_chainId"), "0x2105");
  EXPECT_EQ(rpc.call("net_version"), "8453");
  try {
    rpc.call("eth_noSuchMethod");
    FAIL() << "no error";
  } catch (const JsonRpcError& e) {
    EXPECT_EQ(e.code(), -32601);
    EXPECT_EQ(e.method(), "eth_noSuchMethod");
  }
  try {
    rpc.call("eth_getBalance", json::array({"0x1234", "latest"}));
    FAIL() << "no error";
  } catch (const JsonRpcError& e) {
    EXPECT_EQ(e.code(), -32602);
  }
}

TEST(JsonRpcClient, BatchesKeepOrderAndPerCallErrors) {
  DevnetProcess devnet;
  HttpClient http(quick_http());
  JsonRpcClient rpc(http, devnet.url("/evm/1"));
  std::vector<JsonRpcCall> calls;
  for (int i = 0; i < 7; ++i) {
    calls.push_back({"eth_getBlockByNumber", json::array({"0x" + std::to_string(i), false})});
  }
  calls.insert(calls.begin() + 3, JsonRpcCall{"eth_bogus", json::array()});
  const auto before = devnet.get("/_devnet/stats");
  const auto results = rpc.batch(calls, 3);  // 8 calls in 3 batches
  ASSERT_EQ(results.size(), 8u);
  EXPECT_TRUE(rpc.batches_supported());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i == 3) {
      ASSERT_FALSE(results[i].ok());
      EXPECT_EQ(results[i].error->code(), -32601);
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i;
    const int n = static_cast<int>(i < 3 ? i : i - 1);
    EXPECT_EQ(results[i].result["number"], "0x" + std::to_string(n));
  }
  const auto after = devnet.get("/_devnet/stats");
  EXPECT_EQ(after["evm"]["requests"].get<int>() -
                before.value("evm", json::object()).value("requests", 0),
            3);
}

TEST(JsonRpcClient, NoBatchNodeFallsBackToSingleCalls) {
  DevnetProcess devnet({"--evm-no-batch", "true"});
  HttpClient http(quick_http());
  JsonRpcClient rpc(http, devnet.url("/evm/1"));
  const auto results = rpc.batch({{"eth_chainId", json::array()},
                                  {"eth_blockNumber", json::array()},
                                  {"eth_bogus", json::array()}});
  EXPECT_FALSE(rpc.batches_supported());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result, "0x1");
  EXPECT_TRUE(results[1].result.is_string());
  ASSERT_FALSE(results[2].ok());
  EXPECT_EQ(results[2].error->code(), -32601);
}

TEST(JsonRpcClient, MalformedAnswersAreTransportErrors) {
  DevnetProcess devnet;
  HttpClient http(quick_http());
  JsonRpcClient rpc(http, devnet.url("/evm/1"));
  devnet.set_faults("evm", 1.0, {"malformed"});
  EXPECT_THROW(rpc.call("eth_chainId"), JsonRpcTransportError);
  EXPECT_THROW(rpc.batch({{"eth_chainId", json::array()}, {"eth_blockNumber", json::array()}}),
               JsonRpcTransportError);
  EXPECT_TRUE(rpc.batches_supported()) << "a garbled answer is not a refusal of batches";
  devnet.set_faults("evm", 0.0);
  EXPECT_EQ(rpc.call("eth_chainId"), "0x1");
}

}  // namespace
}  // namespace socialai
