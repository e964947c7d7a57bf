// Base58 (Bitcoin alphabet), the text form of Solana addresses. Header-only and dependency-free,
// so the devnet's generator and the worker share it. (Candidate for src/common.)
#pragma once

#include <string>
#include <vector>

namespace socialai {

inline std::string base58_encode(const std::vector<unsigned char>& bytes) {
  static const char* kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::vector<unsigned char> digits;  // base58 digits, least significant first
  for (unsigned char byte : bytes) {
    unsigned carry = byte;
    for (auto& d : digits) {
      carry += static_cast<unsigned>(d) * 256;
      d = static_cast<unsigned char>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<unsigned char>(carry % 58));
      carry /= 58;
    }
  }
  std::string out;
  for (unsigned char byte : bytes) {
    if (byte != 0) {
      break;
    }
    out += '1';  // each leading zero byte is a leading '1'
  }
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    out += kAlphabet[*it];
  }
  return out;
}

}  // namespace socialai
