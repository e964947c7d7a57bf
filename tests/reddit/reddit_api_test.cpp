// Parsing of Reddit bodies (reddit_api.h) on recorded-shape fixtures: no network, no database.
#include "workers/reddit/reddit_api.h"

#include <gtest/gtest.h>

namespace socialai::reddit {
namespace {

constexpr const char* kPosts = R"({"kind":"Listing","data":{"after":"t3_1b","dist":3,"children":[
 {"kind":"t3","data":{"id":"1c","name":"t3_1c","title":"Gas fees","selftext":"a\u0000b",
  "author":"alice","author_fullname":"t2_9","subreddit":"ethereum","created_utc":1700000100.0,
  "score":12,"num_comments":3,"permalink":"/r/ethereum/comments/1c/gas/","url":"https://x.y/"}},
 {"kind":"t3","data":{"id":"1b","name":"t3_1b","title":"Gone","selftext":"","author":"[deleted]",
  "author_fullname":"t2_9","subreddit":"ethereum","created_utc":1700000000,"score":1,"num_comments":0,
  "permalink":"/r/ethereum/comments/1b/gone/"}},
 {"kind":"t3","data":{"name":"t3_nope","title":"no id"}}]}})";

TEST(RedditApi, ParsesPostsKeepsGoodChildrenAndNamesBadOnes) {
  const Listing l = parse_listing(kPosts, "t3");
  ASSERT_EQ(l.items.size(), 2u);
  EXPECT_EQ(l.after, "t3_1b");
  EXPECT_EQ(l.items[0].fullname, "t3_1c");
  EXPECT_EQ(l.items[0].content, "ab");  // NUL dropped: PostgreSQL text cannot hold it
  EXPECT_EQ(l.items[0].author_fullname, "t2_9");
  EXPECT_EQ(l.items[0].reply_count, 3);
  EXPECT_DOUBLE_EQ(l.items[0].created_utc, 1700000100.0);
  EXPECT_EQ(l.items[1].author_fullname, "");  // "[deleted]" is nobody, whatever id came along
  EXPECT_EQ(l.items[1].url, "https://www.reddit.com/r/ethereum/comments/1b/gone/");
  EXPECT_GT(l.items[0].number, l.items[1].number);
  ASSERT_EQ(l.rejected.size(), 1u);
  EXPECT_EQ(l.rejected[0].first, "#2");
}

TEST(RedditApi, CommentsNeedParentAndLinkAndDropNestedReplies) {
  const Listing l = parse_listing(
      R"({"kind":"Listing","data":{"after":null,"children":[
       {"kind":"t1","data":{"id":"z1","body":"hi","link_id":"t3_1c","parent_id":"t3_1c",
        "created_utc":1.5,"replies":{"kind":"Listing","data":{"children":[]}}}},
       {"kind":"t1","data":{"id":"z2","body":"orphan","created_utc":2}},
       {"kind":"more","data":{"count":4,"children":["z3"]}}]}})",
      "t1");
  ASSERT_EQ(l.items.size(), 1u);
  EXPECT_FALSE(l.after.has_value());
  EXPECT_EQ(l.items[0].parent_fullname, "t3_1c");
  EXPECT_FALSE(l.items[0].raw.contains("replies"));
  ASSERT_EQ(l.rejected.size(), 1u);
  EXPECT_EQ(l.rejected[0].first, "t1_z2");
}

