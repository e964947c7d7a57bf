// Base58 (Bitcoin alphabet), as Solana uses it for public keys and signatures. No Debian
// package ships a C/C++ base58 library (libbase58 is not in this Debian release; `apt-cache
// search base58` lists only Perl/Python/Rust ones), so this is a small implementation checked
// against the published Bitcoin test vectors (tests/solana/solana_codec_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::solana {

// Each leading zero byte becomes a leading '1'.
std::string base58_encode(const std::uint8_t* data, std::size_t size);
std::string base58_encode(const std::vector<std::uint8_t>& data);

// nullopt when `text` holds a character outside the alphabet (whitespace included) or is longer
// than `max_chars` (bounds the quadratic work on hostile input).
std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text,
                                                       std::size_t max_chars = 256);

}  // namespace socialai::solana
