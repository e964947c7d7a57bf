// Unit tests of the ai worker's pure parts: the local provider on small labelled sets
// (tests/ai/data), OpenAI answer parsing, k-means, the vector index and the price table.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "workers/ai/budget.h"
#include "workers/ai/local_provider.h"
#include "workers/ai/openai_provider.h"
#include "workers/ai/pg_array.h"
#include "workers/ai/text.h"
#include "workers/ai/topics.h"
#include "workers/ai/vector_index.h"

namespace socialai::ai {
namespace {

std::vector<std::vector<std::string>> read_tsv(const std::string& name) {
  std::ifstream in(std::string(SOCIALAI_AI_TEST_DATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) {
      cols.push_back(col);
    }
    rows.push_back(cols);
  }
  return rows;
}

TEST(LocalEmbedding, ParaphrasesAreNearerThanUnrelatedTexts) {
  const LocalProvider p;
  const auto rows = read_tsv("paraphrase_triples.tsv");
  ASSERT_GE(rows.size(), 20U);
  int right = 0;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 3U);
    const Vector a = p.embed_one(r[0]);
    const float near = dot(a, p.embed_one(r[1]));
    const float far = dot(a, p.embed_one(r[2]));
    if (near > far) {
      ++right;
    } else {
      ADD_FAILURE() << "paraphrase not nearer: '" << r[0] << "' ~ '" << r[1] << "' " << near
                    << " vs '" << r[2] << "' " << far;
    }
  }
  EXPECT_EQ(right, static_cast<int>(rows.size()));
}

TEST(LocalEmbedding, DeterministicNormalisedAndSized) {
  const LocalProvider p(128);
  const Vector a = p.embed_one("Deterministic embeddings, please");
  EXPECT_EQ(a, p.embed_one("Deterministic embeddings, please"));
  ASSERT_EQ(a.size(), 128U);
  EXPECT_NEAR(dot(a, a), 1.0F, 1e-5F);
  EXPECT_NE(a, p.embed_one("something else entirely"));
  EXPECT_EQ(p.embedding_model(), "local-hash-v1-128");
  const Vector empty = p.embed_one("");
  EXPECT_EQ(dot(empty, empty), 0.0F);  // nothing to embed: zero vector, no NaN
}

TEST(LocalSentiment, SignsMatchLabelledSetWithNegations) {
  const auto rows = read_tsv("sentiment_labelled.tsv");
  ASSERT_GE(rows.size(), 20U);
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 2U);
    const double s = LocalProvider::sentiment(r[1]);
    EXPECT_GE(s, -1.0);
    EXPECT_LE(s, 1.0);
    if (r[0] == "+") {
      EXPECT_GT(s, 0.0) << r[1];
    } else {
      EXPECT_LT(s, 0.0) << r[1];
    }
  }
}

TEST(LocalSentiment, NegationFlipsAndNeutralIsZero) {
  EXPECT_GT(LocalProvider::sentiment("good"), 0);
  EXPECT_LT(LocalProvider::sentiment("not good"), 0);
  EXPECT_LT(LocalProvider::sentiment("it wasn't good"), 0);
  EXPECT_EQ(LocalProvider::sentiment("the table has four legs"), 0.0);
  EXPECT_EQ(sentiment_label(0.0), "neutral");
  EXPECT_EQ(sentiment_label(0.5), "positive");
  EXPECT_EQ(sentiment_label(-0.5), "negative");
}

TEST(LocalSummary, ShortTextsStayAndLongOnesAreExtracted) {
  EXPECT_EQ(LocalProvider::summarize("  Short   post. "), "Short post.");
  const std::string text =
      "Ethereum fees spiked during the NFT mint. Many users paid over fifty dollars in fees. "
      "I had a sandwich for lunch. The Ethereum fees fell again after the NFT mint ended. "
      "Weather is nice.";
  const std::string s = LocalProvider::summarize(text, 120);
  EXPECT_LE(s.size(), 123U);
  EXPECT_NE(s.find("fees"), std::string::npos) << s;
  EXPECT_EQ(s.find("sandwich"), std::string::npos) << s;
}

