// The Solana JSON-RPC answers the worker reads, as plain structs parsed from the wire (pure
// functions, no I/O): getBalance, getTokenAccountsByOwner (jsonParsed), getSignaturesForAddress,
// getTransaction (json) and getAccountInfo (base64). Wrong shapes throw WireError with the field.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::solana {

class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TokenAccount {
  std::string pubkey;  // the token account
  std::string mint;
  std::string amount;  // raw units, decimal digits
  int decimals = 0;
  // Heuristic used for NFTs: a whole single token of a 0-decimals mint.
  bool looks_like_nft() const { return decimals == 0 && amount == "1"; }
};

struct SignatureInfo {
  std::string signature;
  std::int64_t slot = 0;
  std::optional<std::int64_t> block_time;
  bool failed = false;  // err != null
};

// One transaction, reduced to the chain_transactions row (see docs/solana.md for `value`).
struct ChainTransaction {
  std::string signature;
  std::int64_t slot = 0;
  std::optional<std::int64_t> block_time;
  std::string status;  // "success" or "failed"
  std::string fee_payer;  // accountKeys[0]
  std::string to;         // first other account whose balance rose; else accountKeys[1]; or ""
  std::string value;      // lamports the fee payer spent beyond the fee (>= 0), decimal
  std::uint64_t fee = 0;
};

// getBalance: {"context": {...}, "value": lamports}.
std::uint64_t parse_balance(const nlohmann::json& result);

// getTokenAccountsByOwner with encoding jsonParsed; accounts owned by someone other than `owner`
// are refused (a node bug would otherwise attribute them to the wallet).
std::vector<TokenAccount> parse_token_accounts(const nlohmann::json& result,
                                               const std::string& owner);

// getSignaturesForAddress: an array, newest first.
std::vector<SignatureInfo> parse_signatures(const nlohmann::json& result);

// getTransaction with encoding json. `signature` is the one asked for (null results are the
// caller's business: not found / not yet at this commitment).
ChainTransaction parse_transaction(const nlohmann::json& result, const std::string& signature);

// getAccountInfo with encoding base64: the data bytes, or nullopt when the account does not exist
// (value null). Bad base64 throws (MetadataError).
std::optional<std::vector<std::uint8_t>> parse_account_data(const nlohmann::json& result);

}  // namespace socialai::solana