TEST(RedditApi, MalformedBodiesThrow) {
  EXPECT_THROW(parse_listing(R"({"kind":"Listing","data":{"chil)", "t3"), MalformedResponse);
  EXPECT_THROW(parse_listing(R"([1,2])", "t3"), MalformedResponse);
  EXPECT_THROW(parse_listing(R"({"kind":"Listing","data":{}})", "t3"), MalformedResponse);
  EXPECT_THROW(parse_token(R"({"error":"unsupported_grant_type"})"), MalformedResponse);
  EXPECT_THROW(parse_token("<html>"), MalformedResponse);
  const Token t = parse_token(
      R"({"access_token":"abc","token_type":"bearer","expires_in":86400,"scope":"*"})");
  EXPECT_EQ(t.access_token, "abc");
  EXPECT_EQ(t.expires_in.count(), 86400);
}

TEST(RedditApi, Base36AndSubredditSetting) {
  EXPECT_EQ(parse_base36("t3_z"), 35u);
  EXPECT_EQ(parse_base36("10"), 36u);
  EXPECT_FALSE(parse_base36("t3_").has_value());
  EXPECT_FALSE(parse_base36("a-b").has_value());
  EXPECT_EQ(parse_subreddits(R"(["Ethereum", "r/web3", "ethereum"])"),
            (std::vector<std::string>{"ethereum", "web3"}));
  EXPECT_EQ(parse_subreddits(" a1, /r/b_2 ,,"), (std::vector<std::string>{"a1", "b_2"}));
  EXPECT_THROW(parse_subreddits("ok,no way!"), std::invalid_argument);
  EXPECT_THROW(parse_subreddits("[1]"), std::invalid_argument);
}

// The shapes Reddit documents for /comments/{id} (two Listings, nested replies, both kinds of
// `more`) and /api/morechildren (json.data.things, flat).
constexpr const char* kTree = R"([
 {"kind":"Listing","data":{"children":[{"kind":"t3","data":{"id":"p1","name":"t3_p1",
  "title":"T","selftext":"","author":"bob","author_fullname":"t2_b","subreddit":"Eth",
  "created_utc":1700000000,"score":5,"num_comments":9,"num_duplicates":0}}]}},
 {"kind":"Listing","data":{"children":[
  {"kind":"t1","data":{"id":"c1","name":"t1_c1","body":"top","author":"ann","author_fullname":"t2_a",
   "parent_id":"t3_p1","link_id":"t3_p1","created_utc":1700000001,"score":2,"depth":0,
   "replies":{"kind":"Listing","data":{"children":[
    {"kind":"t1","data":{"id":"c2","name":"t1_c2","body":"re","author":"bob","parent_id":"t1_c1",
     "link_id":"t3_p1","created_utc":1700000002,"depth":1,"replies":{"kind":"Listing","data":{
      "children":[{"kind":"more","data":{"count":0,"name":"t1__","id":"_","parent_id":"t1_c2",
       "depth":2,"children":[]}}]}}}}]}}}},
  {"kind":"t1","data":{"id":"c3","name":"t1_c3","body":"x","author":"ann","link_id":"t3_p1",
   "created_utc":1700000003,"replies":""}},
  {"kind":"more","data":{"count":5,"name":"t1_c4","id":"c4","parent_id":"t3_p1","depth":0,
   "children":["c4","c5"]}}]}}])";

TEST(RedditApi, TreesGiveNestedCommentsAndBothKindsOfStubs) {
  const Tree t = parse_tree(kTree);
  ASSERT_TRUE(t.post);
  EXPECT_EQ(t.post->reply_count, 9);
  ASSERT_EQ(t.comments.size(), 2u);
  EXPECT_EQ(t.comments[0].fullname, "t1_c1");
  EXPECT_EQ(t.comments[1].fullname, "t1_c2");
  EXPECT_EQ(t.comments[1].parent_fullname, "t1_c1");
  EXPECT_FALSE(t.comments[0].raw.contains("replies"));
  ASSERT_EQ(t.rejected.size(), 1u);  // c3 lacks parent_id
  EXPECT_EQ(t.rejected[0].first, "t1_c3");
  ASSERT_EQ(t.more.size(), 2u);
  EXPECT_TRUE(t.more[0].continue_thread());
  EXPECT_EQ(t.more[0].parent_fullname, "t1_c2");
  EXPECT_FALSE(t.more[1].continue_thread());
  EXPECT_EQ(t.more[1].children, (std::vector<std::string>{"c4", "c5"}));
  EXPECT_EQ(t.more[1].count, 5);
}

TEST(RedditApi, BrokenTreesAndMoreChildrenAnswersAreMalformed) {
  const std::string tree = kTree;
  EXPECT_THROW(parse_tree(tree.substr(0, tree.size() / 2)), MalformedResponse);
  EXPECT_THROW(parse_tree(R"([{"kind":"Listing","data":{"children":[]}}])"), MalformedResponse);
  EXPECT_THROW(parse_tree(R"([{"kind":"Listing","data":{"children":[]}},
                             {"kind":"Listing","data":{"children":[]}}])"),
               MalformedResponse);  // no post
  EXPECT_THROW(parse_more_children(R"({"json":{"errors":[["TOO_MANY","x","children"]]}})"),
               MalformedResponse);
  EXPECT_THROW(parse_more_children(R"({"json":{"errors":[]}})"), MalformedResponse);
  const Tree m = parse_more_children(R"({"json":{"errors":[],"data":{"things":[
    {"kind":"t1","data":{"id":"c4","parent_id":"t3_p1","link_id":"t3_p1","created_utc":1,"replies":""}},
    {"kind":"t1","data":{"id":"c6","parent_id":"t1_c4","link_id":"t3_p1","created_utc":2,"replies":""}},
    {"kind":"more","data":{"count":1,"id":"c7","parent_id":"t1_c6","children":["c7"]}}]}}})");
  EXPECT_FALSE(m.post);
  ASSERT_EQ(m.comments.size(), 2u);
  EXPECT_EQ(m.comments[1].parent_fullname, "t1_c4");
  ASSERT_EQ(m.more.size(), 1u);
  EXPECT_EQ(m.more[0].children, std::vector<std::string>{"c7"});
}

}  // namespace
}  // namespace socialai::reddit
