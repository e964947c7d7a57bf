// VectorIndex: nearest neighbours by cosine similarity over L2-normalised vectors, labelled by
// item id. hnswlib's HNSW graph (inner-product space) holds the vectors; below a size threshold
// queries scan them exactly instead. The graph is saved to and loaded from a file.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workers/ai/provider.h"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
class InnerProductSpace;
}  // namespace hnswlib

namespace socialai::ai {

struct Neighbour {
  std::int64_t id;
  float score;  // cosine similarity
};

class VectorIndex {
 public:
  // M and ef_construction as hnswlib names them; ef_search is raised to k for each query.
  VectorIndex(int dims, std::size_t exact_threshold, std::size_t m = 16,
              std::size_t ef_construction = 200, std::size_t ef_search = 64);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds or replaces the vector of `id`. Returns false when it was already there unchanged.
  // REQUIRES: v.size() == dims().
  bool upsert(std::int64_t id, const Vector& v);
  std::optional<Vector> get(std::int64_t id) const;
  std::size_t size() const;
  void set_ef_search(std::size_t ef) { ef_search_ = ef; }
  int dims() const { return dims_; }

  // The k most similar, best first; exact scan when size() < exact_threshold (or `exact`).
  std::vector<Neighbour> search(const Vector& query, std::size_t k, bool exact = false) const;
  std::vector<Neighbour> search_exact(const Vector& query, std::size_t k) const;
  std::vector<Neighbour> search_hnsw(const Vector& query, std::size_t k) const;

  // Throws std::runtime_error on I/O failure. load() returns false (index unchanged) when the
  // file does not exist.
  void save(const std::string& path) const;
  bool load(const std::string& path);

 private:
  int dims_;
  std::size_t exact_threshold_;
  std::size_t m_, ef_construction_, ef_search_;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw_;
};

}  // namespace socialai::ai