TEST(OpenAiParse, EmbeddingsInIndexOrderWithUsage) {
  Usage u;
  const auto v = OpenAiProvider::parse_embeddings(
      R"({"object":"list","data":[{"object":"embedding","index":1,"embedding":[0,2]},
          {"object":"embedding","index":0,"embedding":[3,4]}],"model":"m",
          "usage":{"prompt_tokens":7,"total_tokens":7}})",
      2, &u);
  ASSERT_EQ(v.size(), 2U);
  EXPECT_FLOAT_EQ(v[0][0], 0.6F);  // normalised
  EXPECT_FLOAT_EQ(v[1][1], 1.0F);
  EXPECT_EQ(u.prompt_tokens, 7);
  EXPECT_THROW(OpenAiProvider::parse_embeddings(R"({"data":[{"index":0,"embedding":[1]}]})", 2,
                                                nullptr),
               ProviderError);
  EXPECT_THROW(OpenAiProvider::parse_embeddings("{\"data\":[", 1, nullptr), ProviderError);
  EXPECT_THROW(OpenAiProvider::parse_embeddings(
                   R"({"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1]}]})", 2,
                   nullptr),
               ProviderError);
}

TEST(OpenAiParse, ChatNeedsStrictJsonAnswer) {
  Usage u;
  const Analysis a = OpenAiProvider::parse_chat(
      R"({"choices":[{"index":0,"message":{"role":"assistant",
          "content":"{\"summary\":\"A post.\",\"sentiment\":-0.4}"},"finish_reason":"stop"}],
          "usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}})",
      &u);
  EXPECT_EQ(a.summary, "A post.");
  EXPECT_DOUBLE_EQ(a.sentiment, -0.4);
  EXPECT_EQ(a.label, "negative");
  EXPECT_EQ(u.prompt_tokens, 20);
  EXPECT_EQ(u.completion_tokens, 9);
  Usage u2;
  EXPECT_THROW(OpenAiProvider::parse_chat(
                   R"({"choices":[{"message":{"content":"Sure! here it is"}}],
                       "usage":{"prompt_tokens":5,"completion_tokens":3}})",
                   &u2),
               ItemError);
  EXPECT_EQ(u2.completion_tokens, 3);  // usage read even when the reply is unusable
  EXPECT_THROW(OpenAiProvider::parse_chat(
                   R"({"choices":[{"message":{"content":"{\"summary\":\"x\",\"sentiment\":3}"}}]})",
                   nullptr),
               ItemError);
  EXPECT_THROW(OpenAiProvider::parse_chat("not json", nullptr), ItemError);
}

TEST(OpenAiParse, ResetDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(OpenAiProvider::parse_reset("1s"), milliseconds(1000));
  EXPECT_EQ(OpenAiProvider::parse_reset("6m0s"), milliseconds(360000));
  EXPECT_EQ(OpenAiProvider::parse_reset("20ms"), milliseconds(20));
  EXPECT_EQ(OpenAiProvider::parse_reset("1.5"), milliseconds(1500));
  EXPECT_EQ(OpenAiProvider::parse_reset("58.911s"), milliseconds(58911));
  EXPECT_FALSE(OpenAiProvider::parse_reset("soon"));
  EXPECT_FALSE(OpenAiProvider::parse_reset(""));
  // Beyond a day is garbage; a huge number must not overflow (found by fuzzing).
  EXPECT_EQ(OpenAiProvider::parse_reset("24h"), milliseconds(86400000));
  EXPECT_FALSE(OpenAiProvider::parse_reset("25h"));
  EXPECT_FALSE(OpenAiProvider::parse_reset(std::string(200, '4')));
}

TEST(Budget, CostsFromPriceTable) {
  const Budget b(R"({"gpt":{"prompt_per_1k":0.5,"completion_per_1k":1.5}})", 2.0);
  EXPECT_DOUBLE_EQ(b.cost({"chat", "gpt", 1000, 2000}), 3.5);
  EXPECT_DOUBLE_EQ(b.cost({"chat", "other", 1000, 2000}), 0.0);
  EXPECT_FALSE(b.exhausted());
  EXPECT_THROW(Budget("{\"gpt\":{\"prompt\":1}}", 0), std::invalid_argument);
  EXPECT_THROW(Budget("[1]", 0), std::invalid_argument);
}

