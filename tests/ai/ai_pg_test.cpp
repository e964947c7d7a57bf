// The ai worker on a real PostgreSQL 15 and the real devnet's OpenAI service: results written,
// re-processing on change, two instances sharing the queue, the embedding cache, the daily
// budget, 429s with usage accounting, malformed answers as item failures, a rejected key.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/ai/ai_worker.h"
#include "workers/ai/openai_provider.h"

namespace socialai::ai {
namespace {

using socialai::testing::DevnetProcess;
using socialai::testing::TestContext;

constexpr const char* kKey = "sk-devnet-test";

class AiPg : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
    ctx_ = std::make_unique<TestContext>(*db_, "ai");
    ctx_->settings_["index_path"] = ::testing::TempDir() + "/" + schema_->name() + ".hnsw";
  }

  void TearDown() override {
    if (ctx_) {
      std::remove(ctx_->settings_["index_path"].c_str());
      std::remove((ctx_->settings_["index_path"] + ".meta").c_str());
    }
  }

  pqxx::result sql(const std::string& text) {
    return db_->with_transaction([&](pqxx::work& tx) { return db_->exec(tx, text); });
  }
  std::int64_t scalar(const std::string& text) { return sql(text)[0][0].as<std::int64_t>(); }

  std::int64_t add_post(const std::string& ext, const std::string& content,
                        const std::string& author = "nobody") {
    return db_->with_transaction([&](pqxx::work& tx) {
      return db_
          ->exec(tx,
                 "INSERT INTO external_posts (source, external_id, author_external_id, content) "
                 "VALUES ('test', $1, $2, $3) RETURNING id",
                 ext, author, content)[0][0]
          .as<std::int64_t>();
    });
  }
  std::int64_t add_profile(const std::string& ext, const std::string& username,
                           const std::string& bio) {
    return db_->with_transaction([&](pqxx::work& tx) {
      return db_
          ->exec(tx,
                 "INSERT INTO profiles (source, external_id, username, bio) VALUES ('test', $1, "
                 "$2, $3) RETURNING id",
                 ext, username, bio)[0][0]
          .as<std::int64_t>();
    });
  }
  void react(const std::string& actor, const std::string& post_ext) {
    db_->with_transaction([&](pqxx::work& tx) {
      db_->exec(tx,
                "INSERT INTO reactions (source, post_external_id, actor_external_id, kind) "
                "VALUES ('test', $1, $2, 'like')",
                post_ext, actor);
    });
  }

  void use_openai(const DevnetProcess& devnet) {
    ctx_->settings_["provider"] = "openai";
    ctx_->settings_["base_url"] = devnet.url("/openai/v1");
    ctx_->settings_["api_key"] = kKey;
    ctx_->settings_["embedding_model"] = "devnet-embed";
    ctx_->settings_["chat_model"] = "devnet-chat";
  }
  static nlohmann::json stats(const DevnetProcess& devnet) {
    return devnet.get("/_devnet/openai/stats");
  }

  std::optional<testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TestContext> ctx_;
};

