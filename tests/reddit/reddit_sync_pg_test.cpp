// RedditSync against the real devnet and PostgreSQL: exact equality with the devnet's truth,
// idempotent re-runs, incremental growth, injected faults, token expiry and rate limits.
#include <chrono>
#include <iostream>
#include <thread>

#include "common/http_client.h"

#include "reddit_fixture.h"

namespace socialai::testing {
namespace {

class RedditSyncPg : public RedditFixture {};

TEST_F(RedditSyncPg, FullSyncEqualsTruthAndSecondRunWritesNothing) {
  const json t = truth();
  ASSERT_GT(t["posts"].get<int>(), 0);
  ASSERT_GT(t["comments"].get<int>(), 0);
  run_one_cycle();
  EXPECT_EQ(compare(t), "");
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit'"),
            t["posts"].get<int>() + t["comments"].get<int>());
  EXPECT_EQ(scalar("SELECT count(*) FROM profiles WHERE source = 'reddit'"),
            t["authors"].get<int>());
  EXPECT_EQ(ctx_->items_ok_, t["posts"].get<int>() + t["comments"].get<int>());
  EXPECT_TRUE(ctx_->failed_.empty());
  // Every stream finished its pass: a newest marker and no resume token.
  EXPECT_EQ(scalar("SELECT count(*) FROM sync_state WHERE worker = 'reddit' "
                   "AND cursor::jsonb ? 'newest' AND NOT cursor::jsonb ? 'after'"),
            static_cast<std::int64_t>(2 * subs_.size()));

  // Nothing new upstream: no row version changes anywhere, no items counted.
  const auto versions = [&] {
    return sql("SELECT string_agg(xmin::text, ',' ORDER BY id) FROM external_posts")[0][0]
               .as<std::string>() +
           sql("SELECT string_agg(xmin::text, ',' ORDER BY id) FROM profiles")[0][0]
               .as<std::string>() +
           sql("SELECT string_agg(xmin::text, ',' ORDER BY key) FROM sync_state")[0][0]
               .as<std::string>();
  };
  const std::string before = versions();
  ctx_->items_ok_ = 0;
  run_one_cycle();
  EXPECT_EQ(ctx_->items_ok_, 0);
  EXPECT_EQ(versions(), before);

  // Growth upstream: only the new posts and their comments arrive.
  const json grown = devnet_->post("/_devnet/reddit/grow", {{"subs", {"alpha"}}, {"posts", 7}});
  const json t2 = truth();
  ctx_->items_ok_ = 0;
  run_one_cycle();
  EXPECT_EQ(compare(t2), "");
  EXPECT_EQ(ctx_->items_ok_, (t2["posts"].get<int>() - t["posts"].get<int>()) +
                                 (t2["comments"].get<int>() - t["comments"].get<int>()));
}

TEST_F(RedditSyncPg, SpecificValuesMatchTheWire) {
  run_one_cycle();
  const json t = truth();
  const json& newest = t["subs"]["alpha"]["newest_post"];
  const auto row = sql("SELECT title, content, community, score, reply_count, raw->>'permalink', "
                       "extract(epoch FROM created_at)::float8 FROM external_posts "
                       "WHERE source = 'reddit' AND external_id = '" +
                       newest["name"].get<std::string>() + "'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), newest["title"].get<std::string>());
  EXPECT_EQ(row[0][2].as<std::string>(), "alpha");
  EXPECT_EQ(row[0][3].as<int>(), newest["score"].get<int>());
  EXPECT_EQ(row[0][4].as<int>(), newest["num_comments"].get<int>());
  EXPECT_EQ(row[0][5].as<std::string>(), newest["permalink"].get<std::string>());
  EXPECT_DOUBLE_EQ(row[0][6].as<double>(), newest["created_utc"].get<double>());
  // A thread: every comment's thread is a stored post, every parent a stored post or comment.
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts c WHERE c.source = 'reddit' AND "
                   "c.external_id LIKE 't1_%' AND NOT EXISTS (SELECT 1 FROM external_posts p "
                   "WHERE p.source = 'reddit' AND p.external_id = c.parent_external_id)"),
            0);
  EXPECT_GT(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit' AND "
                   "parent_external_id LIKE 't1_%'"),
            0);
  // Deleted accounts: no author, no profile.
  EXPECT_GT(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit' AND "
                   "author_external_id IS NULL AND raw->>'author' = '[deleted]'"),
            0);
}

