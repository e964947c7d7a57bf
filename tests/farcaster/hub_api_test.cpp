// Hub wire parsing on fixture bodies in both dialects' forms (no network, no database).
#include <gtest/gtest.h>

#include "workers/farcaster/farcaster_sync.h"
#include "workers/farcaster/hub_api.h"

namespace socialai::farcaster {
namespace {

TEST(HubApi, ParsesCastAddAndBase64CastRemove) {
  const Page p = parse_page(R"({"messages":[
    {"data":{"type":"MESSAGE_TYPE_CAST_ADD","fid":2,"timestamp":100,"network":"FARCASTER_NETWORK_MAINNET",
     "castAddBody":{"text":"hi","mentions":[3],"mentionsPositions":[0],"embeds":[{"url":"https://x.y"}],
     "parentCastId":{"fid":1,"hash":"0xAB00000000000000000000000000000000000001"},"parentUrl":null}},
     "hash":"0x00000000000000000000000000000000000000ff","hashScheme":"HASH_SCHEME_BLAKE3"},
    {"data":{"type":"MESSAGE_TYPE_CAST_REMOVE","fid":2,"timestamp":101,
     "castRemoveBody":{"targetHash":"AAAAAAAAAAAAAAAAAAAAAAAAAP8="}},
     "hash":"0x00000000000000000000000000000000000000fe"}],"nextPageToken":""})");
  ASSERT_EQ(p.casts.size(), 1u);
  EXPECT_EQ(p.casts[0].hash, "0x00000000000000000000000000000000000000ff");
  EXPECT_EQ(p.casts[0].unix_ts, 100 + kFarcasterEpoch);
  EXPECT_EQ(p.casts[0].parent_hash.value(), "0xab00000000000000000000000000000000000001");
  EXPECT_FALSE(p.casts[0].parent_url.has_value());
  ASSERT_EQ(p.removed_casts.size(), 1u);
  EXPECT_EQ(p.removed_casts[0], "0x00000000000000000000000000000000000000ff");
  EXPECT_TRUE(p.next_page_token.empty());
}

TEST(HubApi, ReadsSolanaAddressesInHexOrBase58AndReactionTypeForms) {
  const Page p = parse_page(R"({"messages":[
    {"data":{"type":"MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS","fid":1,"timestamp":1,
     "verificationAddAddressBody":{"address":"0x0000000000000000000000000000000000000000000000000000000000000001","protocol":"PROTOCOL_SOLANA"}},"hash":"0x0000000000000000000000000000000000000001"},
    {"data":{"type":"MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS","fid":1,"timestamp":1,
     "verificationAddAddressBody":{"address":"0xAbCdEf0000000000000000000000000000000001","protocol":"PROTOCOL_ETHEREUM"}},"hash":"0x0000000000000000000000000000000000000002"},
    {"data":{"type":"MESSAGE_TYPE_REACTION_ADD","fid":1,"timestamp":1,
     "reactionBody":{"type":2,"targetCastId":{"fid":1,"hash":"0x0000000000000000000000000000000000000003"}}},"hash":"0x0000000000000000000000000000000000000004"}],
    "nextPageToken":"abc"})");
  ASSERT_EQ(p.wallets.size(), 2u);
  EXPECT_EQ(p.wallets[0].chain, "solana");
  EXPECT_EQ(p.wallets[0].address, "11111111111111111111111111111112");
  EXPECT_EQ(p.wallets[1].address, "0xabcdef0000000000000000000000000000000001");
  ASSERT_EQ(p.reactions.size(), 1u);
  EXPECT_EQ(p.reactions[0].kind, "recast");
  EXPECT_EQ(p.next_page_token, "abc");
}

TEST(HubApi, ReactionsToUrlsKeepTheUrl) {
  const Page p = parse_page(R"({"messages":[
    {"data":{"type":"MESSAGE_TYPE_REACTION_ADD","fid":7,"timestamp":5,
     "reactionBody":{"type":"REACTION_TYPE_RECAST","targetUrl":"chain://eip155:1/erc721:0x5a0000000000000000000000000000000000000b/42"}},
     "hash":"0x0000000000000000000000000000000000000005"},
    {"data":{"type":"MESSAGE_TYPE_REACTION_ADD","fid":7,"timestamp":6,
     "reactionBody":{"type":"REACTION_TYPE_LIKE","targetUrl":"https://warpcast.com/~/channel/base"}},
     "hash":"0x0000000000000000000000000000000000000006"},
    {"data":{"type":"MESSAGE_TYPE_REACTION_ADD","fid":7,"timestamp":7,
     "reactionBody":{"type":"REACTION_TYPE_LIKE"}},"hash":"0x0000000000000000000000000000000000000007"}],
    "nextPageToken":""})");
  ASSERT_EQ(p.reactions.size(), 2u);  // the one without a target is not stored
  EXPECT_EQ(p.reactions[0].kind, "recast");
  EXPECT_EQ(p.reactions[0].target_url, "chain://eip155:1/erc721:0x5a0000000000000000000000000000000000000b/42");
  EXPECT_EQ(p.reactions[0].target_hash, "");
  EXPECT_EQ(p.reactions[0].unix_ts, 5 + kFarcasterEpoch);
  EXPECT_EQ(p.reactions[1].kind, "like");
  EXPECT_EQ(p.reactions[1].target_url, "https://warpcast.com/~/channel/base");
}

TEST(HubApi, RejectsMalformedBodiesWithACause) {
  EXPECT_THROW(parse_page(R"({"messages":[{"data":{"type":"MESSAGE_TYPE_CAST_ADD")"),
               MalformedResponse);
  try {
    parse_page(R"({"messages":[{"data":{"type":"MESSAGE_TYPE_CAST_ADD","fid":1,"timestamp":1,
      "castAddBody":{}},"hash":"nothex"}]})");
    FAIL();
  } catch (const MalformedResponse& e) {
    EXPECT_NE(std::string(e.what()).find("message 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_page(R"({"nextPageToken":null})"), MalformedResponse);
}

TEST(HubApi, DetectsDialectAndReadsErrorBodies) {
  EXPECT_EQ(detect_dialect(R"({"numShards":2,"shardInfos":[]})"), Dialect::kSnapchain);
  EXPECT_EQ(detect_dialect(R"({"version":"1.19","isSyncing":false,"nickname":"x"})"),
            Dialect::kHubble);
  EXPECT_EQ(error_reason(R"({"errCode":"bad_request","presentable":false,"message":"fid is missing"})"),
            "bad_request: fid is missing");
  EXPECT_EQ(error_reason(R"({"error":"bad_request.validation_failure","errorDetail":"x"})"),
            "bad_request.validation_failure: x");
  EXPECT_EQ(parse_fids("[1, 2]"), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(parse_fids(" 3,4 ,5"), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_THROW(parse_fids("1,x"), std::invalid_argument);
}

}  // namespace
}  // namespace socialai::farcaster