TEST_F(AiPg, LocalPipelineWritesEveryResultAndRequeuesChangedText) {
  const auto p1 = add_post("1", "Ethereum gas fees are high again, terrible for users.", "alice");
  add_post("2", "Gas fees on Ethereum keep rising, paying high fees again.", "bob");
  const auto p3 = add_post("3", "Ethereum layer two rollups cut gas fees, great news.", "bob");
  add_post("4", "My sourdough bread recipe needs flour, water and salt.", "carol");
  add_post("5", "Baking bread at home: flour, salt, water and patience.", "carol");
  add_post("6", "A simple bread recipe with flour and a long rise.", "dave");
  add_post("7", "", "dave");  // nothing to process: marked done, no results
  const auto alice = add_profile("alice", "alice", "Ethereum developer, loves low gas fees");
  add_profile("carol", "carol", "Home baker sharing bread recipes");
  react("alice", "2");
  ctx_->settings_["topics_k"] = "2";
  ctx_->settings_["recluster_after"] = "1";
  ctx_->settings_["exact_threshold"] = "2";  // the hnswlib path, not the exact scan

  AiWorker worker;
  worker.validate(*ctx_);
  worker.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  EXPECT_EQ(ctx_->items_ok_, 9);  // 7 posts + 2 profiles
  EXPECT_EQ(scalar("SELECT count(*) FROM embeddings WHERE item_type = 'post'"), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM embeddings WHERE item_type = 'profile'"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_summaries"), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_sentiment"), 6);
  EXPECT_EQ(sql("SELECT label FROM ai_sentiment WHERE item_id = " + std::to_string(p1))[0][0]
                .as<std::string>(),
            "negative");
  EXPECT_EQ(sql("SELECT label FROM ai_sentiment WHERE item_id = " + std::to_string(p3))[0][0]
                .as<std::string>(),
            "positive");
  // Two topics: the gas-fee posts share one, the bread posts the other.
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_topics"), 2);
  EXPECT_EQ(scalar("SELECT count(DISTINCT t.topic_id) FROM ai_item_topics t JOIN external_posts "
                   "p ON p.id = t.item_id WHERE p.external_id IN ('1','2','3')"),
            1);
  EXPECT_EQ(scalar("SELECT count(DISTINCT t.topic_id) FROM ai_item_topics t JOIN external_posts "
                   "p ON p.id = t.item_id WHERE p.external_id IN ('4','5','6')"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_topics WHERE label LIKE '%bread%' OR label LIKE "
                   "'%flour%'"),
            1);
  // alice wrote post 1 and liked post 2: her best recommendation is post 3, never 1 or 2.
  const auto recs = sql("SELECT p.external_id FROM ai_recommendations r JOIN external_posts p ON "
                        "p.id = r.item_id WHERE r.profile_id = " +
                        std::to_string(alice) + " ORDER BY r.score DESC");
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0][0].as<std::string>(), "3");
  for (const auto& r : recs) {
    EXPECT_NE(r[0].as<std::string>(), "1");
    EXPECT_NE(r[0].as<std::string>(), "2");
  }

  // The index was persisted with its sidecar.
  std::ifstream meta(ctx_->settings_["index_path"] + ".meta");
  ASSERT_TRUE(meta.good());
  EXPECT_EQ(nlohmann::json::parse(meta)["count"], 6);

  // Nothing left: a second cycle processes nothing; a changed text is processed again.
  worker.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 9);
  const auto old_hash = sql("SELECT content_hash FROM embeddings WHERE item_id = " +
                            std::to_string(p3))[0][0].as<std::string>();
  sql("UPDATE external_posts SET content = 'Rollups are wonderful.' WHERE external_id = '3'");
  worker.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 10);
  EXPECT_NE(sql("SELECT content_hash FROM embeddings WHERE item_id = " + std::to_string(p3))[0][0]
                .as<std::string>(),
            old_hash);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_claims"), 0);
}

