// Pipeline: claims batches of posts and profiles that need (re)processing and writes their
// embeddings, summaries and sentiment.
//
// Work: an item (post or profile) needs processing when ai_item_state has no 'done' row for
// the current pipeline with the md5 of its current text, or it failed earlier and its retry
// time has come (at most kMaxAttempts). Posts get all three results; profiles (text: display
// name, username, bio) get an embedding only.
//
// Claiming (two instances never work on the same item): one short transaction selects
// candidates with FOR UPDATE OF the source row SKIP LOCKED and inserts ai_claims rows with a
// lease; ON CONFLICT only takes over a claim whose lease ended. Provider calls happen with no
// transaction open; results, the item state and the claim release are written in one
// transaction. A killed instance's claims expire after the lease and the items come back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/db.h"
#include "common/worker_runtime.h"
#include "workers/ai/budget.h"
#include "workers/ai/provider.h"

namespace socialai::ai {

struct PipelineOptions {
  int batch_size = 10;
  std::chrono::seconds lease{600};
  std::string owner;  // claim owner id; default host:pid:random
};

struct BatchResult {
  int claimed = 0;
  int done = 0;
  int failed = 0;
  bool budget_stop = false;  // stopped because the daily budget is spent; claims released
};

class Pipeline {
 public:
  static constexpr int kMaxAttempts = 3;

  // `provider` and `budget` must outlive the pipeline. The provider's usage sink is set here
  // (ai_usage rows through `budget`).
  Pipeline(Db& db, Provider& provider, Budget& budget, PipelineOptions options);

  // "<provider>:<embedding model>+<chat model>": the key of ai_item_state and ai_claims.
  std::string pipeline_id() const;

  // Claims and processes one batch (posts first, then profiles). claimed == 0: nothing left.
  // Claims walk ids upwards within one Pipeline object (one per cycle): an item below the last
  // claimed id that becomes due during the cycle waits for the next cycle.
  // Item failures go to ctx.item_failed; successes to ctx.item_ok. REQUIRES: no open transaction.
  BatchResult run_batch(WorkerContext& ctx);

  // Drops this owner's claims (on shutdown or a budget stop).
  void release_claims();

 private:
  struct Item;
  std::vector<Item> claim(const std::string& type, int limit);
  void embed_items(std::vector<Item>& items, WorkerContext& ctx);
  bool analyse_items(std::vector<Item>& items, WorkerContext& ctx);
  void write(const std::vector<Item>& items);

  Db& db_;
  Provider& provider_;
  Budget& budget_;
  PipelineOptions options_;
  std::int64_t after_post_ = 0;     // highest ids claimed by this pipeline object
  std::int64_t after_profile_ = 0;
};

}  // namespace socialai::ai
