// EVM wire primitives of the EVM worker (the devnet has its own, src/devnet/evm_abi):
// Keccak-256 (Crypto++), hex quantities and data, EIP-137 namehash, function selectors and the
// few ABI shapes the worker reads (address, uint256, string). Pure functions; hostile input
// throws AbiError.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::evm {

using Bytes = std::vector<std::uint8_t>;
using Hash32 = std::array<std::uint8_t, 32>;

// Malformed hex, a quantity out of range, or ABI data whose offsets/lengths do not fit.
class AbiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Hash32 keccak256(const std::uint8_t* data, std::size_t size);
Hash32 keccak256(std::string_view text);
Hash32 keccak256(const Bytes& bytes);

// "0x" + lowercase hex.
std::string to_hex(const std::uint8_t* data, std::size_t size);
std::string to_hex(const Bytes& bytes);
std::string to_hex(const Hash32& h);
// Accepts an optional 0x prefix and either case; throws AbiError on odd length or bad digits.
Bytes from_hex(std::string_view hex);

// Quantities (eth_blockNumber, balances...): "0x0", "0x1a" (no leading zeros on the wire).
std::string quantity(std::uint64_t v);
// Parses a hex quantity that must fit 64 bits; throws AbiError otherwise.
std::uint64_t parse_quantity(std::string_view hex);
// Any hex number up to 256 bits (quantity or 32-byte word) → exact decimal text, no floats.
// Throws AbiError for more than 64 significant hex digits or bad digits.
std::string hex_to_decimal(std::string_view hex);
// Decimal text (up to 78 digits, < 2^256) → minimal hex quantity "0x..."; inverse of the above.
std::string decimal_to_hex(std::string_view decimal);

// EIP-137 namehash ("" → 32 zero bytes); labels are hashed as given (callers normalise).
Hash32 namehash(std::string_view name);
// The reverse-record name of an address: "<40 lowercase hex>.addr.reverse".
std::string reverse_name(std::string_view address);
// First 4 bytes of keccak256(signature), as "0x70a08231".
std::string selector(std::string_view signature);
// keccak256(event signature) as 0x + 64 hex, e.g. the Transfer topic.
std::string event_topic(std::string_view signature);

// Lowercase "0x" + 40 hex; throws AbiError unless `a` is 20 bytes of hex (with or without 0x).
std::string normalize_address(std::string_view a);
bool is_address(std::string_view a);

// ABI encoding helpers: one 32-byte word as 64 hex digits (no 0x).
std::string word_address(std::string_view address);
std::string word_uint(std::uint64_t v);
std::string word_hex(std::string_view hex);  // left-pads a hex number (≤ 64 digits)
std::string word_bytes32(const Hash32& h);

// Calldata: selector(signature) + the given words.
std::string calldata(std::string_view signature, const std::vector<std::string>& words = {});

// ABI decoding of return data ("0x..." hex). Each throws AbiError on short or hostile data.
std::string decode_address(std::string_view data);       // the first word, last 20 bytes
std::string decode_uint_decimal(std::string_view data);  // the first word as decimal text
std::uint64_t decode_uint64(std::string_view data);      // the first word; must fit 64 bits
// A dynamic `string` (offset, length, bytes). Tolerates the legacy bytes32 form (exactly one
// word: the text up to the first zero byte), as some old tokens return for symbol().
std::string decode_string(std::string_view data);
// ABI encoding of a single dynamic string return value (the round-trip tests use it).
std::string encode_string(std::string_view s);

}  // namespace socialai::evm
