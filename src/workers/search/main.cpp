// socialai-worker-search: keeps the full-text/trigram search data current (SPEC §7 "search").
#include "common/worker_runtime.h"
#include "workers/search/search_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::SearchSync>(argc, argv, "search");
}