TEST_F(RedditSyncPg, FaultsAreLoggedRetriedAndNeverHalfWritten) {
  RedditLogCapture log;
  ctx_->settings_["limit"] = "10";  // more pages, more faults met
  devnet_->set_faults("reddit", 0.2);
  const int cycles = sync_until_equal(6, /*check_subset_each_cycle=*/true);
  EXPECT_LE(cycles, 6) << compare(truth());
  const json faults = devnet_->get("/_devnet/stats")["reddit"]["faults"];
  int injected = 0;
  for (const auto& [kind, n] : faults.items()) {
    injected += n.get<int>();
  }
  EXPECT_GT(injected, 3) << faults.dump();
  // One log line with the cause per injected fault.
  const int l429 = log.lines_with({"status 429"}) + log.lines_with({"HTTP 429"});
  const int l5xx = log.lines_with({"status 50"}) + log.lines_with({"HTTP 50"});
  const int ltrunc = log.lines_with({"transfer closed"}) + log.lines_with({"partial"});
  const int lmal = log.lines_with({"malformed"});
  EXPECT_GE(l429, faults.value("429", 0)) << log.text();
  EXPECT_GE(l5xx, faults.value("5xx", 0)) << log.text();
  EXPECT_GE(ltrunc, faults.value("truncate", 0)) << log.text();
  EXPECT_GE(lmal, faults.value("malformed", 0)) << log.text();
  std::cout << "injected " << faults.dump() << "; logged 429=" << l429 << " 5xx=" << l5xx
            << " truncate=" << ltrunc << " malformed=" << lmal << "\n";
  EXPECT_EQ(log.text().find("devnet-secret"), std::string::npos);
}

TEST_F(RedditSyncPg, AStreamThatKeepsFailingIsAFailedItemAndTheNextCycleCatchesUp) {
  worker_.validate(*ctx_);
  validated_ = true;
  devnet_->set_faults("reddit", 1.0, {"malformed"});
  run_one_cycle();  // every page unreadable: each stream gives up after its attempts
  ASSERT_EQ(ctx_->failed_.size(), 2 * subs_.size());
  for (const auto& [item, error] : ctx_->failed_) {
    EXPECT_EQ(item.rfind("r/", 0), 0u) << item;
    EXPECT_NE(error.find("malformed response"), std::string::npos) << error;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM sync_state"), 0);
  devnet_->set_faults("reddit", 0.0);
  ctx_->failed_.clear();
  EXPECT_EQ(sync_until_equal(1), 1) << compare(truth());
  EXPECT_TRUE(ctx_->failed_.empty());
}

TEST_F(RedditSyncPg, RevokedTokenIsRefreshedOnceAndTheSyncGoesOn) {
  ctx_->settings_["max_pages"] = "2";
  run_one_cycle();  // validate's token plus two pages per stream
  EXPECT_EQ(stats()["tokens_issued"].get<int>(), 1);
  devnet_->post("/_devnet/reddit/expire-tokens", json::object());
  const int cycles = sync_until_equal(20);
  EXPECT_LE(cycles, 20) << compare(truth());
  const json s = stats();
  EXPECT_EQ(s["unauthorized"].get<int>(), 1);  // one 401, then the refreshed token works
  EXPECT_EQ(s["tokens_issued"].get<int>(), 2);
  EXPECT_TRUE(ctx_->failed_.empty());
}

class RedditDeletedIds : public RedditFixture {
 protected:
  RedditDeletedIds() { devnet_flags_.insert(devnet_flags_.end(), {"--reddit-deleted-ids", "1"}); }
};

TEST_F(RedditDeletedIds, DeletedAuthorsNeverBecomeProfilesWhateverIdTheyCarry) {
  const json t = truth();
  // The devnet must serve the case: "[deleted]" posts and comments with an author_fullname,
  // some of them a live author's.
  int deleted_posts = 0, deleted_comments = 0, live_ids = 0;
  for (const char* kind : {"posts", "comments"}) {
    for (const auto& d : t["items"][kind]) {
      if (d["author"] == "[deleted]") {
        ASSERT_TRUE(d.contains("author_fullname")) << d.dump();
        ++(std::string(kind) == "posts" ? deleted_posts : deleted_comments);
        live_ids += t["items"]["authors"].contains(d["author_fullname"].get<std::string>());
      }
    }
  }
  ASSERT_GT(deleted_posts, 0);
  ASSERT_GT(deleted_comments, 0);
  ASSERT_GT(live_ids, 0);
  run_one_cycle();
  EXPECT_EQ(compare(t), "");  // profiles are exactly the live authors, with their names
  EXPECT_EQ(scalar("SELECT count(*) FROM profiles WHERE source = 'reddit' AND "
                   "username = '[deleted]'"),
            0);
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit' AND "
                   "external_id LIKE 't3_%' AND author_external_id IS NULL AND "
                   "raw->>'author' = '[deleted]' AND raw ? 'author_fullname'"),
            deleted_posts);
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit' AND "
                   "external_id LIKE 't1_%' AND author_external_id IS NULL AND "
                   "raw->>'author' = '[deleted]' AND raw ? 'author_fullname'"),
            deleted_comments);
}

class RedditShortToken : public RedditFixture {
 protected:
  RedditShortToken() {
    devnet_flags_.insert(devnet_flags_.end(), {"--reddit-token-ttl", "1"});
  }
};

TEST_F(RedditShortToken, TokenIsRefreshedBeforeItExpires) {
  ctx_->settings_["max_pages"] = "1";
  run_one_cycle();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  run_one_cycle();
  const json s = stats();
  EXPECT_GE(s["tokens_issued"].get<int>(), 2);
  EXPECT_EQ(s["unauthorized"].get<int>(), 0);  // refreshed ahead, never sent an expired token
  EXPECT_LE(sync_until_equal(20), 20);
}

