// Pipeline: claim → embed (cache first) → analyse → one write transaction per batch.
#include "workers/ai/pipeline.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "workers/ai/pg_array.h"

namespace socialai::ai {
namespace {

// The text each item kind is processed as; its md5 is the content hash. Constant SQL
// fragments (no values), spliced into the statements below once.
constexpr const char* kPostText = "coalesce(p.title, '') || E'\\n' || coalesce(p.content, '')";
constexpr const char* kProfileText =
    "coalesce(p.display_name, '') || E'\\n' || coalesce(p.username, '') || E'\\n' || "
    "coalesce(p.bio, '')";

constexpr int kClaimAttempts = 20;

struct KindSql {
  std::string claim;
  std::string fetch;
};

// claim: $1 pipeline, $2 limit, $3 max attempts, $4 owner, $5 lease seconds, $6 the highest id
// this pipeline claimed so far (claims walk the ids upwards, so a cycle does not rescan the
// done rows below it for every batch).
// fetch: $1 pipeline, $2 the claimed ids, $3 max attempts: those still due, read in a snapshot
// taken after the claim. The claim's candidates come from its statement's snapshot: an item
// that another instance finished (and unclaimed) after that snapshot was taken looks due to
// it, and its claim then succeeds; the fetch sees the finished state and leaves it out.
KindSql make_sql(const std::string& type, const std::string& table, const std::string& text) {
  // Items of the pipeline's `p` rows that need (re)processing: new, changed, or failed and due.
  const std::string due = " p LEFT JOIN ai_item_state s ON s.item_type = '" + type +
                          "' AND s.item_id = p.id AND s.pipeline = $1"
                          " WHERE (s.item_id IS NULL OR s.content_hash <> md5(" + text +
                          ") OR (s.status = 'failed' AND s.attempts < $3 AND s.retry_at <= now()))";
  KindSql s;
  s.claim = "WITH cand AS (SELECT p.id FROM " + table + due +
            " AND p.id > $6"
            " AND NOT EXISTS (SELECT 1 FROM ai_claims c WHERE c.item_type = '" + type +
            "' AND c.item_id = p.id AND c.pipeline = $1 AND c.lease_until > now())"
            " ORDER BY p.id LIMIT $2 FOR UPDATE OF p SKIP LOCKED),"
            " ins AS (INSERT INTO ai_claims (item_type, item_id, pipeline, owner, lease_until)"
            " SELECT '" + type + "', id, $1, $4, now() + make_interval(secs => $5) FROM cand"
            " ON CONFLICT (item_type, item_id, pipeline) DO UPDATE"
            " SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until"
            " WHERE ai_claims.lease_until <= now()"
            " RETURNING item_id)"
            // -1 marks "there were candidates", so a claim that lost every candidate to
            // another instance is told apart from an empty queue.
            " SELECT item_id FROM ins UNION ALL SELECT -1 WHERE EXISTS (SELECT 1 FROM cand)";
  s.fetch = "SELECT p.id, " + text + ", md5(" + text + ") FROM " + table + due +
            " AND p.id = ANY ($2::bigint[]) ORDER BY p.id";
  return s;
}

const KindSql& sql_for(const std::string& type) {
  static const KindSql post = make_sql("post", "external_posts", kPostText);
  static const KindSql profile = make_sql("profile", "profiles", kProfileText);
  return type == "post" ? post : profile;
}

std::string default_owner() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd());
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; });
}

}  // namespace

struct Pipeline::Item {
  std::string type;
  std::int64_t id = 0;
  std::string text;
  std::string hash;
  std::optional<Vector> vec;
  std::optional<Analysis> analysis;
  std::string error;      // non-empty: failed
  bool skipped = false;   // not attempted (budget, stop): only the claim is released
};

Pipeline::Pipeline(Db& db, Provider& provider, Budget& budget, PipelineOptions options)
    : db_(db), provider_(provider), budget_(budget), options_(std::move(options)) {
  if (options_.owner.empty()) {
    options_.owner = default_owner();
  }
  provider_.set_usage_sink(
      [this](const Usage& u) { budget_.record(db_, provider_.name(), u); });
}

