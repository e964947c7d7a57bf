// SearchSync and sql/002_search.sql on a real PostgreSQL 15: ranking, fuzzy fallback, tags,
// re-indexing on change, concurrent claimers, profile search and per-post isolation.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/migrate.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/search/search_sync.h"

namespace socialai {
namespace {

using socialai::testing::TestContext;

class SearchPg : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
    ctx_ = std::make_unique<TestContext>(*db_, "search");
    ctx_->settings_["parallelism"] = "1";
  }

  pqxx::result sql(const std::string& text) {
    return db_->with_transaction([&](pqxx::work& tx) { return db_->exec(tx, text); });
  }
  std::int64_t scalar(const std::string& text) { return sql(text)[0][0].as<std::int64_t>(); }

  std::int64_t add_post(const std::string& external_id, const std::string& content,
                        std::optional<std::string> title = std::nullopt,
                        std::optional<std::string> community = std::nullopt) {
    return db_->with_transaction([&](pqxx::work& tx) {
      return db_
          ->exec(tx,
                 "INSERT INTO external_posts (source, external_id, title, content, "
                 "community) VALUES ('test', $1, $2, $3, $4) RETURNING id",
                 external_id, title, content, community)[0][0]
          .as<std::int64_t>();
    });
  }

  // external_ids of search_posts(text, lim), best first.
  std::vector<std::string> search(const std::string& text, int lim = 10) {
    std::vector<std::string> ids;
    db_->with_transaction([&](pqxx::work& tx) {
      for (const auto& r :
           db_->exec(tx, "SELECT external_id FROM search_posts($1, $2)", text, lim)) {
        ids.push_back(r[0].as<std::string>());
      }
    });
    return ids;
  }

  std::vector<std::string> search_profiles(const std::string& text) {
    std::vector<std::string> names;
    db_->with_transaction([&](pqxx::work& tx) {
      for (const auto& r : db_->exec(tx, "SELECT username FROM search_profiles($1, 10)", text)) {
        names.push_back(r[0].as<std::string>());
      }
    });
    return names;
  }

  std::int64_t pending() {
    return scalar("SELECT count(*) FROM external_posts WHERE search_pending");
  }

  std::vector<std::string> tag_rows(std::int64_t post_id) {
    std::vector<std::string> tags;
    for (const auto& r : sql("SELECT tag FROM tags WHERE item_type = 'post' AND item_id = " +
                             std::to_string(post_id) + " ORDER BY tag COLLATE \"C\"")) {
      tags.push_back(r[0].as<std::string>());
    }
    return tags;
  }

  std::optional<testing::TestSchema> schema_;  // declared first: dropped after db_ closes
  std::unique_ptr<Db> db_;
  std::unique_ptr<TestContext> ctx_;
  SearchSync sync_;
};

TEST_F(SearchPg, ValidateNeedsTheSearchMigration) {
  EXPECT_NO_THROW(sync_.validate(*ctx_));
  testing::TestSchema bare;
  Db bare_db(bare.url());
  ASSERT_TRUE(bare_db.connect(nullptr, 3));
  // Only the bare schema: nothing from public (where other suites may have migrated) is seen.
  bare_db.with_transaction([&](pqxx::work& tx) {
    bare_db.exec(tx, "SELECT set_config('search_path', $1, false)", bare.name());
  });
  TestContext bare_ctx(bare_db, "search");
  EXPECT_THROW(sync_.validate(bare_ctx), DependencyError);
}

