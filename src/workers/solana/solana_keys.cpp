// Pubkey parsing, the curve test and PDA derivation (see solana_keys.h).
#include "workers/solana/solana_keys.h"

#include <stdexcept>

#include <crypto++/integer.h>
#include <crypto++/nbtheory.h>
#include <sodium.h>

#include "workers/solana/base58.h"

namespace socialai::solana {
namespace {

const CryptoPP::Integer& field_prime() {
  // p = 2^255 - 19
  static const CryptoPP::Integer p =
      CryptoPP::Integer::Power2(255) - CryptoPP::Integer(19);
  return p;
}

const CryptoPP::Integer& edwards_d() {
  // d = -121665 / 121666 mod p
  static const CryptoPP::Integer d = [] {
    const auto& p = field_prime();
    const CryptoPP::Integer inv = CryptoPP::Integer(121666).InverseMod(p);
    return (p - CryptoPP::Integer(121665)) * inv % p;
  }();
  return d;
}

const Pubkey& metadata_program() {
  static const Pubkey key = *parse_pubkey(kMetadataProgramId);
  return key;
}

}  // namespace

std::optional<Pubkey> parse_pubkey(std::string_view base58) {
  if (base58.size() < 32 || base58.size() > 44) {
    return std::nullopt;
  }
  const auto bytes = base58_decode(base58);
  if (!bytes || bytes->size() != 32) {
    return std::nullopt;
  }
  Pubkey key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

std::string to_base58(const Pubkey& key) { return base58_encode(key.data(), key.size()); }

bool is_on_curve(const Pubkey& key) {
  Pubkey le = key;
  le[31] &= 0x7f;  // the top bit is the sign of x, not part of y
  std::array<std::uint8_t, 32> be;
  std::copy(le.rbegin(), le.rend(), be.begin());
  const auto& p = field_prime();
  const CryptoPP::Integer y = CryptoPP::Integer(be.data(), be.size()) % p;
  const CryptoPP::Integer yy = y * y % p;
  const CryptoPP::Integer u = (yy + p - CryptoPP::Integer::One()) % p;
  const CryptoPP::Integer v = (edwards_d() * yy + CryptoPP::Integer::One()) % p;  // never 0
  // u/v is a square iff u*v is (v != 0); 0 is a square (x = 0).
  return CryptoPP::Jacobi(u * v % p, p) != -1;
}

ProgramAddress find_program_address(const std::vector<std::vector<std::uint8_t>>& seeds,
                                    const Pubkey& program_id) {
  if (seeds.size() > 15) {  // 16 with the bump
    throw std::invalid_argument("too many PDA seeds");
  }
  for (const auto& s : seeds) {
    if (s.size() > 32) {
      throw std::invalid_argument("PDA seed longer than 32 bytes");
    }
  }
  static constexpr std::string_view kMarker = "ProgramDerivedAddress";
  for (int bump = 255; bump >= 0; --bump) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (const auto& s : seeds) {
      crypto_hash_sha256_update(&st, s.data(), s.size());
    }
    const auto b = static_cast<std::uint8_t>(bump);
    crypto_hash_sha256_update(&st, &b, 1);
    crypto_hash_sha256_update(&st, program_id.data(), program_id.size());
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(kMarker.data()),
                              kMarker.size());
    Pubkey out;
    crypto_hash_sha256_final(&st, out.data());
    if (!is_on_curve(out)) {
      return {out, b};
    }
  }
  throw std::runtime_error("no viable bump for the program address");
}

Pubkey metadata_pda(const Pubkey& mint) {
  static const std::vector<std::uint8_t> kPrefix = {'m', 'e', 't', 'a', 'd', 'a', 't', 'a'};
  const auto& prog = metadata_program();
  return find_program_address(
             {kPrefix, std::vector<std::uint8_t>(prog.begin(), prog.end()),
              std::vector<std::uint8_t>(mint.begin(), mint.end())},
             prog)
      .address;
}

}  // namespace socialai::solana