std::string Pipeline::pipeline_id() const {
  return provider_.name() + ":" + provider_.embedding_model() + "+" + provider_.chat_model();
}

std::vector<Pipeline::Item> Pipeline::claim(const std::string& type, int limit) {
  const KindSql& sql = sql_for(type);
  const std::string pid = pipeline_id();
  return db_.with_transaction([&](pqxx::work& tx) {
    std::vector<std::int64_t> ids;
    std::int64_t& after = type == "post" ? after_post_ : after_profile_;
    // Candidates read from a snapshot may all have been claimed by another instance by the
    // time our insert runs; then the next statement (new snapshot) sees those claims.
    for (int attempt = 0; attempt < kClaimAttempts && ids.empty(); ++attempt) {
      bool had_candidates = false;
      for (const auto& row : db_.exec(tx, sql.claim, pid, limit, kMaxAttempts, options_.owner,
                                      static_cast<double>(options_.lease.count()), after)) {
        const auto id = row[0].as<std::int64_t>();
        if (id < 0) {
          had_candidates = true;
          continue;
        }
        ids.push_back(id);
        after = std::max(after, id);
      }
      if (!had_candidates) {
        break;
      }
    }
    std::vector<Item> items;
    if (ids.empty()) {
      return items;
    }
    std::vector<std::int64_t> gone(ids);  // claimed, but no longer due (see make_sql)
    for (const auto& row : db_.exec(tx, sql.fetch, pid, pg_array(ids), kMaxAttempts)) {
      Item it;
      it.type = type;
      it.id = row[0].as<std::int64_t>();
      it.text = row[1].as<std::string>();
      it.hash = row[2].as<std::string>();
      std::erase(gone, it.id);
      items.push_back(std::move(it));
    }
    if (!gone.empty()) {
      db_.exec(tx,
               "DELETE FROM ai_claims WHERE item_type = $1 AND pipeline = $2 AND owner = $3 AND "
               "item_id = ANY ($4::bigint[])",
               type, pid, options_.owner, pg_array(gone));
    }
    return items;
  });
}

void Pipeline::embed_items(std::vector<Item>& items, WorkerContext& ctx) {
  const std::string model = provider_.embedding_model();
  std::vector<std::string> hashes;
  for (const auto& it : items) {
    if (!blank(it.text)) {
      hashes.push_back(it.hash);
    }
  }
  if (hashes.empty()) {
    return;
  }
  std::map<std::string, Vector> known;
  db_.with_transaction([&](pqxx::work& tx) {
    for (const auto& row : db_.exec(tx,
                                    "SELECT content_hash, vector::text FROM ai_embedding_cache "
                                    "WHERE model = $1 AND content_hash = ANY ($2::text[])",
                                    model, pg_array(hashes))) {
      known[row[0].as<std::string>()] = parse_pg_vector(row[1].as<std::string>());
    }
  });
  // Unique texts not in the cache, embedded in one call.
  std::vector<std::string> miss_hashes;
  std::vector<std::string> miss_texts;
  for (const auto& it : items) {
    if (!blank(it.text) && known.count(it.hash) == 0 &&
        std::find(miss_hashes.begin(), miss_hashes.end(), it.hash) == miss_hashes.end()) {
      miss_hashes.push_back(it.hash);
      miss_texts.push_back(it.text);
    }
  }
  std::string call_error;
  if (!miss_texts.empty()) {
    if (provider_.billed() && budget_.exhausted()) {
      for (auto& it : items) {
        it.skipped = true;
      }
      return;
    }
    try {
      const auto vectors = provider_.embed(miss_texts);
      std::vector<int> dims;
      std::vector<std::string> literals;
      for (std::size_t i = 0; i < vectors.size(); ++i) {
        known[miss_hashes[i]] = vectors[i];
        dims.push_back(static_cast<int>(vectors[i].size()));
        literals.push_back(pg_vector(vectors[i]));
      }
      // Cached at once, in its own transaction: paid vectors survive a later failure.
      db_.with_transaction([&](pqxx::work& tx) {
        db_.exec(tx,
                 "INSERT INTO ai_embedding_cache (model, content_hash, dims, vector) "
                 "SELECT $1, h, d, v::real[] FROM unnest($2::text[], $3::int[], $4::text[]) "
                 "AS x(h, d, v) ON CONFLICT (model, content_hash) DO NOTHING",
                 model, pg_array(miss_hashes), pg_array(dims), pg_array(literals));
      });
    } catch (const ProviderError& e) {
      call_error = e.what();
      spdlog::warn("{}: embeddings call failed for {} text(s): {}", ctx.name(),
                   miss_texts.size(), call_error);
    }
  }
  for (auto& it : items) {
    if (blank(it.text)) {
      continue;
    }
    const auto k = known.find(it.hash);
    if (k != known.end()) {
      it.vec = k->second;
    } else {
      it.error = call_error.empty() ? "no embedding returned" : call_error;
    }
  }
}