TEST_F(SearchPg, ExactMatchRanksFirst) {
  add_post("scattered", "A surge is coming, they say, for ethereum and the price of gas.",
           std::string("Ethereum price news"));
  add_post("exact",
           "Traders keep talking about the market today. Ethereum price surge "
           "expected by many this week.");
  add_post("shuffled", "price surge for bitcoin, not ethereum");
  add_post("partial", "price surge");
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 4);
  EXPECT_EQ(pending(), 0);

  const auto hits = search("ethereum price surge");
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0], "exact");
  EXPECT_EQ(std::set<std::string>(hits.begin(), hits.end()),
            (std::set<std::string>{"exact", "scattered", "shuffled"}));
  // Ranks are returned best first and the exact match carries the phrase bonus.
  const auto ranked = sql("SELECT rank, headline FROM search_posts('ethereum price surge', 10)");
  EXPECT_GE(ranked[0][0].as<double>(), 1.0);
  EXPECT_LT(ranked[1][0].as<double>(), 1.0);
  EXPECT_NE(ranked[0][1].as<std::string>().find("<b>"), std::string::npos);
  // Only stop words: nothing, and no error.
  EXPECT_TRUE(search("the of and").empty());
  EXPECT_TRUE(search("").empty());
}

TEST_F(SearchPg, MisspelledWordFindsItsPosts) {
  add_post("eth1", "Ethereum staking yields are up again");
  add_post("eth2", "Why ethereum rollups matter");
  add_post("btc", "Bitcoin halving is near");
  sync_.run_cycle(*ctx_);
  EXPECT_GT(scalar("SELECT count(*) FROM search_lexemes WHERE word = 'ethereum'"), 0);

  const auto hits = search("etherium");
  EXPECT_EQ(std::set<std::string>(hits.begin(), hits.end()),
            (std::set<std::string>{"eth1", "eth2"}));
  EXPECT_EQ(search("etherium rolups"), std::vector<std::string>{"eth2"});
  EXPECT_TRUE(search("qqxxzzvv").empty());  // nothing similar: still nothing
}

TEST_F(SearchPg, TagsAreExtracted) {
  const auto id = add_post("tagged",
                           "GM #DeFi friends, $ETH to the moon with @vitalik.eth. "
                           "Mail me@x.org, not #1, C# or $5k; see a.com/#frag",
                           std::nullopt, std::string("Base"));
  sync_.run_cycle(*ctx_);
  const std::vector<std::string> want = {"#defi", "$eth", "@vitalik.eth", "base"};
  EXPECT_EQ(tag_rows(id), want);
  EXPECT_EQ(sql("SELECT array_to_string(tags, ',') FROM external_posts WHERE id = " +
                std::to_string(id))[0][0]
                .as<std::string>(),
            "#defi,$eth,@vitalik.eth,base");
  EXPECT_EQ(
      sql("SELECT array_to_string(socialai_extract_tags('x', '$SOL and #sol', NULL), ',')")[0][0]
          .as<std::string>(),
      "#sol,$sol");
}

TEST_F(SearchPg, ChangedContentIsReindexed) {
  const auto id = add_post("post", "The merge happened #merge");
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(search("merge"), std::vector<std::string>{"post"});

  const std::string where = " WHERE id = " + std::to_string(id);
  sql("UPDATE external_posts SET content = content, score = 3" + where);  // same text
  EXPECT_EQ(pending(), 0);
  sql("UPDATE external_posts SET content = 'Staking rewards arrive #staking'" + where);
  EXPECT_EQ(pending(), 1);
  EXPECT_EQ(search("merge"), std::vector<std::string>{"post"});  // old vector until indexed

  sync_.run_cycle(*ctx_);
  EXPECT_EQ(pending(), 0);
  EXPECT_TRUE(search("merge").empty());
  EXPECT_EQ(search("staking"), std::vector<std::string>{"post"});
  EXPECT_EQ(tag_rows(id), std::vector<std::string>{"#staking"});

  // An upsert that rewrites identical text is not re-queued; a new community is.
  sql("INSERT INTO external_posts (source, external_id, content) VALUES ('test', 'post', "
      "'Staking rewards arrive #staking') ON CONFLICT (source, external_id) DO UPDATE SET "
      "content = EXCLUDED.content");
  EXPECT_EQ(pending(), 0);
  sql("UPDATE external_posts SET community = 'ethereum'" + where);
  EXPECT_EQ(pending(), 1);
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(tag_rows(id), (std::vector<std::string>{"#staking", "ethereum"}));
}

