// Event stream wire parsing and batch coalescing on fixture bodies (no network, no database).
#include "workers/farcaster/hub_events.h"

#include <gtest/gtest.h>

#include "workers/farcaster/event_batch.h"

namespace socialai::farcaster {
namespace {

constexpr const char* kCastAdd =
    R"({"data":{"type":"MESSAGE_TYPE_CAST_ADD","fid":7,"timestamp":100,
        "castAddBody":{"text":"hi"}},"hash":"0x00000000000000000000000000000000000000aa"})";
constexpr const char* kCastRemove =
    R"({"data":{"type":"MESSAGE_TYPE_CAST_REMOVE","fid":7,"timestamp":101,
        "castRemoveBody":{"targetHash":"AAAAAAAAAAAAAAAAAAAAAAAAAKo="}},
        "hash":"0x00000000000000000000000000000000000000ab"})";
constexpr const char* kLike =
    R"({"data":{"type":"MESSAGE_TYPE_REACTION_ADD","fid":7,"timestamp":102,
        "reactionBody":{"type":"REACTION_TYPE_LIKE","targetUrl":"https://x.y/c"}},
        "hash":"0x00000000000000000000000000000000000000ac"})";

std::string merge(int id, const std::string& message, const std::string& deleted = "") {
  return R"({"type":"HUB_EVENT_TYPE_MERGE_MESSAGE","id":)" + std::to_string(id) +
         R"(,"mergeMessageBody":{"message":)" + message + R"(,"deletedMessages":[)" + deleted +
         "]}}";
}

TEST(HubEvents, ParsesMergePruneRevokeAndSkipsOtherTypes) {
  const EventPage p = parse_events(
      "{\"events\":[" + merge(5, kCastAdd) + "," + merge(6, kCastRemove, kCastAdd) +
      R"(,{"type":"HUB_EVENT_TYPE_BLOCK_CONFIRMED","id":7,"blockConfirmedBody":{"blockNumber":1}})" +
      R"(,{"type":"HUB_EVENT_TYPE_REVOKE_MESSAGE","id":8,"revokeMessageBody":{"message":)" + kLike +
      R"(}},{"type":"HUB_EVENT_TYPE_PRUNE_MESSAGE","id":"9","pruneMessageBody":{"message":)" +
      kCastAdd + "}}],\"nextPageEventId\":10}");
  ASSERT_EQ(p.events.size(), 5u);
  EXPECT_EQ(p.next_page_event_id, 10u);
  EXPECT_EQ(p.events[0].fid, 7u);
  ASSERT_EQ(p.events[0].merged.casts.size(), 1u);
  EXPECT_EQ(p.events[1].merged.removed_casts.at(0), "0x00000000000000000000000000000000000000aa");
  EXPECT_EQ(p.events[1].deleted.casts.size(), 1u);
  EXPECT_EQ(p.events[2].fid, 0u);  // BLOCK_CONFIRMED: an id, nothing else
  EXPECT_EQ(p.events[3].deleted.reactions.at(0).target_url, "https://x.y/c");
  EXPECT_EQ(p.events[4].id, 9u);  // a quoted id
  EXPECT_EQ(p.events[4].deleted.casts.size(), 1u);
}

TEST(HubEvents, RejectsBadBodiesWithTheCause) {
  const std::string good = "{\"events\":[" + merge(5, kCastAdd) + "],\"nextPageEventId\":6}";
  EXPECT_THROW(parse_events(good.substr(0, good.size() / 2)), MalformedResponse);
  EXPECT_THROW(parse_events(R"({"nextPageEventId":3})"), MalformedResponse);
  try {
    parse_events(R"({"events":[{"type":"HUB_EVENT_TYPE_MERGE_MESSAGE","id":1}]})");
    FAIL();
  } catch (const MalformedResponse& e) {
    EXPECT_NE(std::string(e.what()).find("event 0"), std::string::npos) << e.what();
  }
  // Without nextPageEventId the next read starts after the last event.
  EXPECT_EQ(parse_events("{\"events\":[" + merge(41, kCastAdd) + "]}").next_page_event_id, 42u);
  // After the highest id, when a hub lists them out of order (found by the fuzz target).
  EXPECT_EQ(parse_events("{\"events\":[" + merge(45, kCastAdd) + "," + merge(41, kCastAdd) + "]}")
                .next_page_event_id,
            46u);
}

TEST(HubEvents, ParsesFidsAndShards) {
  const FidPage f = parse_fids(R"({"fids":[1,3,5],"nextPageToken":"Ng=="})");
  EXPECT_EQ(f.fids, (std::vector<std::uint64_t>{1, 3, 5}));
  EXPECT_EQ(f.next_page_token, "Ng==");
  const auto shards = parse_shards(
      R"({"numShards":2,"shardInfos":[{"shardId":0,"maxHeight":9},{"shardId":2,"maxHeight":77},
          {"shardId":1,"maxHeight":70}]})");
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[0].shard, 1);
  EXPECT_EQ(shards[0].max_height, 70u);
  EXPECT_EQ(shards[1].max_height, 77u);
  EXPECT_THROW(parse_shards(R"({"version":"1"})"), MalformedResponse);
}

TEST(EventBatch, TheLastEventOnARowWins) {
  const EventPage p = parse_events("{\"events\":[" + merge(1, kCastAdd) + "," +
                                   merge(2, kCastRemove, kCastAdd) + "," + merge(3, kLike) + "]}");
  EventBatch b;
  for (const auto& e : p.events) {
    b.add(e);
  }
  BatchRows r = b.rows();
  EXPECT_TRUE(r.casts.empty());  // added, then removed: one delete
  EXPECT_EQ(r.removed_casts.size(), 1u);
  ASSERT_EQ(r.reactions.size(), 1u);
  EXPECT_EQ(r.reactions[0].fid, 7u);
  b.add(parse_events("{\"events\":[" + merge(4, kCastAdd) + "]}").events[0]);
  r = b.rows();
  EXPECT_EQ(r.casts.size(), 1u);  // added again after the remove
  EXPECT_TRUE(r.removed_casts.empty());
  EXPECT_EQ(b.events(), 4u);
}

}  // namespace
}  // namespace socialai::farcaster
