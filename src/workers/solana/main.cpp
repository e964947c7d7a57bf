// socialai-worker-solana: SOL balances, SPL tokens, transactions and NFT metadata (SPEC §7).
#include "common/worker_runtime.h"
#include "workers/solana/solana_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::SolanaSync>(argc, argv, "solana");
}
