// AiWorker: the ai worker (SPEC §7 "ai"). Each cycle: process queued posts/profiles in batches
// (Pipeline), honour the daily budget, re-cluster topics when due, refresh recommendations.
//
// Settings (`ai_<key>` rows override the config section):
//   provider           "local" (default) or "openai"
//   batch_size         items per claim (default 10)
//   base_url, api_key, model / chat_model, embedding_model, dimensions   (openai)
//   requests_per_minute  client-side cap for openai (default 0: server headers only)
//   daily_budget_usd   0/absent: no cap; prices {model: {prompt_per_1k, completion_per_1k}}
//   topics_k (8), recluster_after (100), index_path, exact_threshold (20000)
#pragma once

#include <memory>
#include <string>

#include "common/worker_runtime.h"
#include "workers/ai/provider.h"
#include "workers/ai/recommender.h"

namespace socialai::ai {

class AiWorker : public Worker {
 public:
  AiWorker();
  ~AiWorker() override;
  // Checks the settings and, for openai, that GET {base_url}/models answers (a rejected key is
  // a DependencyError naming the status, never the key).
  void validate(WorkerContext& ctx) override;
  void run_cycle(WorkerContext& ctx) override;

  // Builds the provider the settings ask for. Throws std::invalid_argument on bad settings.
  static std::unique_ptr<Provider> make_provider(const WorkerContext& ctx);

 private:
  void update_note(WorkerContext& ctx, bool paused, double budget);

  bool paused_ = false;
  std::unique_ptr<Recommender> recommender_;
};

}  // namespace socialai::ai