TEST_F(SearchPg, ConcurrentClaimersNeverIndexARowTwice) {
  sql("INSERT INTO external_posts (source, external_id, content) "
      "SELECT 'test', 'p' || g, 'post number ' || g || ' about #topic' || (g % 7) "
      "FROM generate_series(1, 3000) g");
  std::vector<std::int64_t> claimed[2];
  std::exception_ptr errors[2];
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      try {
        Db db(schema_->url());
        if (!db.connect(nullptr, 3)) {
          throw std::runtime_error("connect failed");
        }
        for (;;) {
          const SearchBatch b = SearchSync::index_batch(db, 100);
          if (b.ids.empty()) {
            break;
          }
          EXPECT_EQ(b.indexed, static_cast<std::int64_t>(b.ids.size()));
          claimed[t].insert(claimed[t].end(), b.ids.begin(), b.ids.end());
        }
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (const auto& e : errors) {
    if (e) {
      std::rethrow_exception(e);
    }
  }
  std::set<std::int64_t> all(claimed[0].begin(), claimed[0].end());
  EXPECT_EQ(all.size(), claimed[0].size());
  for (const auto id : claimed[1]) {
    EXPECT_TRUE(all.insert(id).second) << "post " << id << " claimed twice";
  }
  EXPECT_EQ(all.size(), 3000u);
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM external_posts WHERE search_vector IS NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM tags WHERE item_type = 'post'"), 3000);
}

TEST_F(SearchPg, ParallelCycleIndexesEverything) {
  sql("INSERT INTO external_posts (source, external_id, content) "
      "SELECT 'test', 'p' || g, 'word' || (g % 50) || ' shared text' "
      "FROM generate_series(1, 1000) g");
  ctx_->settings_["parallelism"] = "3";
  ctx_->settings_["batch_size"] = "50";
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 1000);
  EXPECT_TRUE(ctx_->failed_.empty());
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(search("shared", 2000).size(), 1000u);
}

// The full-text index takes new entries into its pending list (up to 8 MB,
// sql/017_search_pending_list.sql), which every search scans: a cycle that indexed something
// merges it into the index before it ends.
TEST_F(SearchPg, CycleMergesTheIndexPendingList) {
  sql("INSERT INTO external_posts (source, external_id, content) "
      "SELECT 'test', 'p' || g, 'word' || (g % 50) || ' pending text' "
      "FROM generate_series(1, 1000) g");
  const std::string merge =
      "SELECT gin_clean_pending_list(to_regclass('external_posts_search_vector'))";
  // A batch alone leaves its entries in the list (the merge below finds pages to move)...
  EXPECT_EQ(SearchSync::index_batch(*db_, 500).indexed, 500);
  EXPECT_GT(scalar(merge), 0);
  // ...a cycle does not.
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 500);
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(scalar(merge), 0);
  EXPECT_EQ(search("pending", 2000).size(), 1000u);
}

TEST_F(SearchPg, IndexingRunsWithItsWorkMem) {
  // What work_mem the indexing UPDATE ran with, as a trigger inside it sees it.
  sql("CREATE TABLE seen_work_mem (value text)");
  sql("CREATE FUNCTION note_work_mem() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "INSERT INTO seen_work_mem VALUES (current_setting('work_mem')); RETURN NULL; END $$");
  sql("CREATE TRIGGER note_work_mem AFTER UPDATE ON external_posts "
      "FOR EACH STATEMENT EXECUTE FUNCTION note_work_mem()");
  const std::string before = sql("SHOW work_mem")[0][0].as<std::string>();
  add_post("a", "first post");
  EXPECT_EQ(SearchSync::index_batch(*db_, 10, 0, 48).indexed, 1);
  add_post("b", "second post");
  ctx_->settings_["index_work_mem_mb"] = "96";
  sync_.run_cycle(*ctx_);
  add_post("c", "third post");
  ctx_->settings_["index_work_mem_mb"] = "1";  // below PostgreSQL's default: raised to it
  sync_.run_cycle(*ctx_);
  std::vector<std::string> seen;
  for (const auto& r : sql("SELECT value FROM seen_work_mem")) {
    seen.push_back(r[0].as<std::string>());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"48MB", "96MB", "4MB"}));
  // SET LOCAL: the connection's own setting is back after each batch.
  EXPECT_EQ(sql("SHOW work_mem")[0][0].as<std::string>(), before);
  EXPECT_EQ(ctx_->items_ok_, 2);
}

