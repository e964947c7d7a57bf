// k-means over embeddings and topic labelling.
#include "workers/ai/topics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "workers/ai/advisory_lock.h"
#include "workers/ai/local_provider.h"
#include "workers/ai/pg_array.h"
#include "workers/ai/text.h"

namespace socialai::ai {
namespace {

// Uniform in [0, 1) from the 53 high bits: unlike std::uniform_real_distribution, identical
// across standard libraries.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

float dist2(const Vector& a, const Vector& b) {
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

void normalise(Vector& v) {
  float n = 0;
  for (const float x : v) {
    n += x * x;
  }
  if (n > 0) {
    const float inv = 1.0F / std::sqrt(n);
    for (float& x : v) {
      x *= inv;
    }
  }
}

}  // namespace

Clustering kmeans(const std::vector<Vector>& points, int k, std::uint64_t seed,
                  int max_iterations) {
  Clustering c;
  const std::size_t n = points.size();
  if (n == 0 || k <= 0) {
    return c;
  }
  const auto kk = std::min(static_cast<std::size_t>(k), n);
  std::mt19937_64 rng(seed);
  // k-means++: first centre uniform, then each next one with probability ~ D(x)^2.
  c.centroids.push_back(points[static_cast<std::size_t>(unit(rng) * static_cast<double>(n))]);
  std::vector<float> d2(n, std::numeric_limits<float>::max());
  while (c.centroids.size() < kk) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], dist2(points[i], c.centroids.back()));
      total += d2[i];
    }
    std::size_t pick = 0;
    if (total <= 0) {  // all remaining points coincide with centres
      pick = static_cast<std::size_t>(unit(rng) * static_cast<double>(n));
    } else {
      double r = unit(rng) * total;
      for (pick = 0; pick + 1 < n; ++pick) {
        r -= d2[pick];
        if (r < 0) {
          break;
        }
      }
    }
    c.centroids.push_back(points[pick]);
  }
  c.assignment.assign(n, -1);
  const std::size_t dims = points[0].size();
  for (int iter = 0; iter < max_iterations; ++iter) {
    bool changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      int best = 0;
      float best_d = std::numeric_limits<float>::max();
      for (std::size_t j = 0; j < c.centroids.size(); ++j) {
        const float d = dist2(points[i], c.centroids[j]);
        if (d < best_d) {
          best_d = d;
          best = static_cast<int>(j);
        }
      }
      if (c.assignment[i] != best) {
        c.assignment[i] = best;
        changed = true;
      }
    }
    if (!changed) {
      break;
    }
    std::vector<Vector> sums(c.centroids.size(), Vector(dims, 0.0F));
    std::vector<int> counts(c.centroids.size(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const auto j = static_cast<std::size_t>(c.assignment[i]);
      ++counts[j];
      for (std::size_t d = 0; d < dims; ++d) {
        sums[j][d] += points[i][d];
      }
    }
    for (std::size_t j = 0; j < c.centroids.size(); ++j) {
      if (counts[j] > 0) {  // an emptied cluster keeps its old centre
        normalise(sums[j]);
        c.centroids[j] = std::move(sums[j]);
      }
    }
  }
  return c;
}

std::string label_cluster(const std::vector<const std::string*>& cluster_docs,
                          const std::vector<std::pair<std::string, int>>& doc_freq_sorted,
                          int total_docs, int n) {
  std::map<std::string, int> df;
  for (const auto* doc : cluster_docs) {
    std::set<std::string> seen;
    for (auto& t : tokenize(*doc)) {
      if (t.size() >= 3 && !is_stop_word(t) &&
          !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        seen.insert(std::move(t));
      }
    }
    for (const auto& w : seen) {
      ++df[w];
    }
  }
  std::vector<std::pair<double, std::string>> scored;
  for (const auto& [w, count] : df) {
    const auto it = std::lower_bound(doc_freq_sorted.begin(), doc_freq_sorted.end(),
                                     std::make_pair(w, 0));
    const int all = (it != doc_freq_sorted.end() && it->first == w) ? it->second : count;
    const double idf = std::log((1.0 + total_docs) / (1.0 + all)) + 1.0;
    scored.emplace_back(-static_cast<double>(count) * idf, w);
  }
  std::sort(scored.begin(), scored.end());
  std::string label;
  for (std::size_t i = 0; i < scored.size() && static_cast<int>(i) < n; ++i) {
    if (!label.empty()) {
      label += ", ";
    }
    label += scored[i].second;
  }
  return label.empty() ? "(no words)" : label;
}

