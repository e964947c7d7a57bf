// The devnet's Reddit service on its own (no database): OAuth answers, bearer checks, paging,
// article trees against the truth, and determinism from the seed.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "devnet_process.h"

namespace socialai::testing {
namespace {

using json = nlohmann::json;

// base64("devnet-client:devnet-secret") and base64("devnet-client:nope")
constexpr const char* kGoodBasic = "Basic ZGV2bmV0LWNsaWVudDpkZXZuZXQtc2VjcmV0";
constexpr const char* kBadBasic = "Basic ZGV2bmV0LWNsaWVudDpub3Bl";

class RedditDevnet : public ::testing::Test {
 protected:
  RedditDevnet()
      : devnet_({"--reddit-posts-per-sub", "12", "--reddit-comments-per-post", "5"}),
        http_([] {
          HttpClient::Options o;
          o.max_retries = 0;
          return o;
        }()) {}

  HttpResponse token_request(const char* basic, const std::string& body) {
    return http_.perform({"POST", devnet_.url("/reddit/api/v1/access_token"),
                          {{"Authorization", basic},
                           {"Content-Type", "application/x-www-form-urlencoded"}},
                          body});
  }
  std::string token() {
    return json::parse(token_request(kGoodBasic, "grant_type=client_credentials").body)
        .at("access_token");
  }
  json get(const std::string& path, const std::string& tok) {
    const HttpResponse r = http_.get(devnet_.url("/reddit" + path), {{"Authorization", "bearer " + tok}});
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    EXPECT_TRUE(r.headers.count("x-ratelimit-remaining"));
    return json::parse(r.body);
  }

  DevnetProcess devnet_;
  HttpClient http_;
};

TEST_F(RedditDevnet, OAuthAndBearerChecksUseRedditsAnswers) {
  const HttpResponse ok = token_request(kGoodBasic, "grant_type=client_credentials");
  ASSERT_EQ(ok.status, 200);
  const json t = json::parse(ok.body);
  EXPECT_EQ(t["token_type"], "bearer");
  EXPECT_EQ(t["expires_in"], 86400);
  EXPECT_EQ(t["scope"], "*");
  const HttpResponse bad = token_request(kBadBasic, "grant_type=client_credentials");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body)["message"], "Unauthorized");
  EXPECT_EQ(json::parse(token_request(kGoodBasic, "grant_type=password").body)["error"],
            "unsupported_grant_type");

  const HttpResponse anonymous = http_.get(devnet_.url("/reddit/r/alpha/new"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.headers.at("www-authenticate").find("invalid_token"), std::string::npos);
  const std::string tok = t["access_token"];
  EXPECT_EQ(get("/r/alpha/new", tok)["kind"], "Listing");
  devnet_.post("/_devnet/reddit/expire-tokens", json::object());
  EXPECT_EQ(http_.get(devnet_.url("/reddit/r/alpha/new"), {{"Authorization", "bearer " + tok}})
                .status,
            401);
}

TEST_F(RedditDevnet, PagesWalkNewestFirstAndArticleTreesMatchTheTruth) {
  const std::string tok = token();
  const json truth = devnet_.get("/_devnet/reddit/truth?full=1&subs=alpha");
  // after= walks the whole listing newest first with no overlap; before= walks back.
  std::vector<std::string> names;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    const json page = get("/r/alpha/new.json?limit=5" + (after.empty() ? "" : "&after=" + after), tok);
    EXPECT_EQ(page["data"]["dist"], page["data"]["children"].size());
    for (const auto& c : page["data"]["children"]) {
      names.push_back(c["data"]["name"]);
    }
    if (page["data"]["after"].is_null()) {
      break;
    }
    after = page["data"]["after"];
  }
  ASSERT_EQ(names.size(), 12u);
  EXPECT_EQ(names.front(), truth["subs"]["alpha"]["newest_post"]["name"]);
  EXPECT_EQ(names.back(), truth["subs"]["alpha"]["oldest_post"]["name"]);
  const json newer = get("/r/alpha/new?limit=3&before=" + names[5], tok);
  ASSERT_EQ(newer["data"]["children"].size(), 3u);
  EXPECT_EQ(newer["data"]["children"][2]["data"]["name"], names[4]);

  // The tree of every post holds exactly its comments, each under its parent.
  std::size_t seen = 0;
  for (const auto& post : truth["items"]["posts"]) {
    const json tree = get("/r/alpha/comments/" + post["id"].get<std::string>() + "/x", tok);
    ASSERT_EQ(tree.size(), 2u);
    EXPECT_EQ(tree[0]["data"]["children"][0]["data"]["name"], post["name"]);
    std::size_t count = 0;
    const auto walk = [&](const auto& self, const json& listing, const std::string& parent) -> void {
      for (const auto& c : listing["data"]["children"]) {
        EXPECT_EQ(c["data"]["parent_id"], parent);
        EXPECT_EQ(c["data"]["link_id"], post["name"]);
        ++count;
        if (c["data"]["replies"].is_object()) {
          self(self, c["data"]["replies"], c["data"]["name"].get<std::string>());
        }
      }
    };
    walk(walk, tree[1], post["name"].get<std::string>());
    EXPECT_EQ(count, post["num_comments"].get<std::size_t>());
    seen += count;
  }
  EXPECT_EQ(seen, truth["items"]["comments"].size());
}

