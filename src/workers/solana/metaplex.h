// Metaplex Token Metadata accounts: the borsh layout of MetadataV1 (decode for the worker,
// encode for the devnet) and base64 as getAccountInfo delivers account data.
//
// Layout (mpl-token-metadata, Metadata): key u8 (4 = MetadataV1), update_authority [32],
// mint [32], name, symbol, uri (each borsh String: u32 little-endian length + bytes; Metaplex pads
// them with '\0' to 32, 10 and 200 bytes), seller_fee_basis_points u16, creators
// Option<Vec<{address [32], verified bool, share u8}>>, primary_sale_happened bool,
// is_mutable bool, then optional fields (edition_nonce, token_standard, collection, ...) and zero
// padding up to 679 bytes. The decoder reads up to is_mutable; the rest is not needed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::solana {

// Bad account data: wrong key byte, a length beyond the buffer, truncated data, bad base64.
class MetadataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Creator {
  std::string address;  // base58
  bool verified = false;
  std::uint8_t share = 0;
};

struct TokenMetadata {
  std::string update_authority;  // base58
  std::string mint;              // base58
  std::string name, symbol, uri;  // cut at the first '\0' (Metaplex's padding)
  std::uint16_t seller_fee_basis_points = 0;
  std::vector<Creator> creators;
  bool primary_sale_happened = false;
  bool is_mutable = false;

  // {"name", "symbol", "uri", "update_authority", "mint", "seller_fee_basis_points",
  //  "creators": [{"address", "verified", "share"}], "primary_sale_happened", "is_mutable"}
  nlohmann::json to_json() const;
};

inline constexpr std::uint8_t kMetadataV1Key = 4;
inline constexpr std::size_t kMaxMetadataLen = 679;

// Throws MetadataError naming the field that does not fit.
TokenMetadata decode_metadata(const std::vector<std::uint8_t>& data);

// The account data Metaplex would write for `m` (strings padded to 32/10/200 bytes; throws
// std::invalid_argument if one is longer), zero-padded to kMaxMetadataLen.
std::vector<std::uint8_t> encode_metadata(const TokenMetadata& m);

// Standard base64 with padding (libsodium). decode throws MetadataError on bad input.
std::vector<std::uint8_t> base64_decode(std::string_view text);
std::string base64_encode(const std::vector<std::uint8_t>& data);

}  // namespace socialai::solana