TEST_F(SearchPg, BadPostIsIsolatedAndNotRetriedForever) {
  for (int i = 0; i < 5; ++i) {
    add_post("good" + std::to_string(i), "a fine post about solana");
  }
  // Over 1 MB of distinct lexemes: "string is too long for tsvector".
  const auto bad = scalar(
      "INSERT INTO external_posts (source, external_id, content) SELECT 'test', 'bad', "
      "string_agg(md5(i::text), ' ') FROM generate_series(1, 40000) i RETURNING id");
  sync_.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 5);
  ASSERT_EQ(ctx_->failed_.size(), 1u);
  EXPECT_EQ(ctx_->failed_[0].first, "post:" + std::to_string(bad));
  EXPECT_NE(ctx_->failed_[0].second.find("too long"), std::string::npos);
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(search("solana").size(), 5u);

  sync_.run_cycle(*ctx_);  // nothing left to do, the bad post is not claimed again
  EXPECT_EQ(ctx_->items_ok_, 5);
  EXPECT_EQ(ctx_->failed_.size(), 1u);
}

TEST_F(SearchPg, SearchProfilesFindsMisspelledUsername) {
  sql("INSERT INTO profiles (source, external_id, username, display_name, bio) VALUES "
      "('farcaster', '3', 'dwr.eth', 'Dan Romero', 'Working on Farcaster'), "
      "('farcaster', '5650', 'vitalik.eth', 'Vitalik Buterin', 'Ethereum researcher'), "
      "('farcaster', '99', 'vitalikfan', 'Vitalik Fan Club', 'I like memes'), "
      "('farcaster', '100', 'dan', 'Dan', 'just dan')");
  const auto misspelled = search_profiles("vitalk");
  ASSERT_FALSE(misspelled.empty());
  EXPECT_NE(std::find(misspelled.begin(), misspelled.end(), "vitalik.eth"), misspelled.end());
  EXPECT_EQ(search_profiles("vitalik.eth").at(0), "vitalik.eth");
  EXPECT_EQ(search_profiles("@Dan").at(0), "dan");  // exact username first, "@" optional
  EXPECT_EQ(search_profiles("researcher"), std::vector<std::string>{"vitalik.eth"});  // bio
  EXPECT_TRUE(search_profiles("").empty());
}

TEST_F(SearchPg, QueryCommandPrintsBothTables) {
  add_post("cli-post", "Ethereum gas fees dropped");
  sql("INSERT INTO profiles (source, external_id, username, display_name) VALUES "
      "('farcaster', '7', 'ethereumdev', 'Eth Dev')");
  sync_.run_cycle(*ctx_);
  ::testing::internal::CaptureStdout();
  const int rc = sync_.run_command(*ctx_, {{"query", "ethereum"}});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("Posts matching \"ethereum\": 1"), std::string::npos) << out;
  EXPECT_NE(out.find("cli-post"), std::string::npos) << out;
  EXPECT_NE(out.find("*Ethereum*"), std::string::npos) << out;
  EXPECT_NE(out.find("Profiles matching"), std::string::npos) << out;
  EXPECT_NE(out.find("ethereumdev"), std::string::npos) << out;
}

}  // namespace
}  // namespace socialai
