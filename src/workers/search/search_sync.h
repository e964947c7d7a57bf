// SearchSync: the search worker (SPEC §7 "search"). Keeps external_posts.search_vector, tags
// and search_lexemes current for new or changed posts, and answers `--query TEXT`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/db.h"
#include "common/worker_runtime.h"

namespace socialai {

// What one claimed batch did.
struct SearchBatch {
  std::vector<std::int64_t> ids;  // the posts claimed (empty: nothing was pending)
  std::int64_t indexed = 0;       // of those, indexed successfully
  // ("post:<id>", error) for each post that could not be indexed. Such a post is marked not
  // pending, so it is not retried until its text changes again (the trigger re-queues it).
  std::vector<std::pair<std::string, std::string>> failed;
};

// Work queue: posts with search_pending (set on insert and, by a trigger from
// sql/002_search.sql, whenever title/content/community really change).
//
// Settings (keys as read here; the settings table row `search_<key>` overrides the config):
//   batch_size         posts claimed per transaction (default 1000)
//   parallelism        connections indexing at once, sharing the queue (default 2)
//   max_cycle_seconds  a cycle stops claiming after this long (default 300), so heartbeats and
//                      worker_runs stay fresh under a large backlog
//   index_work_mem_mb  work_mem of the indexing transactions, in MB (default 64, at least 4):
//                      the memory an insert's merge of the index's pending list gathers in
//   query_limit        rows printed per table by --query (default 10)
class SearchSync : public Worker {
 public:
  // Throws DependencyError when pg_trgm, search_lexemes or the search functions are missing.
  void validate(WorkerContext& ctx) override;
  // Indexes pending posts until none is left, ctx.stopping(), or max_cycle_seconds.
  void run_cycle(WorkerContext& ctx) override;
  std::vector<std::string> extra_flags() const override { return {"query"}; }
  std::string extra_usage() const override;
  // --query TEXT: prints search_posts and search_profiles results as tables on stdout; 0.
  int run_command(WorkerContext& ctx, const std::map<std::string, std::string>& flags) override;

  // Claims up to `batch_size` pending posts with id > after_id, lowest first, with FOR UPDATE
  // SKIP LOCKED (so any number of connections or instances share the queue without doubles),
  // and indexes them in one transaction with set-based statements. If that fails on a post's
  // data, the same claimed rows are redone one by one (savepoints), so one bad post cannot block
  // the rest; any other error is thrown and the rows stay pending. ids come back ascending.
  // REQUIRES: db connected, no transaction open on it. Call from the thread that owns `db`.
  // Its statements run with `work_mem_mb` of work_mem.
  static SearchBatch index_batch(Db& db, int batch_size, std::int64_t after_id = 0,
                                 int work_mem_mb = kIndexWorkMemMb);

  static constexpr int kIndexWorkMemMb = 64;
  static constexpr int kMinIndexWorkMemMb = 4;  // PostgreSQL's default work_mem
};

}  // namespace socialai
