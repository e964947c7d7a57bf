// Base58 by repeated division of a big-endian byte string (the Bitcoin Core algorithm shape).
#include "workers/solana/base58.h"

#include <array>

namespace socialai::solana {
namespace {

constexpr std::string_view kAlphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 128> make_index() {
  std::array<std::int8_t, 128> t{};
  for (auto& v : t) {
    v = -1;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr std::array<std::int8_t, 128> kIndex = make_index();

}  // namespace

std::string base58_encode(const std::uint8_t* data, std::size_t size) {
  std::size_t zeros = 0;
  while (zeros < size && data[zeros] == 0) {
    ++zeros;
  }
  // log(256)/log(58) < 1.38: enough base58 digits for the rest.
  std::vector<std::uint8_t> digits((size - zeros) * 138 / 100 + 1, 0);
  std::size_t used = 0;  // digits in use, counted from the end
  for (std::size_t i = zeros; i < size; ++i) {
    unsigned carry = data[i];
    std::size_t k = 0;
    for (auto it = digits.rbegin(); (carry != 0 || k < used) && it != digits.rend(); ++it, ++k) {
      carry += 256u * *it;
      *it = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    used = k;
  }
  std::string out(zeros, '1');
  for (std::size_t i = digits.size() - used; i < digits.size(); ++i) {
    out.push_back(kAlphabet[digits[i]]);
  }
  return out;
}

std::string base58_encode(const std::vector<std::uint8_t>& data) {
  return base58_encode(data.data(), data.size());
}

std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text,
                                                       std::size_t max_chars) {
  if (text.size() > max_chars) {
    return std::nullopt;
  }
  std::size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') {
    ++ones;
  }
  // log(58)/log(256) < 0.733: enough bytes for the rest.
  std::vector<std::uint8_t> bytes((text.size() - ones) * 733 / 1000 + 1, 0);
  std::size_t used = 0;
  for (std::size_t i = ones; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 128 || kIndex[c] < 0) {
      return std::nullopt;
    }
    unsigned carry = static_cast<unsigned>(kIndex[c]);
    std::size_t k = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || k < used) && it != bytes.rend(); ++it, ++k) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = k;
  }
  std::vector<std::uint8_t> out(ones, 0);
  out.insert(out.end(), bytes.end() - static_cast<std::ptrdiff_t>(used), bytes.end());
  return out;
}

}  // namespace socialai::solana
