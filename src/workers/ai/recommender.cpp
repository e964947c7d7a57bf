// Recommender: index sync from embeddings, per-profile nearest posts into ai_recommendations.
#include "workers/ai/recommender.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "workers/ai/advisory_lock.h"
#include "workers/ai/pg_array.h"

namespace socialai::ai {

Recommender::Recommender(std::string model, int dims, RecommenderOptions options)
    : model_(std::move(model)),
      dims_(dims),
      options_(std::move(options)),
      index_(std::make_unique<VectorIndex>(dims, options_.exact_threshold)) {}

Recommender::~Recommender() = default;

void Recommender::load() {
  loaded_ = true;
  if (options_.index_path.empty()) {
    return;
  }
  const std::string meta_path = options_.index_path + ".meta";
  try {
    std::ifstream in(meta_path);
    if (!in) {
      return;
    }
    const auto meta = nlohmann::json::parse(in);
    if (meta.value("model", "") != model_ || meta.value("dims", 0) != dims_) {
      spdlog::info("ai: index at {} is for another model; rebuilding", options_.index_path);
      return;
    }
    auto idx = std::make_unique<VectorIndex>(dims_, options_.exact_threshold);
    if (idx->load(options_.index_path) &&
        idx->size() == meta.value("count", std::size_t{0})) {
      index_ = std::move(idx);
      watermark_ = meta.value("watermark", std::string("-infinity"));
      spdlog::info("ai: loaded {} vector(s) from {}", index_->size(), options_.index_path);
    }
  } catch (const std::exception& e) {
    spdlog::warn("ai: cannot load index {} ({}); rebuilding", options_.index_path, e.what());
    index_ = std::make_unique<VectorIndex>(dims_, options_.exact_threshold);
    watermark_ = "-infinity";
  }
}

void Recommender::save() const {
  if (options_.index_path.empty()) {
    return;
  }
  index_->save(options_.index_path);
  const nlohmann::json meta = {{"model", model_},
                               {"dims", dims_},
                               {"count", index_->size()},
                               {"watermark", watermark_}};
  const std::string tmp = options_.index_path + ".meta.tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(reinterpret_cast<std::uintptr_t>(this));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << meta.dump() << '\n';
  }
  std::filesystem::rename(tmp, options_.index_path + ".meta");
}

std::size_t Recommender::sync(Db& db) {
  if (!loaded_) {
    load();
  }
  std::size_t changed = 0;
  db.with_transaction([&](pqxx::work& tx) {
    // Rows are stamped with their transaction's start time, so one that committed late can
    // carry a time below the watermark: re-read a minute back (unchanged vectors are skipped).
    for (const auto& r : db.exec(
             tx,
             "SELECT item_id, vector::text, created_at::text FROM embeddings WHERE model = $1 "
             "AND item_type = 'post' AND created_at > $2::timestamptz - interval '1 minute' "
             "ORDER BY created_at",
             model_, watermark_)) {
      const Vector v = parse_pg_vector(r[1].as<std::string>());
      if (v.size() != static_cast<std::size_t>(dims_)) {
        continue;
      }
      if (index_->upsert(r[0].as<std::int64_t>(), v)) {
        ++changed;
      }
      watermark_ = r[2].as<std::string>();
    }
  });
  if (changed > 0) {
    changed_since_refresh_ = true;
    try {
      save();
    } catch (const std::exception& e) {  // the index in memory stays good; saved next time
      spdlog::warn("ai: cannot save index {}: {}", options_.index_path, e.what());
    }
  }
  return changed;
}

int Recommender::refresh(Db& db, const std::string& worker, bool force) {
  const std::string key = "recommendations:" + model_;
  struct Activity {
    std::vector<std::int64_t> seen;  // posts written or reacted to
  };
  std::map<std::int64_t, Activity> profiles;
  std::string reactions_mark;
  const TryAdvisoryLock lock(db, "socialai-ai-" + key);
  if (!lock.held()) {
    return -1;  // another instance is writing them
  }
  const bool due = db.with_transaction([&](pqxx::work& tx) {
    reactions_mark = db.exec(tx, "SELECT count(*)::text FROM reactions")[0][0].as<std::string>();
    const auto prev = db.exec(tx, "SELECT cursor FROM sync_state WHERE worker = $1 AND key = $2",
                              worker, key);
    return force || changed_since_refresh_ || prev.empty() || prev[0][0].is_null() ||
           prev[0][0].as<std::string>() != reactions_mark;
  });
  if (!due || index_->size() == 0) {
    return -1;
  }
  db.with_transaction([&](pqxx::work& tx) {
    for (const auto& r : db.exec(
             tx,
             "SELECT pr.id, p.id FROM profiles pr JOIN external_posts p ON p.source = pr.source "
             "AND p.author_external_id = pr.external_id "
             "UNION "
             "SELECT pr.id, p.id FROM profiles pr JOIN reactions r ON r.source = pr.source AND "
             "r.actor_external_id = pr.external_id JOIN external_posts p ON p.source = r.source "
             "AND p.external_id = r.post_external_id")) {
      profiles[r[0].as<std::int64_t>()].seen.push_back(r[1].as<std::int64_t>());
    }
  });
  std::vector<std::int64_t> rec_profile, rec_item;
  std::vector<std::string> rec_score;
  std::vector<std::int64_t> touched;
  for (const auto& [profile_id, act] : profiles) {
    Vector mean(static_cast<std::size_t>(dims_), 0.0F);
    int n = 0;
    for (const auto id : act.seen) {
      if (const auto v = index_->get(id)) {
        for (std::size_t d = 0; d < mean.size(); ++d) {
          mean[d] += (*v)[d];
        }
        ++n;
      }
    }
    if (n == 0) {
      continue;
    }
    float norm = 0;
    for (const float x : mean) {
      norm += x * x;
    }
    if (norm <= 0) {
      continue;
    }
    for (float& x : mean) {
      x /= std::sqrt(norm);
    }
    touched.push_back(profile_id);
    const std::set<std::int64_t> exclude(act.seen.begin(), act.seen.end());
    std::size_t written = 0;
    for (const auto& nb : index_->search(mean, options_.per_profile + exclude.size())) {
      if (exclude.count(nb.id) != 0) {
        continue;
      }
      rec_profile.push_back(profile_id);
      rec_item.push_back(nb.id);
      rec_score.push_back(std::to_string(nb.score));
      if (++written == options_.per_profile) {
        break;
      }
    }
  }
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, "DELETE FROM ai_recommendations WHERE profile_id = ANY ($1::bigint[])",
            pg_array(touched));
    if (!rec_item.empty()) {
      db.exec(tx,
              "INSERT INTO ai_recommendations (profile_id, item_type, item_id, score) "
              "SELECT pr, 'post', i, s::real FROM unnest($1::bigint[], $2::bigint[], $3::text[]) "
              "AS x(pr, i, s)",
              pg_array(rec_profile), pg_array(rec_item), pg_array(rec_score));
    }
    db.exec(tx,
            "INSERT INTO sync_state (worker, key, cursor, updated_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
            worker, key, reactions_mark);
  });
  changed_since_refresh_ = false;
  return static_cast<int>(touched.size());
}

}  // namespace socialai::ai
