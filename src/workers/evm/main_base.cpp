// socialai-worker-base: the EVM worker for Base (chain id 8453 unless configured).
#include "common/worker_runtime.h"
#include "workers/evm/evm_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::EvmSync>(argc, argv, "base");
}
