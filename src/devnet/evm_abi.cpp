// The devnet's ABI words and Multicall3 wire format, independent of the worker's codec.
#include "devnet/evm_abi.h"

#include <cryptopp/keccak.h>

#include <stdexcept>

namespace socialai::devnet::abi {

namespace {

constexpr std::size_t kWord = 64;  // hex digits per 32-byte word

std::string lower_hex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw std::invalid_argument("not hex");
    }
    out += c;
  }
  return out;
}

std::string strip0x(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
  }
  return lower_hex(s);
}

// Reads words of hex ABI data with bounds checks.
class Reader {
 public:
  explicit Reader(std::string_view hex) : hex_(hex) {}
  std::string word(std::size_t byte_offset) const {
    if (byte_offset > hex_.size() / 2 || hex_.size() / 2 - byte_offset < 32) {
      throw std::invalid_argument("ABI data too short");
    }
    return std::string(hex_.substr(byte_offset * 2, kWord));
  }
  // A word that must be a small number (an offset, a length, a bool).
  std::size_t number(std::size_t byte_offset) const {
    const std::string w = word(byte_offset);
    if (w.find_first_not_of('0') < kWord - 8) {
      throw std::invalid_argument("ABI offset or length out of range");
    }
    return static_cast<std::size_t>(std::stoull(w.substr(kWord - 8), nullptr, 16));
  }
  std::string bytes(std::size_t byte_offset, std::size_t length) const {
    if (byte_offset > hex_.size() / 2 || hex_.size() / 2 - byte_offset < length) {
      throw std::invalid_argument("ABI bytes run past the data");
    }
    return std::string(hex_.substr(byte_offset * 2, length * 2));
  }

 private:
  std::string_view hex_;
};

std::string padded(const std::string& hex_no0x) {
  std::string out = hex_no0x;
  out.append((kWord - out.size() % kWord) % kWord, '0');
  return out;
}

}  // namespace

std::string keccak(std::string_view data) {
  CryptoPP::Keccak_256 k;
  std::string out(32, '\0');
  k.CalculateDigest(reinterpret_cast<CryptoPP::byte*>(out.data()),
                    reinterpret_cast<const CryptoPP::byte*>(data.data()), data.size());
  return out;
}

std::string hex(std::string_view raw) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string from_hex(std::string_view h) {
  const std::string digits = strip0x(h);
  if (digits.size() % 2 != 0) {
    throw std::invalid_argument("odd number of hex digits");
  }
  std::string out;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string keccak_hex(std::string_view text) { return hex(keccak(text)); }

std::string selector(std::string_view signature) { return keccak_hex(signature).substr(0, 10); }

std::string namehash(std::string_view name) {
  // namehash("a.b") = keccak(namehash("b") ++ keccak("a")); namehash("") = 32 zero bytes.
  if (name.empty()) {
    return hex(std::string(32, '\0'));
  }
  const auto dot = name.find('.');
  const std::string parent =
      from_hex(namehash(dot == std::string_view::npos ? "" : name.substr(dot + 1)));
  return hex(keccak(parent + keccak(name.substr(0, dot))));
}

std::string reverse_name(std::string_view address) {
  return normalize_address(address).substr(2) + ".addr.reverse";
}

std::string quantity(std::uint64_t v) {
  const std::string w = uint_word(v);
  const auto first = w.find_first_not_of('0');
  return "0x" + (first == std::string::npos ? std::string("0") : w.substr(first));
}

std::uint64_t parse_quantity(std::string_view h) {
  const std::string digits = strip0x(h);
  if (digits.empty() || h.substr(0, 2) != "0x") {
    throw std::invalid_argument("not a hex quantity");
  }
  const auto first = digits.find_first_not_of('0');
  if (first != std::string::npos && digits.size() - first > 16) {
    throw std::invalid_argument("quantity above 64 bits");
  }
  return std::stoull(digits, nullptr, 16);
}

std::string hex_to_decimal(std::string_view h) {
  const std::string digits = strip0x(h);
  if (digits.size() > kWord) {
    throw std::invalid_argument("more than 256 bits");
  }
  // Decimal digits, least significant first; multiply by 16 and add each hex digit.
  std::vector<int> dec{0};
  for (char c : digits) {
    int carry = c <= '9' ? c - '0' : c - 'a' + 10;
    for (int& d : dec) {
      const int v = d * 16 + carry;
      d = v % 10;
      carry = v / 10;
    }
    for (; carry > 0; carry /= 10) {
      dec.push_back(carry % 10);
    }
  }
  std::string out;
  for (auto it = dec.rbegin(); it != dec.rend(); ++it) {
    out += static_cast<char>('0' + *it);
  }
  const auto first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

bool is_address(std::string_view a) {
  try {
    normalize_address(a);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::string normalize_address(std::string_view a) {
  const std::string digits = strip0x(a);
  if (digits.size() != 40) {
    throw std::invalid_argument("not a 20-byte address");
  }
  return "0x" + digits;
}

std::string encode_string(std::string_view s) {
  const std::string data = hex(s).substr(2);
  return "0x" + uint_word(32) + uint_word(s.size()) + padded(data);
}

std::string address_word(std::string_view address) {
  const std::string a = strip0x(address);
  if (a.size() != 40) {
    throw std::invalid_argument("not a 20-byte address");
  }
  return std::string(24, '0') + a;
}

std::string uint_word(std::uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string w(kWord, '0');
  for (std::size_t i = kWord; v != 0; v >>= 4) {
    w[--i] = kDigits[v & 0xf];
  }
  return w;
}

std::string quantity_word(std::string_view quantity) {
  const std::string q = strip0x(quantity);
  if (q.empty() || q.size() > kWord) {
    throw std::invalid_argument("not a 256-bit quantity");
  }
  return std::string(kWord - q.size(), '0') + q;
}

std::string word_to_address(std::string_view word) {
  const std::string w = strip0x(word);
  if (w.size() < kWord || w.find_first_not_of('0') < 24) {
    throw std::invalid_argument("not an address word");
  }
  return "0x" + w.substr(24, 40);
}

std::string address_topic(std::string_view address) { return "0x" + address_word(address); }

std::vector<Call3> decode_aggregate3(std::string_view args_hex) {
  const std::string hex = strip0x(args_hex);
  const Reader r(hex);
  const std::size_t array = r.number(0);
  const std::size_t n = r.number(array);
  const std::size_t heads = array + 32;  // element offsets count from here
  std::vector<Call3> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t tuple = heads + r.number(heads + 32 * i);
    Call3 c;
    c.target = word_to_address(r.word(tuple));
    c.allow_failure = r.number(tuple + 32) != 0;
    const std::size_t data = tuple + r.number(tuple + 64);
    c.call_data = "0x" + r.bytes(data + 32, r.number(data));
    out.push_back(std::move(c));
  }
  return out;
}

std::string encode_results(const std::vector<Result3>& results) {
  // offset of the array, its length, one offset per element, then the (bool, bytes) tuples.
  std::string head = uint_word(32) + uint_word(results.size());
  std::string tail;
  const std::size_t offsets_bytes = 32 * results.size();
  for (const auto& res : results) {
    head += uint_word(offsets_bytes + tail.size() / 2);
    const std::string data = strip0x(res.return_data);
    tail +=
        uint_word(res.success ? 1 : 0) + uint_word(64) + uint_word(data.size() / 2) + padded(data);
  }
  return "0x" + head + tail;
}

}  // namespace socialai::devnet::abi