int recluster_if_due(Db& db, const std::string& worker, const std::string& model, int k,
                     int recluster_after) {
  const std::string key = "topics:" + model;
  struct Row {
    std::int64_t id;
    Vector vec;
    std::string text;
  };
  std::vector<Row> rows;
  const TryAdvisoryLock lock(db, "socialai-ai-" + key);
  if (!lock.held()) {
    return -1;  // another instance is clustering
  }
  const bool due = db.with_transaction([&](pqxx::work& tx) {
    const auto r = db.exec(
        tx,
        "SELECT (SELECT count(*) FROM embeddings e WHERE e.model = $1 AND e.item_type = 'post' "
        "AND e.created_at > coalesce((SELECT cursor::timestamptz FROM sync_state WHERE "
        "worker = $2 AND key = $3), '-infinity')), "
        "EXISTS (SELECT 1 FROM ai_topics WHERE model = $1), "
        "(SELECT count(*) FROM embeddings e WHERE e.model = $1 AND e.item_type = 'post')",
        model, worker, key);
    const auto fresh = r[0][0].as<std::int64_t>();
    const bool have = r[0][1].as<bool>();
    const auto total = r[0][2].as<std::int64_t>();
    return total > 0 && (fresh >= recluster_after || (!have && fresh > 0));
  });
  if (!due) {
    return -1;
  }
  std::string started;
  db.with_transaction([&](pqxx::work& tx) {
    started = db.exec(tx, "SELECT now()::text")[0][0].as<std::string>();
    for (const auto& r :
         db.exec(tx,
                 "SELECT e.item_id, e.vector::text, coalesce(p.title, '') || ' ' || "
                 "coalesce(p.content, '') FROM embeddings e JOIN external_posts p ON p.id = "
                 "e.item_id WHERE e.model = $1 AND e.item_type = 'post' ORDER BY e.item_id",
                 model)) {
      rows.push_back({r[0].as<std::int64_t>(), parse_pg_vector(r[1].as<std::string>()),
                      r[2].as<std::string>()});
    }
  });
  std::vector<Vector> points;
  points.reserve(rows.size());
  for (const auto& r : rows) {
    points.push_back(r.vec);
  }
  const Clustering c = kmeans(points, k, 0x5eed);
  // Document frequencies over every post, for the labels' idf.
  std::map<std::string, int> all_df;
  for (const auto& r : rows) {
    std::set<std::string> seen;
    for (auto& t : tokenize(r.text)) {
      seen.insert(std::move(t));
    }
    for (const auto& w : seen) {
      ++all_df[w];
    }
  }
  const std::vector<std::pair<std::string, int>> df_sorted(all_df.begin(), all_df.end());
  const int total_docs = static_cast<int>(rows.size());
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, "DELETE FROM ai_topics WHERE model = $1", model);
    for (std::size_t j = 0; j < c.centroids.size(); ++j) {
      std::vector<const std::string*> docs;
      std::vector<std::int64_t> ids;
      std::vector<std::string> scores;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (c.assignment[i] == static_cast<int>(j)) {
          docs.push_back(&rows[i].text);
          ids.push_back(rows[i].id);
          scores.push_back(std::to_string(dot(rows[i].vec, c.centroids[j])));
        }
      }
      if (ids.empty()) {
        continue;
      }
      const auto topic_id =
          db.exec(tx,
                  "INSERT INTO ai_topics (model, label, centroid, size) VALUES ($1, $2, "
                  "$3::real[], $4) RETURNING id",
                  model, label_cluster(docs, df_sorted, total_docs),
                  pg_vector(c.centroids[j]), static_cast<int>(ids.size()))[0][0]
              .as<std::int64_t>();
      db.exec(tx,
              "INSERT INTO ai_item_topics (item_type, item_id, topic_id, score) "
              "SELECT 'post', i, $1, s::real FROM unnest($2::bigint[], $3::text[]) AS x(i, s)",
              topic_id, pg_array(ids), pg_array(scores));
    }
    db.exec(tx,
            "INSERT INTO sync_state (worker, key, cursor, updated_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
            worker, key, started);
  });
  spdlog::info("{}: {} topic(s) over {} post(s) for model {}", worker, c.centroids.size(),
               rows.size(), model);
  return static_cast<int>(c.centroids.size());
}

}  // namespace socialai::ai
