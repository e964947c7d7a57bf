// Per-post comment trees against the real devnet and PostgreSQL: comments only the trees hold
// (older than the comment stream reaches, behind "load more" and "continue this thread"
// stubs) stored once under the right parent, young posts refreshed and old ones left, the
// request budget per cycle, and broken tree answers logged and never half-written.
#include <algorithm>
#include <ctime>
#include <iostream>

#include "reddit_fixture.h"

namespace socialai::testing {
namespace {

// Devnet data where trees matter: every 4th post has a 40-comment thread with long chains,
// a tree answer shows 8 comments down to 3 levels, and /r/{sub}/comments reaches back only
// 15 comments.
std::vector<std::string> tree_flags(const std::string& epoch = "") {
  std::vector<std::string> f = {
      "--reddit-posts-per-sub",   "12", "--reddit-comments-per-post",  "3",
      "--reddit-big-thread-every", "4", "--reddit-big-thread-comments", "40",
      "--reddit-tree-limit",       "8", "--reddit-tree-depth",          "3",
      "--reddit-stream-reach",    "15", "--reddit-rate-limit",          "100000",
      "--reddit-rate-window",      "1"};
  if (!epoch.empty()) {
    f.insert(f.end(), {"--reddit-epoch", epoch});
  }
  return f;
}

class RedditTrees : public RedditFixture {
 protected:
  RedditTrees() {
    devnet_flags_ = tree_flags();
    subs_ = {"alpha"};
  }

  std::int64_t route(const std::string& name) { return stats()["routes"].value(name, 0); }
  std::int64_t tree_route_requests() {
    return route("article") + route("morechildren") + route("info");
  }
  std::int64_t pending_walks() {
    return scalar("SELECT count(*) FROM sync_state WHERE key LIKE 'r/alpha/tree/%' AND "
                  "(cursor::jsonb ? 'load' OR cursor::jsonb ? 'deeper')");
  }
  std::int64_t stored_comments_of(const std::string& post) {
    return db_->with_transaction([&](pqxx::work& tx) {
      return db_->exec(tx, "SELECT count(*) FROM external_posts WHERE source = 'reddit' AND "
                           "thread_external_id = $1", post)[0][0].as<std::int64_t>();
    });
  }
};

TEST_F(RedditTrees, EveryCommentIsStoredOnceUnderItsParent) {
  const json t = truth();
  const int comments = t["comments"].get<int>();
  ASSERT_GT(comments, 2 * t["subs"]["alpha"]["stream_comments"].get<int>())
      << "most comments must be out of the comment stream's reach";
  EXPECT_EQ(sync_until_equal(1), 1) << compare(t);
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit'"),
            t["posts"].get<int>() + comments);
  EXPECT_TRUE(ctx_->failed_.empty());
  // The walk met both kinds of stubs: morechildren calls, and more tree requests than posts
  // walked (the extra ones are "continue this thread" subtrees).
  const std::int64_t walked =
      scalar("SELECT count(*) FROM sync_state WHERE key LIKE 'r/alpha/tree/%'");
  EXPECT_GT(walked, 0);
  EXPECT_GT(route("morechildren"), 0);
  EXPECT_GT(route("article"), walked);
  EXPECT_EQ(pending_walks(), 0);

