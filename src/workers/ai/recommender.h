// Recommender: per profile, the posts nearest to the mean embedding of what the profile wrote
// and reacted to (reactions.actor_external_id + source), excluding those posts themselves.
// Post vectors live in a VectorIndex that is persisted to `index_path` (with a JSON sidecar
// `<index_path>.meta`: model, dims, watermark) and updated incrementally from embeddings rows
// newer than the watermark.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/db.h"
#include "workers/ai/vector_index.h"

namespace socialai::ai {

struct RecommenderOptions {
  std::string index_path;                // empty: in memory only
  std::size_t exact_threshold = 20000;   // exact scan below this many posts
  std::size_t per_profile = 10;          // ai_recommendations rows per profile
};

class Recommender {
 public:
  Recommender(std::string model, int dims, RecommenderOptions options);
  ~Recommender();

  // Loads the persisted index on first use; adds post embeddings written since the watermark
  // (with a small overlap for transactions that committed late); saves when anything changed.
  // Returns the number of vectors added or changed. REQUIRES: no open transaction on db.
  std::size_t sync(Db& db);
  // Recomputes ai_recommendations for every profile with activity, in one transaction, when
  // the index changed or the reactions count moved since the last run (or `force`). Returns
  // the number of profiles written, or -1 when nothing was due.
  int refresh(Db& db, const std::string& worker, bool force = false);

  const VectorIndex& index() const { return *index_; }
  const std::string& model() const { return model_; }

 private:
  void load();
  void save() const;

  std::string model_;
  int dims_;
  RecommenderOptions options_;
  std::unique_ptr<VectorIndex> index_;
  std::string watermark_ = "-infinity";
  bool loaded_ = false;
  bool changed_since_refresh_ = true;
};

}  // namespace socialai::ai