TEST(PgArray, RoundTripsAndQuotes) {
  EXPECT_EQ(pg_array(std::vector<std::string>{"a\"b", "c\\d", ""}), R"({"a\"b","c\\d",""})");
  const Vector v = {0.25F, -1.5F, 3.0e-8F};
  EXPECT_EQ(parse_pg_vector(pg_vector(v)), v);
  EXPECT_THROW(parse_pg_vector("{1,x}"), std::invalid_argument);
}

std::vector<Vector> blobs(int per_blob, int blobs_n, int dims, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  std::vector<Vector> pts;
  for (int b = 0; b < blobs_n; ++b) {
    for (int i = 0; i < per_blob; ++i) {
      Vector v(static_cast<std::size_t>(dims), 0.0F);
      v[static_cast<std::size_t>(b)] = 1.0F;
      for (float& x : v) {
        x += noise(rng);
      }
      float n = 0;
      for (const float x : v) {
        n += x * x;
      }
      for (float& x : v) {
        x /= std::sqrt(n);
      }
      pts.push_back(v);
    }
  }
  return pts;
}

TEST(KMeans, SeparatesBlobsDeterministically) {
  const auto pts = blobs(20, 4, 16, 7);
  const Clustering a = kmeans(pts, 4, 42);
  const Clustering b = kmeans(pts, 4, 42);
  EXPECT_EQ(a.assignment, b.assignment);
  ASSERT_EQ(a.centroids.size(), 4U);
  for (int blob = 0; blob < 4; ++blob) {  // every blob lands in one cluster of its own
    std::set<int> ids;
    for (int i = 0; i < 20; ++i) {
      ids.insert(a.assignment[static_cast<std::size_t>(blob * 20 + i)]);
    }
    EXPECT_EQ(ids.size(), 1U) << "blob " << blob;
  }
  std::set<int> all(a.assignment.begin(), a.assignment.end());
  EXPECT_EQ(all.size(), 4U);
  EXPECT_EQ(kmeans(pts, 100, 1).centroids.size(), pts.size());  // k capped
}

TEST(TopicLabel, PrefersDistinctiveWords) {
  const std::string a = "ethereum gas fees", b = "ethereum gas price", c = "cats and dogs";
  std::vector<std::pair<std::string, int>> df = {{"and", 1},  {"cats", 1}, {"dogs", 1},
                                                 {"ethereum", 2}, {"fees", 1}, {"gas", 2},
                                                 {"price", 1}};
  const std::string label = label_cluster({&a, &b}, df, 3, 2);
  EXPECT_NE(label.find("ethereum"), std::string::npos) << label;
  EXPECT_NE(label.find("gas"), std::string::npos) << label;
  EXPECT_EQ(label_cluster({&c}, df, 3, 3).find("and"), std::string::npos);
}

TEST(VectorIndex, HnswAgreesWithExactAndPersists) {
  const auto pts = blobs(100, 8, 32, 3);
  VectorIndex idx(32, 10);
  for (std::size_t i = 0; i < pts.size(); ++i) {
    EXPECT_TRUE(idx.upsert(static_cast<std::int64_t>(i) + 1, pts[i]));
  }
  EXPECT_FALSE(idx.upsert(1, pts[0]));  // unchanged
  EXPECT_EQ(idx.size(), pts.size());
  int hits = 0, total = 0;
  for (std::size_t q = 0; q < pts.size(); q += 37) {
    const auto exact = idx.search_exact(pts[q], 10);
    const auto approx = idx.search_hnsw(pts[q], 10);
    ASSERT_EQ(exact.size(), 10U);
    EXPECT_EQ(exact[0].id, static_cast<std::int64_t>(q) + 1);
    std::set<std::int64_t> truth;
    for (const auto& n : exact) {
      truth.insert(n.id);
    }
    for (const auto& n : approx) {
      hits += truth.count(n.id) > 0 ? 1 : 0;
    }
    total += 10;
  }
  EXPECT_GE(static_cast<double>(hits) / total, 0.9);
  const std::string path = ::testing::TempDir() + "/ai_index_test.hnsw";
  idx.save(path);
  VectorIndex loaded(32, 10);
  ASSERT_TRUE(loaded.load(path));
  EXPECT_EQ(loaded.size(), idx.size());
  EXPECT_EQ(*loaded.get(5), pts[4]);
  EXPECT_FALSE(VectorIndex(32, 10).load(path + ".missing"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace socialai::ai
