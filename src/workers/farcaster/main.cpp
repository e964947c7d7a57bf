// socialai-worker-farcaster: Farcaster hub → PostgreSQL (SPEC §7 "farcaster"; docs/farcaster.md).
#include "common/worker_runtime.h"
#include "workers/farcaster/farcaster_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::farcaster::FarcasterSync>(argc, argv, "farcaster");
}