class RedditRateLimited : public RedditFixture {
 protected:
  RedditRateLimited() {
    devnet_flags_ = {"--reddit-posts-per-sub", "20", "--reddit-comments-per-post", "2",
                     "--reddit-rate-limit",    "8",  "--reddit-rate-window",       "1"};
  }
};

TEST_F(RedditRateLimited, HeadersPaceTheWorkerSoTheServerNeverRefuses) {
  ctx_->settings_["limit"] = "10";  // ~16 requests against 8 per second
  EXPECT_EQ(sync_until_equal(1), 1) << compare(truth());
  const json s = stats();
  EXPECT_GT(s["api_requests"].get<int>(), 8);
  EXPECT_EQ(s["rate_limited"].get<int>(), 0);
}

class RedditWindowSpent : public RedditFixture {
 protected:
  RedditWindowSpent() {
    devnet_flags_ = {"--reddit-posts-per-sub", "20", "--reddit-comments-per-post", "2",
                     "--reddit-rate-limit",    "8",  "--reddit-rate-window",       "3"};
  }
  // Another client of the same app spends the server's window; returns the 429 it met.
  HttpResponse spend_window() {
    HttpClient other([] {
      HttpClient::Options o;
      o.max_retries = 0;
      return o;
    }());
    const HttpResponse tok = other.perform(
        {"POST", devnet_->url("/reddit/api/v1/access_token"),
         {{"Authorization", "Basic ZGV2bmV0LWNsaWVudDpkZXZuZXQtc2VjcmV0"}},
         "grant_type=client_credentials"});
    const std::string token = json::parse(tok.body)["access_token"];
    HttpResponse r;
    for (int i = 0; i < 20 && r.status != 429; ++i) {
      r = other.get(devnet_->url("/reddit/r/alpha/new?limit=1"), {{"Authorization", "bearer " + token}});
    }
    return r;
  }
};

TEST_F(RedditWindowSpent, WorkerRecoversFromEnforced429) {
  RedditLogCapture log;
  ctx_->settings_["limit"] = "10";
  worker_.validate(*ctx_);
  validated_ = true;
  HttpResponse spent = spend_window();
  ASSERT_EQ(spent.status, 429);
  if (std::stod(spent.headers["x-ratelimit-reset"]) < 2) {  // too close to the window's end
    std::this_thread::sleep_for(std::chrono::seconds(2));
    spent = spend_window();
    ASSERT_EQ(spent.status, 429);
  }
  EXPECT_EQ(spent.headers["x-ratelimit-remaining"], "0.0");
  const int refused = stats()["rate_limited"].get<int>();
  EXPECT_EQ(sync_until_equal(1), 1) << compare(truth());
  EXPECT_GT(stats()["rate_limited"].get<int>(), refused);  // the worker met the 429 ...
  EXPECT_GE(log.lines_with({"status 429"}), 1) << log.text();  // ... logged it and went on
  EXPECT_TRUE(ctx_->failed_.empty());
}

TEST_F(RedditSyncPg, WrongCredentialsAreADependencyError) {
  ctx_->settings_["client_secret"] = "wrong";
  try {
    worker_.validate(*ctx_);
    FAIL() << "validate accepted wrong credentials";
  } catch (const DependencyError& e) {
    EXPECT_NE(std::string(e.what()).find("refused the client credentials"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos);
  }
  ctx_->settings_.erase("client_id");
  EXPECT_THROW(worker_.validate(*ctx_), DependencyError);
}

TEST_F(RedditSyncPg, AgainstRedditItselfAUserAgentByAUserIsRequired) {
  const auto validate_error = [&] {
    try {
      worker_.validate(*ctx_);
    } catch (const DependencyError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const char* url : {"https://oauth.reddit.com", "https://www.Reddit.com/", "http://reddit.com:443"}) {
    ctx_->settings_["base_url"] = url;
    EXPECT_NE(validate_error().find("set workers.reddit.username"), std::string::npos) << url;
  }
  ctx_->settings_["user_agent"] = "linux:myapp:1.0 (contact me@example.com)";
  EXPECT_NE(validate_error().find("lacks \"(by /u/<reddit username>)\""), std::string::npos);
  ctx_->settings_["user_agent"] = "linux:myapp:1.0 (by /u/someone)";
  EXPECT_EQ(validate_error(), "");  // the token still comes from the devnet's auth_url
  ctx_->settings_.erase("user_agent");
  ctx_->settings_["username"] = "bad name!";
  EXPECT_NE(validate_error().find("is not a Reddit username"), std::string::npos);
  ctx_->settings_["username"] = "/u/someone";
  EXPECT_EQ(validate_error(), "");
  // Not Reddit's host (the devnet, a proxy named like it): the generic default is fine.
  ctx_->settings_.erase("username");
  ctx_->settings_["base_url"] = "https://notreddit.com/";
  EXPECT_EQ(validate_error(), "");
}

}  // namespace
}  // namespace socialai::testing
