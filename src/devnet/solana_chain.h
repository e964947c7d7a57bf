// SolanaChain: the devnet Solana node's ledger, generated deterministically from the seed and the
// size flags: wallets with lamports, SPL token accounts (fungible and NFTs, classic and Token-2022
// program), Metaplex metadata
// accounts at their real PDAs, and a history of transfers with exact pre/post balances.
// Not thread-safe (the devnet server serialises service calls).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "workers/solana/metaplex.h"

namespace socialai::devnet {

struct SolanaHolding {
  std::string account;  // token account address
  std::string mint;
  std::string amount;  // raw units
  int decimals = 0;
  bool nft = false;
  bool token2022 = false;  // owned by the Token-2022 program, not the classic one
};

struct SolanaNft {
  std::string mint;
  std::string metadata_address;  // the Metaplex PDA of `mint`
  solana::TokenMetadata metadata;
  // 0: a good account; 1: data truncated to 60 bytes; 2: name length beyond the data;
  // 3: no metadata account at all.
  int hostile = 0;
};

struct SolanaTx {
  std::string signature;
  std::int64_t slot = 0;
  std::int64_t block_time = 0;
  std::uint64_t fee = 5000;
  std::uint64_t amount = 0;  // lamports moved from keys[0] to keys[1] (0 when failed)
  bool failed = false;
  std::vector<std::string> keys;  // payer, counterparty, system program
  std::vector<std::uint64_t> pre, post;
};

struct SolanaWallet {
  std::string address;
  std::uint64_t lamports = 0;
  std::vector<SolanaHolding> holdings;
  std::vector<std::size_t> txs;  // indices into SolanaChain::txs(), oldest first
};

class SolanaChain {
 public:
  struct Sizes {
    int wallets = 20;
    int tokens_per_wallet = 3;
    int token2022_per_wallet = 1;  // fungible accounts of the Token-2022 program
    int nfts_per_wallet = 2;
    int signatures_per_wallet = 25;
    int hostile_metadata = 0;  // the first N NFTs get broken metadata (kinds 1..3 in turn)
  };
  SolanaChain(std::uint64_t seed, Sizes sizes);

  // Adds `per_wallet` new transfers paid by every wallet (newer slots) and drops the first
  // `drop_holdings` token accounts of every wallet.
  void grow(int per_wallet, int drop_holdings);

  std::int64_t slot() const { return slot_; }
  const std::vector<SolanaWallet>& wallets() const { return wallets_; }
  const std::vector<SolanaTx>& txs() const { return txs_; }
  const SolanaWallet* wallet(const std::string& address) const;
  const SolanaTx* tx(const std::string& signature) const;
  // Metadata account data by account address (hostile variants included); nullopt if none.
  std::optional<std::vector<std::uint8_t>> metadata_account(const std::string& address) const;
  const std::vector<SolanaNft>& nfts() const { return nfts_; }

  // /_devnet/solana/truth: what a correct sync must end up with.
  nlohmann::json truth() const;

 private:
  std::uint64_t next();
  std::string random_key();
  std::string random_signature();
  void transfer(std::size_t payer);

  std::uint64_t state_;
  std::int64_t slot_ = 250'000'000;
  std::vector<SolanaWallet> wallets_;
  std::map<std::string, std::size_t> wallet_index_;
  std::vector<SolanaTx> txs_;
  std::map<std::string, std::size_t> tx_index_;
  std::vector<SolanaNft> nfts_;
  std::map<std::string, std::size_t> nft_by_metadata_;
};

}  // namespace socialai::devnet
