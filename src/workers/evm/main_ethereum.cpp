// socialai-worker-ethereum: the EVM worker for Ethereum mainnet (chain id 1 unless configured).
#include "common/worker_runtime.h"
#include "workers/evm/evm_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::EvmSync>(argc, argv, "ethereum");
}
