// Solana public keys and program derived addresses (PDAs): parsing, the ed25519 "on curve" test
// and find_program_address, as the Solana runtime defines them, plus the Metaplex metadata PDA.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::solana {

using Pubkey = std::array<std::uint8_t, 32>;

inline constexpr std::string_view kTokenProgramId = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
// Token-2022 (token extensions): the same account layout plus extensions, its own mints.
inline constexpr std::string_view kToken2022ProgramId =
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
inline constexpr std::string_view kMetadataProgramId =
    "metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s";
inline constexpr std::string_view kSystemProgramId = "11111111111111111111111111111111";

// A base58 string that decodes to exactly 32 bytes; nullopt otherwise.
std::optional<Pubkey> parse_pubkey(std::string_view base58);
std::string to_base58(const Pubkey& key);

// True when the 32 bytes decompress to a point of edwards25519, i.e. what Solana's
// `is_on_curve` (curve25519-dalek CompressedEdwardsY::decompress().is_some()) answers: the
// y coordinate (low 255 bits, reduced mod p) gives x^2 = (y^2 - 1) / (d y^2 + 1) with a square
// root. This is NOT libsodium's crypto_core_ed25519_is_valid_point, which also rejects
// small-order points and points outside the prime-order subgroup (7 of 8 points on the curve),
// so using it would accept bumps the runtime rejects and derive wrong addresses. The Legendre
// symbol comes from Crypto++ (Jacobi).
bool is_on_curve(const Pubkey& key);

struct ProgramAddress {
  Pubkey address;
  std::uint8_t bump;
};

// Solana's find_program_address: for bump 255 down to 0, sha256(seeds... || bump || program_id
// || "ProgramDerivedAddress") (libsodium crypto_hash_sha256); the first hash OFF the curve wins.
// Throws std::invalid_argument for more than 16 seeds or a seed longer than 32 bytes, and
// std::runtime_error if no bump works (practically impossible).
ProgramAddress find_program_address(const std::vector<std::vector<std::uint8_t>>& seeds,
                                    const Pubkey& program_id);

// The Metaplex Token Metadata account of `mint`: seeds ["metadata", metadata program id, mint].
Pubkey metadata_pda(const Pubkey& mint);

}  // namespace socialai::solana
