// EVM wire primitives: Keccak-256 from Crypto++, hex and ABI coding, namehash, uint256 decimals.
#include "workers/evm/evm_codec.h"

#include <cryptopp/keccak.h>

#include <algorithm>

namespace socialai::evm {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string_view strip_0x(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
    hex.remove_prefix(2);
  }
  return hex;
}

std::string clip(std::string_view s) {
  return std::string(s.substr(0, 80)) + (s.size() > 80 ? "…" : "");
}

// Hex digits of a number, without 0x and leading zeros; throws on bad digits.
std::string_view significant_digits(std::string_view hex) {
  const std::string_view digits = strip_0x(hex);
  if (digits.empty()) {
    throw AbiError("empty hex number");
  }
  for (char c : digits) {
    if (hex_value(c) < 0) {
      throw AbiError("bad hex digit in \"" + clip(hex) + "\"");
    }
  }
  const auto first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view() : digits.substr(first);
}

// The `index`-th 32-byte word of `data` (raw bytes).
std::string_view word_at(std::string_view data_hex, std::size_t index) {
  const std::size_t from = index * 64;
  if (from + 64 > data_hex.size()) {
    throw AbiError("return data too short: " + std::to_string(data_hex.size() / 2) +
                   " bytes, word " + std::to_string(index) + " needed");
  }
  return data_hex.substr(from, 64);
}

// The return data's hex digits without 0x; validated.
std::string_view data_digits(std::string_view data) {
  const std::string_view d = strip_0x(data);
  if (d.size() % 2 != 0) {
    throw AbiError("return data has an odd number of hex digits");
  }
  for (char c : d) {
    if (hex_value(c) < 0) {
      throw AbiError("return data is not hex: \"" + clip(data) + "\"");
    }
  }
  return d;
}

// A word used as an offset or length: must fit comfortably (hostile values are huge).
std::size_t word_as_size(std::string_view word) {
  const std::string_view digits = significant_digits(word);
  if (digits.size() > 8) {
    throw AbiError("ABI offset/length out of range: 0x" + std::string(digits));
  }
  std::size_t v = 0;
  for (char c : digits) {
    v = v * 16 + static_cast<std::size_t>(hex_value(c));
  }
  return v;
}

}  // namespace

Hash32 keccak256(const std::uint8_t* data, std::size_t size) {
  CryptoPP::Keccak_256 k;
  k.Update(data, size);
  Hash32 out{};
  k.Final(out.data());
  return out;
}