  // Nothing new: no tree request, no row version changed.
  const auto versions = [&] {
    return sql("SELECT string_agg(xmin::text, ',' ORDER BY id) FROM external_posts")[0][0]
               .as<std::string>() +
           sql("SELECT string_agg(xmin::text, ',' ORDER BY key) FROM sync_state")[0][0]
               .as<std::string>();
  };
  const std::string before = versions();
  const std::int64_t requests = tree_route_requests();
  ctx_->items_ok_ = 0;
  run_one_cycle();
  EXPECT_EQ(versions(), before);
  EXPECT_EQ(tree_route_requests(), requests);
  EXPECT_EQ(ctx_->items_ok_, 0);
}

TEST_F(RedditTrees, TheRequestBudgetBoundsEveryCycleAndUnfinishedWalksResume) {
  ctx_->settings_["tree_requests"] = "3";
  const json t = truth();
  bool pending_seen = false;
  int cycles = 0;
  for (; cycles < 60 && !compare(t).empty(); ++cycles) {
    const std::int64_t before = tree_route_requests();
    run_one_cycle();
    EXPECT_LE(tree_route_requests() - before, 3) << "cycle " << cycles;
    EXPECT_EQ(compare(t, true), "") << "cycle " << cycles;
    pending_seen = pending_seen || pending_walks() > 0;
  }
  EXPECT_EQ(compare(t), "") << "after " << cycles << " cycles";
  EXPECT_TRUE(pending_seen) << "a big thread needs more than 3 requests: its walk must span cycles";
  EXPECT_EQ(pending_walks(), 0);
  std::cout << "converged in " << cycles << " cycles of at most 3 tree requests\n";
}

TEST_F(RedditTrees, BrokenTreeAnswersAreLoggedRetriedAndNeverHalfWritten) {
  RedditLogCapture log;
  // Every tree answer broken: the walks fail after their attempts and write nothing.
  ctx_->settings_["tree_requests"] = "8";  // two posts' worth of attempts
  devnet_->post("/_devnet/reddit/tree-faults", {{"rate", 1.0}});
  run_one_cycle();
  const json t = truth();
  EXPECT_EQ(scalar("SELECT count(*) FROM sync_state WHERE key LIKE 'r/alpha/tree/%'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE external_id LIKE 't1_%'"),
            t["subs"]["alpha"]["stream_comments"].get<int>());
  int tree_failures = 0;
  for (const auto& [item, error] : ctx_->failed_) {
    EXPECT_EQ(item.rfind("r/alpha/tree/t3_", 0), 0u) << item;
    EXPECT_NE(error.find("malformed"), std::string::npos) << error;
    ++tree_failures;
  }
  EXPECT_EQ(tree_failures, 2);
  EXPECT_EQ(compare(t, true), "");

  // A third of them broken: retried, each logged with its cause, and the sync completes.
  ctx_->failed_.clear();
  devnet_->post("/_devnet/reddit/tree-faults", {{"rate", 0.3}});
  ctx_->settings_["tree_requests"] = "1000";
  validated_ = false;  // settings are read by validate(), as after a settings change
  const std::int64_t faults_before = stats()["tree_faults"].get<std::int64_t>();
  const int cycles = sync_until_equal(8, /*check_subset_each_cycle=*/true);
  EXPECT_LE(cycles, 8) << compare(truth());
  const std::int64_t injected = stats()["tree_faults"].get<std::int64_t>() - faults_before;
  EXPECT_GT(injected, 2);
  EXPECT_GE(log.lines_with({"malformed response"}), 8 + injected) << log.text();
  // A finished walk holds its whole thread.
  for (const auto& r : sql("SELECT substr(key, length('r/alpha/tree/') + 1), "
                           "(cursor::jsonb->>'num_comments')::int FROM sync_state "
                           "WHERE key LIKE 'r/alpha/tree/%'")) {
    EXPECT_EQ(stored_comments_of(r[0].as<std::string>()), r[1].as<std::int64_t>())
        << r[0].as<std::string>();
  }
  std::cout << "tree faults injected " << injected << " in " << cycles << " cycle(s)\n";
}

// Posts made around a day ago: the boundary of refresh_max_age_hours=24 falls in the middle
// of the subreddit, half-way between two posts (minutes from either), so which posts are young
// does not depend on how long the test takes.
class RedditRefresh : public RedditTrees {
 protected:
  RedditRefresh() {
    // The same data at the default epoch gives each post's offset from its epoch.
    DevnetProcess probe(tree_flags());
    const json t = probe.get("/_devnet/reddit/truth?full=1&subs=alpha");
    std::vector<double> offsets;
    for (const auto& p : t["items"]["posts"]) {
      offsets.push_back(p["created_utc"].get<double>() - 1700000000.0);
    }
    std::sort(offsets.begin(), offsets.end());
    const std::size_t k = offsets.size() / 2;
    young_after_ = (offsets[k - 1] + offsets[k]) / 2;
    const double epoch = static_cast<double>(std::time(nullptr)) - 24 * 3600 - young_after_;
    devnet_flags_ = tree_flags(std::to_string(static_cast<std::int64_t>(epoch)));
  }
  void SetUp() override {
    RedditTrees::SetUp();
    if (!IsSkipped()) {
      ctx_->settings_["refresh_max_age_hours"] = "24";
    }
  }
  double young_after_ = 0;
};

TEST_F(RedditRefresh, YoungPostsGetScoreAndCommentsRefreshedOldOnesDoNot) {
  ASSERT_LE(sync_until_equal(2), 2) << compare(truth());
  const json t = truth();
  const json& posts = t["items"]["posts"];
  const std::string young = posts.back()["name"];   // the newest
  const std::string old = posts.front()["name"];    // the oldest
  // Activity on both: 20 comments each (the old post's first, so the comment stream's 15
  // newest are all the young post's) and a new score.
  devnet_->post("/_devnet/reddit/activity", {{"sub", "alpha"}, {"post", old}, {"comments", 20},
                                             {"score", 88888}});
  const json now_young = devnet_->post(
      "/_devnet/reddit/activity",
      {{"sub", "alpha"}, {"post", young}, {"comments", 20}, {"score", 77777}});
  run_one_cycle();
  const auto row = [&](const std::string& id) {
    return db_->with_transaction([&](pqxx::work& tx) {
      return db_->exec(tx, "SELECT score, reply_count FROM external_posts WHERE source = 'reddit' "
                           "AND external_id = $1", id);
    });
  };
  const auto y = row(young);
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0][0].as<int>(), 77777);
  EXPECT_EQ(y[0][1].as<int>(), now_young["num_comments"].get<int>());
  // All of its comments, the 5 the stream no longer reaches included (found by the tree walk).
  EXPECT_EQ(stored_comments_of(young), now_young["num_comments"].get<int>());
  const auto o = row(old);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0][0].as<int>(), posts.front()["score"].get<int>());
  EXPECT_EQ(o[0][1].as<int>(), posts.front()["num_comments"].get<int>());
  EXPECT_TRUE(ctx_->failed_.empty());
}

}  // namespace
}  // namespace socialai::testing