bool Pipeline::analyse_items(std::vector<Item>& items, WorkerContext& ctx) {
  bool budget_stop = false;
  for (auto& it : items) {
    if (it.skipped || !it.error.empty() || it.type != "post" || blank(it.text)) {
      continue;
    }
    if (ctx.stopping()) {
      it.skipped = true;
      continue;
    }
    if (provider_.billed() && budget_.exhausted()) {
      budget_stop = true;
      it.skipped = true;
      continue;
    }
    try {
      it.analysis = provider_.analyse(it.text);
    } catch (const std::exception& e) {  // ItemError, ProviderError: this item only
      it.error = std::string("analysis: ") + e.what();
    }
  }
  return budget_stop;
}

void Pipeline::write(const std::vector<Item>& items) {
  std::vector<std::string> e_type, s_type, st_type, st_hash, st_status, st_error, e_hash, s_hash,
      vectors, summaries, labels;
  std::vector<std::int64_t> e_id, s_id, st_id, all_ids_post, all_ids_profile;
  std::vector<int> dims;
  std::vector<std::string> scores;
  for (const auto& it : items) {
    (it.type == "post" ? all_ids_post : all_ids_profile).push_back(it.id);
    if (it.skipped) {
      continue;
    }
    if (it.vec) {
      e_type.push_back(it.type);
      e_id.push_back(it.id);
      e_hash.push_back(it.hash);
      dims.push_back(static_cast<int>(it.vec->size()));
      vectors.push_back(pg_vector(*it.vec));
    }
    if (it.analysis) {
      s_type.push_back(it.type);
      s_id.push_back(it.id);
      s_hash.push_back(it.hash);
      summaries.push_back(it.analysis->summary);
      scores.push_back(std::to_string(it.analysis->sentiment));
      labels.push_back(it.analysis->label);
    }
    st_type.push_back(it.type);
    st_id.push_back(it.id);
    st_hash.push_back(it.hash);
    st_status.push_back(it.error.empty() ? "done" : "failed");
    st_error.push_back(it.error);
  }
  const std::string pid = pipeline_id();
  db_.with_transaction([&](pqxx::work& tx) {
    if (!e_id.empty()) {
      db_.exec(tx,
               "INSERT INTO embeddings (item_type, item_id, model, dims, vector, content_hash) "
               "SELECT t, i, $1, d, v::real[], h FROM unnest($2::text[], $3::bigint[], "
               "$4::int[], $5::text[], $6::text[]) AS x(t, i, d, v, h) "
               "ON CONFLICT (item_type, item_id, model) DO UPDATE SET dims = EXCLUDED.dims, "
               "vector = EXCLUDED.vector, content_hash = EXCLUDED.content_hash, "
               "created_at = now()",
               provider_.embedding_model(), pg_array(e_type), pg_array(e_id), pg_array(dims),
               pg_array(vectors), pg_array(e_hash));
    }
    if (!s_id.empty()) {
      const std::string model = provider_.chat_model();
      db_.exec(tx,
               "INSERT INTO ai_summaries (item_type, item_id, model, summary, content_hash) "
               "SELECT t, i, $1, s, h FROM unnest($2::text[], $3::bigint[], $4::text[], "
               "$5::text[]) AS x(t, i, s, h) ON CONFLICT (item_type, item_id, model) DO UPDATE "
               "SET summary = EXCLUDED.summary, content_hash = EXCLUDED.content_hash, "
               "created_at = now()",
               model, pg_array(s_type), pg_array(s_id), pg_array(summaries), pg_array(s_hash));
      db_.exec(tx,
               "INSERT INTO ai_sentiment (item_type, item_id, model, score, label, content_hash) "
               "SELECT t, i, $1, sc::real, l, h FROM unnest($2::text[], $3::bigint[], "
               "$4::text[], $5::text[], $6::text[]) AS x(t, i, sc, l, h) "
               "ON CONFLICT (item_type, item_id, model) DO UPDATE SET score = EXCLUDED.score, "
               "label = EXCLUDED.label, content_hash = EXCLUDED.content_hash, created_at = now()",
               model, pg_array(s_type), pg_array(s_id), pg_array(scores), pg_array(labels),
               pg_array(s_hash));
    }
    if (!st_id.empty()) {
      db_.exec(tx,
               "INSERT INTO ai_item_state (item_type, item_id, pipeline, content_hash, status, "
               "attempts, error, retry_at) "
               "SELECT t, i, $1, h, s, CASE WHEN s = 'done' THEN 0 ELSE 1 END, nullif(e, ''), "
               "CASE WHEN s = 'failed' THEN now() + interval '5 minutes' END "
               "FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) "
               "AS x(t, i, h, s, e) "
               "ON CONFLICT (item_type, item_id, pipeline) DO UPDATE SET "
               "attempts = CASE WHEN EXCLUDED.status = 'done' THEN 0 "
               "WHEN ai_item_state.status = 'failed' AND ai_item_state.content_hash = "
               "EXCLUDED.content_hash THEN ai_item_state.attempts + 1 ELSE 1 END, "
               "content_hash = EXCLUDED.content_hash, status = EXCLUDED.status, "
               "error = EXCLUDED.error, retry_at = EXCLUDED.retry_at, updated_at = now()",
               pid, pg_array(st_type), pg_array(st_id), pg_array(st_hash), pg_array(st_status),
               pg_array(st_error));
    }
    db_.exec(tx,
             "DELETE FROM ai_claims WHERE pipeline = $1 AND owner = $2 AND "
             "((item_type = 'post' AND item_id = ANY ($3::bigint[])) OR "
             "(item_type = 'profile' AND item_id = ANY ($4::bigint[])))",
             pid, options_.owner, pg_array(all_ids_post), pg_array(all_ids_profile));
  });
}

