// LocalProvider: the built-in, network-free, deterministic provider (SPEC §7 "ai", `local`).
//  - Embeddings: hashed features (word unigrams after light stemming, word bigrams, character
//    3-grams of each word) with sublinear TF weights (1 + ln tf), signed feature hashing into
//    `dims` buckets (a random projection of the sparse bag of features), L2-normalised.
//  - Summaries: extractive (the most central sentences, in their original order).
//  - Sentiment: AFINN-165 word valences with negation, intensifiers and "but" handling,
//    squashed into [-1, 1] like VADER (x / sqrt(x^2 + 15)).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "workers/ai/provider.h"

namespace socialai::ai {

class LocalProvider : public Provider {
 public:
  static constexpr int kDefaultDims = 256;
  explicit LocalProvider(int dims = kDefaultDims);

  std::string name() const override { return "local"; }
  std::string embedding_model() const override;  // "local-hash-v1-<dims>"
  std::string chat_model() const override { return "local-extractive-v1"; }
  bool billed() const override { return false; }
  std::vector<Vector> embed(const std::vector<std::string>& texts) override;
  Analysis analyse(const std::string& text) override;

  // The pieces, public for tests and the benchmark.
  Vector embed_one(std::string_view text) const;
  static double sentiment(std::string_view text);
  static std::string summarize(std::string_view text, std::size_t max_bytes = 280);
  int dims() const { return dims_; }

 private:
  int dims_;
};

// Cosine similarity of two L2-normalised vectors (their dot product).
float dot(const Vector& a, const Vector& b);

}  // namespace socialai::ai
