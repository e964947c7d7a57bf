// Topic clusters: spherical k-means (k-means++ seeding, fixed seed) over post embeddings,
// labelled with each cluster's most distinctive words; written to ai_topics/ai_item_topics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/db.h"
#include "workers/ai/provider.h"

namespace socialai::ai {

struct Clustering {
  std::vector<int> assignment;  // cluster per point
  std::vector<Vector> centroids;  // L2-normalised
};

// Deterministic for the same points, k and seed. k is capped at the number of points.
// REQUIRES: all points have the same dimension.
Clustering kmeans(const std::vector<Vector>& points, int k, std::uint64_t seed,
                  int max_iterations = 30);

// Up to `n` words that are frequent in `cluster_docs` and rare elsewhere (tf-idf over the whole
// set), joined by ", ". `doc_freq` holds each word's document frequency over all `total_docs`.
std::string label_cluster(const std::vector<const std::string*>& cluster_docs,
                          const std::vector<std::pair<std::string, int>>& doc_freq_sorted,
                          int total_docs, int n = 3);

// Re-clusters the posts embedded with `model` when at least `recluster_after` embeddings were
// written since the last run (sync_state row worker/"topics:<model>") or no topics exist yet.
// Replaces the model's ai_topics (and, by cascade, ai_item_topics) in one transaction.
// Returns the number of topics written, or -1 when not due. REQUIRES: no open transaction.
int recluster_if_due(Db& db, const std::string& worker, const std::string& model, int k,
                     int recluster_after);

}  // namespace socialai::ai
