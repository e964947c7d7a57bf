// socialai-worker-ai: embeddings, summaries, sentiment, topics and recommendations (SPEC §7 "ai").
#include "common/worker_runtime.h"
#include "workers/ai/ai_worker.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::ai::AiWorker>(argc, argv, "ai");
}