TEST_F(AiPg, TwoInstancesProcessEveryItemExactlyOnce) {
  constexpr int kPosts = 300;
  db_->with_transaction([&](pqxx::work& tx) {
    db_->exec(tx,
              "INSERT INTO external_posts (source, external_id, content) SELECT 'test', g::text, "
              "'post number ' || g || ' about topic ' || (g % 7) FROM generate_series(1, $1) g",
              kPosts);
  });
  std::int64_t ok[2] = {0, 0};
  std::latch connected(2);  // both start claiming together
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      Db db(schema_->url());
      const bool up = db.connect(nullptr, 3);
      connected.arrive_and_wait();
      ASSERT_TRUE(up);
      TestContext ctx(db, "ai");
      ctx.settings_ = ctx_->settings_;
      ctx.settings_["batch_size"] = "7";
      AiWorker worker;
      worker.run_cycle(ctx);
      EXPECT_TRUE(ctx.failed_.empty());
      ok[i] = ctx.items_ok_;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  // Each item is counted by exactly one instance: a double would push the sum above kPosts.
  EXPECT_EQ(ok[0] + ok[1], kPosts);
  EXPECT_GT(ok[0], 0);
  EXPECT_GT(ok[1], 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_item_state WHERE status = 'done'"), kPosts);
  EXPECT_EQ(scalar("SELECT count(*) FROM embeddings"), kPosts);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_claims"), 0);
}

TEST_F(AiPg, EmbeddingCacheAvoidsSecondCallForSameText) {
  DevnetProcess devnet({"--openai-api-key", kKey});
  use_openai(devnet);
  ctx_->settings_["batch_size"] = "1";  // one post per batch: each batch is a separate call
  ctx_->settings_["dimensions"] = "64";
  add_post("a", "The same words, posted twice.");
  add_post("b", "The same words, posted twice.");
  add_post("c", "Something different.");
  AiWorker worker;
  worker.validate(*ctx_);
  worker.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty());
  auto s = stats(devnet);
  EXPECT_EQ(s["calls"]["embeddings"], 2);  // "a" and "c"; "b" came from the cache
  EXPECT_EQ(s["inputs_embedded"], 2);
  EXPECT_EQ(s["calls"]["chat"], 3);
  // "dimensions" reached the API; the stored model name carries it.
  EXPECT_EQ(scalar("SELECT count(*) FROM embeddings WHERE model = 'devnet-embed@64' AND "
                   "dims = 64 AND array_length(vector, 1) = 64"),
            3);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_embedding_cache"), 2);
  // A text seen before is not embedded again, even on another item.
  sql("UPDATE external_posts SET content = 'Something different.' WHERE external_id = 'a'");
  worker.run_cycle(*ctx_);
  s = stats(devnet);
  EXPECT_EQ(s["calls"]["embeddings"], 2);
  EXPECT_EQ(s["calls"]["chat"], 4);
  EXPECT_EQ(ctx_->items_ok_, 4);
}

TEST_F(AiPg, DailyBudgetStopsCallsAndSaysSo) {
  DevnetProcess devnet({"--openai-api-key", kKey});
  use_openai(devnet);
  ctx_->settings_["batch_size"] = "5";
  ctx_->settings_["prices"] =
      R"({"devnet-chat": {"prompt_per_1k": 10.0, "completion_per_1k": 10.0}})";
  ctx_->settings_["daily_budget_usd"] = "0.01";
  for (int i = 0; i < 5; ++i) {
    add_post("p" + std::to_string(i), "Post number " + std::to_string(i) + " is good news.");
  }
  AiWorker worker;
  worker.run_cycle(*ctx_);
  auto s = stats(devnet);
  EXPECT_EQ(s["calls"]["chat"], 1);  // the first chat call spends more than the budget
  EXPECT_EQ(s["calls"]["embeddings"], 1);
  EXPECT_EQ(ctx_->items_ok_, 1);
  EXPECT_EQ(ctx_->note(), "daily budget of $0.01 reached; spending paused until 00:00 UTC");
  EXPECT_GT(scalar("SELECT (sum(cost_usd) * 1000000)::bigint FROM ai_usage"), 10000);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_claims"), 0);  // unprocessed items released

  worker.run_cycle(*ctx_);  // still paused: no call at all
  EXPECT_EQ(stats(devnet)["calls"]["chat"], 1);
  EXPECT_EQ(stats(devnet)["calls"]["embeddings"], 1);
  EXPECT_EQ(ctx_->items_ok_, 1);

  ctx_->settings_["daily_budget_usd"] = "100";
  worker.run_cycle(*ctx_);
  EXPECT_EQ(stats(devnet)["calls"]["chat"], 5);
  EXPECT_EQ(ctx_->items_ok_, 5);
  EXPECT_EQ(ctx_->note(), "");
}