BatchResult Pipeline::run_batch(WorkerContext& ctx) {
  BatchResult r;
  if (provider_.billed()) {
    budget_.refresh(db_);
    if (budget_.exhausted()) {
      r.budget_stop = true;
      return r;
    }
  }
  std::vector<Item> items = claim("post", options_.batch_size);
  if (items.empty()) {
    items = claim("profile", options_.batch_size);
  }
  r.claimed = static_cast<int>(items.size());
  if (items.empty()) {
    return r;
  }
  try {
    embed_items(items, ctx);
    r.budget_stop = analyse_items(items, ctx);
    for (const auto& it : items) {
      r.budget_stop = r.budget_stop || (it.skipped && !ctx.stopping());
    }
    write(items);
  } catch (...) {
    release_claims();  // the items come back at once instead of after the lease
    throw;
  }
  for (const auto& it : items) {
    if (it.skipped) {
      continue;
    }
    if (it.error.empty()) {
      ++r.done;
      ctx.item_ok(1);
    } else {
      ++r.failed;
      ctx.item_failed(it.type + ":" + std::to_string(it.id), it.error);
    }
  }
  return r;
}

void Pipeline::release_claims() {
  try {
    db_.with_transaction([&](pqxx::work& tx) {
      db_.exec(tx, "DELETE FROM ai_claims WHERE owner = $1", options_.owner);
    });
  } catch (const std::exception& e) {
    spdlog::warn("ai: could not release claims ({}); they expire with their lease", e.what());
  }
}

}  // namespace socialai::ai
