// VectorIndex over hnswlib (header-only, Debian libhnswlib-dev).
#include "workers/ai/vector_index.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <queue>
#include <stdexcept>
#include <unistd.h>

#include <hnswlib/hnswlib.h>

namespace socialai::ai {
namespace {

constexpr std::size_t kInitialCapacity = 1024;

hnswlib::labeltype label_of(std::int64_t id) { return static_cast<hnswlib::labeltype>(id); }

}  // namespace

VectorIndex::VectorIndex(int dims, std::size_t exact_threshold, std::size_t m,
                         std::size_t ef_construction, std::size_t ef_search)
    : dims_(dims),
      exact_threshold_(exact_threshold),
      m_(m),
      ef_construction_(ef_construction),
      ef_search_(ef_search),
      space_(std::make_unique<hnswlib::InnerProductSpace>(static_cast<std::size_t>(dims))),
      hnsw_(std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), kInitialCapacity, m,
                                                              ef_construction, 100)) {}

VectorIndex::~VectorIndex() = default;

std::size_t VectorIndex::size() const { return hnsw_->cur_element_count; }

std::optional<Vector> VectorIndex::get(std::int64_t id) const {
  const auto it = hnsw_->label_lookup_.find(label_of(id));
  if (it == hnsw_->label_lookup_.end()) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const float*>(hnsw_->getDataByInternalId(it->second));
  return Vector(p, p + dims_);
}

bool VectorIndex::upsert(std::int64_t id, const Vector& v) {
  if (v.size() != static_cast<std::size_t>(dims_)) {
    throw std::invalid_argument("vector dimension differs from the index");
  }
  const auto it = hnsw_->label_lookup_.find(label_of(id));
  if (it != hnsw_->label_lookup_.end() &&
      std::memcmp(hnsw_->getDataByInternalId(it->second), v.data(), v.size() * sizeof(float)) ==
          0) {
    return false;
  }
  if (it == hnsw_->label_lookup_.end() && hnsw_->cur_element_count >= hnsw_->max_elements_) {
    hnsw_->resizeIndex(hnsw_->max_elements_ * 2);
  }
  hnsw_->addPoint(v.data(), label_of(id));  // an existing label is updated in place
  return true;
}

std::vector<Neighbour> VectorIndex::search(const Vector& query, std::size_t k, bool exact) const {
  return exact || size() < exact_threshold_ ? search_exact(query, k) : search_hnsw(query, k);
}

std::vector<Neighbour> VectorIndex::search_exact(const Vector& query, std::size_t k) const {
  // Min-heap of the best k by score.
  using Entry = std::pair<float, std::int64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> best;
  const auto dims = static_cast<std::size_t>(dims_);
  // Internal ids are dense and their data contiguous: scan them in memory order.
  const std::size_t n = hnsw_->cur_element_count;
  for (std::size_t internal = 0; internal < n; ++internal) {
    const auto id = static_cast<hnswlib::tableint>(internal);
    const auto label = hnsw_->getExternalLabel(id);
    const auto* p = reinterpret_cast<const float*>(hnsw_->getDataByInternalId(id));
    float s = 0;
    for (std::size_t d = 0; d < dims; ++d) {
      s += p[d] * query[d];
    }
    if (best.size() < k) {
      best.emplace(s, static_cast<std::int64_t>(label));
    } else if (!best.empty() && s > best.top().first) {
      best.pop();
      best.emplace(s, static_cast<std::int64_t>(label));
    }
  }
  std::vector<Neighbour> out;
  while (!best.empty()) {
    out.push_back({best.top().second, best.top().first});
    best.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Neighbour> VectorIndex::search_hnsw(const Vector& query, std::size_t k) const {
  if (size() == 0 || k == 0) {
    return {};
  }
  hnsw_->setEf(std::max(ef_search_, k));
  auto pq = hnsw_->searchKnn(query.data(), std::min(k, size()));
  std::vector<Neighbour> out;
  while (!pq.empty()) {
    // Inner-product space distance is 1 - dot.
    out.push_back({static_cast<std::int64_t>(pq.top().second), 1.0F - pq.top().first});
    pq.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void VectorIndex::save(const std::string& path) const {
  // A name of our own: instances on one host sharing index_path must not write one temp file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(reinterpret_cast<std::uintptr_t>(this));
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  hnsw_->saveIndex(tmp);
  std::filesystem::rename(tmp, path);  // a crash never leaves a half-written index
}

bool VectorIndex::load(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return false;
  }
  auto loaded = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), path);
  hnsw_ = std::move(loaded);
  return true;
}

}  // namespace socialai::ai