TEST_F(AiPg, RateLimitedBatchCompletesAndUsageMatchesResponses) {
  DevnetProcess devnet({"--openai-api-key", kKey});
  devnet.post("/_devnet/faults",
              {{"service", "openai"}, {"rate", 0.3}, {"kinds", {"429", "5xx"}}, {"retry_after_s", 0}});
  use_openai(devnet);
  ctx_->settings_["batch_size"] = "4";
  ctx_->settings_["prices"] =
      R"({"devnet-chat": {"prompt_per_1k": 0.5, "completion_per_1k": 1.5},
          "devnet-embed": {"prompt_per_1k": 0.02}})";
  for (int i = 0; i < 12; ++i) {
    add_post("r" + std::to_string(i), "Rate limited post " + std::to_string(i) + " is fine.");
  }
  AiWorker worker;
  worker.run_cycle(*ctx_);
  EXPECT_TRUE(ctx_->failed_.empty()) << (ctx_->failed_.empty() ? "" : ctx_->failed_[0].second);
  EXPECT_EQ(ctx_->items_ok_, 12);
  const auto global = devnet.get("/_devnet/stats");
  EXPECT_GT(global["openai"]["faults"].value("429", 0) + global["openai"]["faults"].value("5xx", 0),
            0)
      << global.dump();
  const auto s = stats(devnet);
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_usage"),
            s["calls"]["embeddings"].get<std::int64_t>() + s["calls"]["chat"].get<std::int64_t>());
  EXPECT_EQ(scalar("SELECT sum(prompt_tokens) FROM ai_usage"), s["prompt_tokens"].get<std::int64_t>());
  EXPECT_EQ(scalar("SELECT sum(completion_tokens) FROM ai_usage"),
            s["completion_tokens"].get<std::int64_t>());
  // cost = tokens x price, per row
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_usage WHERE model = 'devnet-chat' AND cost_usd <> "
                   "round((prompt_tokens * 0.5 + completion_tokens * 1.5) / 1000.0, 6)"),
            0);
}

TEST_F(AiPg, MalformedChatAnswerIsAnItemFailure) {
  DevnetProcess devnet({"--openai-api-key", kKey, "--openai-bad-json-every", "2"});
  use_openai(devnet);
  for (int i = 0; i < 4; ++i) {
    add_post("m" + std::to_string(i), "Malformed answer test " + std::to_string(i));
  }
  AiWorker worker;
  worker.run_cycle(*ctx_);
  EXPECT_EQ(ctx_->items_ok_, 2);
  ASSERT_EQ(ctx_->failed_.size(), 2U);
  EXPECT_NE(ctx_->failed_[0].second.find("not JSON"), std::string::npos) << ctx_->failed_[0].second;
  EXPECT_EQ(scalar("SELECT count(*) FROM ai_item_state WHERE status = 'failed'"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM embeddings"), 4);  // the vectors were fine
  // Not retried before retry_at: the next cycle makes no chat call.
  worker.run_cycle(*ctx_);
  EXPECT_EQ(stats(devnet)["calls"]["chat"], 4);
}

TEST_F(AiPg, RejectedKeyFailsValidationWithoutShowingIt) {
  DevnetProcess devnet({"--openai-api-key", kKey});
  use_openai(devnet);
  ctx_->settings_["api_key"] = "sk-wrong-secret";
  AiWorker worker;
  try {
    worker.validate(*ctx_);
    FAIL() << "validate accepted a wrong key";
  } catch (const DependencyError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("401"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("sk-wrong-secret"), std::string::npos) << msg;
  }
  ctx_->settings_["provider"] = "gpt";
  EXPECT_THROW(worker.validate(*ctx_), DependencyError);
}

// OpenAI's x-ratelimit-remaining-requests: 0 with x-ratelimit-reset-requests pauses the client:
// the next call is not sent before the window resets (here: the caller gives up first).
TEST(AiOpenAi, ExhaustedRequestWindowHoldsTheNextCall) {
  DevnetProcess devnet({"--openai-rpm", "1"});
  std::atomic<bool> stop{false};
  OpenAiOptions o;
  o.base_url = devnet.url("/openai/v1");
  o.embedding_model = "devnet-embed";
  o.http.should_stop = [&stop] { return stop.load(); };
  OpenAiProvider provider(o);
  ASSERT_EQ(provider.embed({"first call"}).size(), 1U);  // answered with remaining-requests 0
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
  });
  EXPECT_THROW(provider.embed({"second call"}), ProviderError);
  stopper.join();
  const auto s = devnet.get("/_devnet/openai/stats");
  EXPECT_EQ(s["calls"]["embeddings"], 1);
  EXPECT_EQ(s["rejected_rate_limit"], 0);  // held back by the client, not refused by the server
}

}  // namespace
}  // namespace socialai::ai