// A big thread's tree is cut by the tree limits into "load more" stubs (children ids, count)
// and "continue this thread" stubs (count 0, id "_"); expanding them through morechildren and
// the comment subtree route yields exactly the post's comments, each under its parent.
TEST(RedditDevnetTrees, StubsExpandToExactlyThePostsComments) {
  DevnetProcess devnet({"--reddit-posts-per-sub", "2", "--reddit-big-thread-every", "1",
                        "--reddit-big-thread-comments", "30", "--reddit-tree-limit", "10",
                        "--reddit-tree-depth", "2"});
  HttpClient http([] {
    HttpClient::Options o;
    o.max_retries = 0;
    return o;
  }());
  const HttpResponse tr = http.perform(
      {"POST", devnet.url("/reddit/api/v1/access_token"),
       {{"Authorization", kGoodBasic}, {"Content-Type", "application/x-www-form-urlencoded"}},
       "grant_type=client_credentials"});
  const std::string tok = json::parse(tr.body).at("access_token");
  const auto get = [&](const std::string& path) {
    const HttpResponse r = http.get(devnet.url("/reddit" + path), {{"Authorization", "bearer " + tok}});
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    return json::parse(r.body);
  };
  const json truth = devnet.get("/_devnet/reddit/truth?full=1&subs=alpha");
  const json& post = truth["items"]["posts"][0];
  const std::string link = post["name"];
  std::map<std::string, std::string> want;  // comment → parent
  for (const auto& c : truth["items"]["comments"]) {
    if (c["link_id"] == link) {
      want[c["name"]] = c["parent_id"];
    }
  }
  ASSERT_EQ(want.size(), 30u);
  std::map<std::string, std::string> got;
  std::vector<std::string> load, deeper;
  int load_stubs = 0, continue_stubs = 0;
  const auto take = [&](const auto& self, const json& children) -> void {
    for (const auto& c : children) {
      const json& d = c["data"];
      if (c["kind"] == "more") {
        if (d["children"].empty()) {
          EXPECT_EQ(d["count"], 0);
          EXPECT_EQ(d["id"], "_");
          EXPECT_EQ(d["name"], "t1__");
          deeper.push_back(d["parent_id"].get<std::string>().substr(3));
          ++continue_stubs;
        } else {
          EXPECT_GE(d["count"].get<std::size_t>(), d["children"].size());
          EXPECT_EQ(d["id"], d["children"][0]);
          for (const auto& id : d["children"]) {
            load.push_back(id);
          }
          ++load_stubs;
        }
        continue;
      }
      EXPECT_EQ(d["link_id"], link);
      got[d["name"]] = d["parent_id"];
      if (d["replies"].is_object()) {
        self(self, d["replies"]["data"]["children"]);
      }
    }
  };
  const std::string base = "/r/alpha/comments/" + post["id"].get<std::string>();
  const json tree = get(base);
  ASSERT_EQ(tree.size(), 2u);
  take(take, tree[1]["data"]["children"]);
  EXPECT_LE(got.size(), 10u);
  for (int rounds = 0; rounds < 100 && (!load.empty() || !deeper.empty()); ++rounds) {
    if (!load.empty()) {
      std::string ids;
      for (const auto& id : load) {
        ids += (ids.empty() ? "" : ",") + id;
      }
      load.clear();
      const json more = get("/api/morechildren?api_type=json&link_id=" + link + "&children=" + ids);
      EXPECT_TRUE(more["json"]["errors"].empty());
      for (const auto& c : more["json"]["data"]["things"]) {
        EXPECT_FALSE(c["data"].contains("replies") && c["data"]["replies"].is_object());
      }
      take(take, more["json"]["data"]["things"]);
    } else {
      const std::string parent = deeper.back();
      deeper.pop_back();
      const json sub = get(base + "/_/" + parent);
      ASSERT_EQ(sub[1]["data"]["children"].size(), 1u);
      EXPECT_EQ(sub[1]["data"]["children"][0]["data"]["name"], "t1_" + parent);
      EXPECT_EQ(sub[1]["data"]["children"][0]["data"]["depth"], 0);
      take(take, sub[1]["data"]["children"]);
    }
  }
  EXPECT_GT(load_stubs, 0);
  EXPECT_GT(continue_stubs, 0);
  EXPECT_EQ(got, want);
}

TEST(RedditDevnetSeed, SameSeedSameDataOtherSeedOtherData) {
  DevnetProcess a({}, 7), b({}, 7), c({}, 8);
  const std::string q = "/_devnet/reddit/truth?full=1&subs=ethereum";
  EXPECT_EQ(a.get(q), b.get(q));
  EXPECT_NE(a.get(q)["items"]["posts"], c.get(q)["items"]["posts"]);
}

}  // namespace
}  // namespace socialai::testing