Hash32 keccak256(std::string_view text) {
  return keccak256(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

Hash32 keccak256(const Bytes& bytes) { return keccak256(bytes.data(), bytes.size()); }

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  std::string s = "0x";
  s.reserve(2 + size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    s += kDigits[data[i] >> 4];
    s += kDigits[data[i] & 0x0f];
  }
  return s;
}

std::string to_hex(const Bytes& bytes) { return to_hex(bytes.data(), bytes.size()); }
std::string to_hex(const Hash32& h) { return to_hex(h.data(), h.size()); }

Bytes from_hex(std::string_view hex) {
  const std::string_view d = strip_0x(hex);
  if (d.size() % 2 != 0) {
    throw AbiError("odd number of hex digits in \"" + clip(hex) + "\"");
  }
  Bytes out(d.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(d[2 * i]);
    const int lo = hex_value(d[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      throw AbiError("bad hex digit in \"" + clip(hex) + "\"");
    }
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::string quantity(std::uint64_t v) {
  if (v == 0) {
    return "0x0";
  }
  std::string s;
  while (v > 0) {
    s += kDigits[v & 0x0f];
    v >>= 4;
  }
  std::reverse(s.begin(), s.end());
  return "0x" + s;
}

std::uint64_t parse_quantity(std::string_view hex) {
  if (strip_0x(hex).size() == hex.size()) {
    throw AbiError("quantity without 0x prefix: \"" + clip(hex) + "\"");
  }
  const std::string_view digits = significant_digits(hex);
  if (digits.size() > 16) {
    throw AbiError("quantity does not fit 64 bits: \"" + clip(hex) + "\"");
  }
  std::uint64_t v = 0;
  for (char c : digits) {
    v = v * 16 + static_cast<std::uint64_t>(hex_value(c));
  }
  return v;
}

std::string hex_to_decimal(std::string_view hex) {
  const std::string_view digits = significant_digits(hex);
  if (digits.size() > 64) {
    throw AbiError("number exceeds 256 bits: \"" + clip(hex) + "\"");
  }
  // Little-endian limbs of 10^9; multiply by 16 and add each hex digit.
  std::vector<std::uint32_t> limbs;
  for (char c : digits) {
    std::uint64_t carry = static_cast<std::uint64_t>(hex_value(c));
    for (auto& limb : limbs) {
      const std::uint64_t v = std::uint64_t{limb} * 16 + carry;
      limb = static_cast<std::uint32_t>(v % 1000000000);
      carry = v / 1000000000;
    }
    if (carry > 0) {
      limbs.push_back(static_cast<std::uint32_t>(carry));
    }
  }
  if (limbs.empty()) {
    return "0";
  }
  std::string out = std::to_string(limbs.back());
  for (auto it = limbs.rbegin() + 1; it != limbs.rend(); ++it) {
    const std::string part = std::to_string(*it);
    out += std::string(9 - part.size(), '0') + part;
  }
  return out;
}

std::string decimal_to_hex(std::string_view decimal) {
  if (decimal.empty() || decimal.size() > 78 ||
      !std::all_of(decimal.begin(), decimal.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw AbiError("not a decimal number below 2^256: \"" + clip(decimal) + "\"");
  }
  // Little-endian base-16 digits; multiply by 10 and add each decimal digit.
  std::vector<std::uint8_t> nibbles;
  for (char c : decimal) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& n : nibbles) {
      const unsigned v = n * 10u + carry;
      n = static_cast<std::uint8_t>(v & 0x0f);
      carry = v >> 4;
    }
    while (carry > 0) {
      nibbles.push_back(static_cast<std::uint8_t>(carry & 0x0f));
      carry >>= 4;
    }
  }
  if (nibbles.size() > 64) {
    throw AbiError("number exceeds 256 bits: \"" + clip(decimal) + "\"");
  }
  std::string s = "0x";
  for (auto it = nibbles.rbegin(); it != nibbles.rend(); ++it) {
    s += kDigits[*it];
  }
  return nibbles.empty() ? "0x0" : s;
}

Hash32 namehash(std::string_view name) {
  Hash32 node{};
  while (!name.empty()) {
    const auto dot = name.rfind('.');
    const std::string_view label = dot == std::string_view::npos ? name : name.substr(dot + 1);
    const Hash32 label_hash = keccak256(label);
    std::array<std::uint8_t, 64> buf{};
    std::copy(node.begin(), node.end(), buf.begin());
    std::copy(label_hash.begin(), label_hash.end(), buf.begin() + 32);
    node = keccak256(buf.data(), buf.size());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
  }
  return node;
}

std::string reverse_name(std::string_view address) {
  return normalize_address(address).substr(2) + ".addr.reverse";
}

std::string selector(std::string_view signature) {
  const Hash32 h = keccak256(signature);
  return to_hex(h.data(), 4);
}

std::string event_topic(std::string_view signature) { return to_hex(keccak256(signature)); }

bool is_address(std::string_view a) {
  const std::string_view d = strip_0x(a);
  return d.size() == 40 &&
         std::all_of(d.begin(), d.end(), [](char c) { return hex_value(c) >= 0; });
}

std::string normalize_address(std::string_view a) {
  if (!is_address(a)) {
    throw AbiError("not an address: \"" + clip(a) + "\"");
  }
  std::string s = "0x" + std::string(strip_0x(a));
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'A' && c <= 'F' ? static_cast<char>(c + 32) : c; });
  return s;
}

std::string word_address(std::string_view address) {
  return std::string(24, '0') + normalize_address(address).substr(2);
}

std::string word_uint(std::uint64_t v) { return word_hex(quantity(v)); }

std::string word_hex(std::string_view hex) {
  const std::string_view digits = significant_digits(hex);
  if (digits.size() > 64) {
    throw AbiError("word exceeds 256 bits");
  }
  std::string s(64 - digits.size(), '0');
  for (char c : digits) {
    s += kDigits[hex_value(c)];
  }
  return s;
}

std::string word_bytes32(const Hash32& h) { return to_hex(h).substr(2); }

std::string calldata(std::string_view signature, const std::vector<std::string>& words) {
  std::string s = selector(signature);
  for (const auto& w : words) {
    s += w;
  }
  return s;
}

std::string decode_address(std::string_view data) {
  const std::string_view w = word_at(data_digits(data), 0);
  if (w.substr(0, 24).find_first_not_of('0') != std::string_view::npos) {
    throw AbiError("address word has non-zero high bytes");
  }
  return normalize_address(w.substr(24));
}

std::string decode_uint_decimal(std::string_view data) {
  return hex_to_decimal(word_at(data_digits(data), 0));
}

std::uint64_t decode_uint64(std::string_view data) {
  const std::string_view digits = significant_digits(word_at(data_digits(data), 0));
  if (digits.size() > 16) {
    throw AbiError("value does not fit 64 bits");
  }
  return digits.empty() ? 0 : parse_quantity("0x" + std::string(digits));
}

std::string decode_string(std::string_view data) {
  const std::string_view d = data_digits(data);
  if (d.size() == 64) {  // legacy bytes32 (e.g. MKR's symbol())
    const Bytes raw = from_hex(d);
    const auto end = std::find(raw.begin(), raw.end(), std::uint8_t{0});
    return std::string(raw.begin(), end);
  }
  const std::size_t offset = word_as_size(word_at(d, 0));
  if (offset % 32 != 0 || offset + 32 > d.size() / 2) {
    throw AbiError("string offset " + std::to_string(offset) + " outside " +
                   std::to_string(d.size() / 2) + " bytes of return data");
  }
  const std::size_t length = word_as_size(word_at(d, offset / 32));
  const std::size_t start = offset + 32;
  if (length > d.size() / 2 - start) {
    throw AbiError("string length " + std::to_string(length) + " exceeds the " +
                   std::to_string(d.size() / 2 - start) + " bytes that follow");
  }
  const Bytes raw = from_hex(d.substr(start * 2, length * 2));
  return std::string(raw.begin(), raw.end());
}

std::string encode_string(std::string_view s) {
  std::string out = "0x" + word_uint(32) + word_uint(s.size());
  std::string body = to_hex(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()).substr(2);
  body.resize((body.size() + 63) / 64 * 64, '0');
  return out + body;
}

}  // namespace socialai::evm
