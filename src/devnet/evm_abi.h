// The devnet EVM node's own wire code, written apart from the worker's codec (evm_codec) so a
// mistake in one is caught by the other: Keccak-256, hex quantities, namehash, 32-byte words,
// ABI strings, Transfer topics and Multicall3's aggregate3 / getEthBalance wire format (those
// selectors and the Transfer topic are the published constants, not computed). Pure functions;
// malformed input throws std::invalid_argument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::devnet::abi {

// keccak256("Transfer(address,address,uint256)"), as every ERC-20/721 contract emits it.
constexpr const char* kTransferTopic =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
// Multicall3, deployed at this address on most EVM chains (mds1/multicall).
constexpr const char* kMulticall3 = "0xca11bde05977b3631167028862be2a173976ca11";
constexpr const char* kAggregate3 = "0x82ad56cb";     // aggregate3((address,bool,bytes)[])
constexpr const char* kGetEthBalance = "0x4d2301cc";  // getEthBalance(address)

// Keccak-256 (Ethereum's, Crypto++ Keccak_256) of raw bytes: 32 raw bytes.
std::string keccak(std::string_view data);
// Raw bytes ↔ "0x" + lowercase hex; from_hex accepts an optional 0x and either case.
std::string hex(std::string_view raw);
std::string from_hex(std::string_view hex);
// "0x" + keccak256(text) as 64 hex digits.
std::string keccak_hex(std::string_view text);
// 4-byte selector "0x70a08231" and event topic of a signature.
std::string selector(std::string_view signature);
// EIP-137 namehash, "0x" + 64 hex; the reverse-record name of an address.
std::string namehash(std::string_view name);
std::string reverse_name(std::string_view address);

// Quantities: minimal hex "0x1a"; parse_quantity takes up to 64 bits.
std::string quantity(std::uint64_t v);
std::uint64_t parse_quantity(std::string_view hex);
// Any hex number up to 256 bits → its decimal text.
std::string hex_to_decimal(std::string_view hex);

// "0x" + 40 lowercase hex; is_address: 20 bytes of hex with or without 0x.
bool is_address(std::string_view a);
std::string normalize_address(std::string_view a);

// ABI encoding of one dynamic `string` return value.
std::string encode_string(std::string_view s);

// 64 lowercase hex digits (no 0x): an address left-padded, an unsigned integer.
std::string address_word(std::string_view address);  // "0x" + 40 hex
std::string uint_word(std::uint64_t v);
// A hex quantity ("0x1a", up to 64 digits) left-padded to one word.
std::string quantity_word(std::string_view quantity);
// The address in one word (64 hex digits, optional 0x): "0x" + 40 lowercase hex.
std::string word_to_address(std::string_view word);
// "0x" + 64 hex digits: an address as an indexed event topic.
std::string address_topic(std::string_view address);

// One Multicall3 Call3: target, allowFailure, callData ("0x..." hex).
struct Call3 {
  std::string target;
  bool allow_failure = false;
  std::string call_data;
};
// Decodes the arguments of aggregate3 (the calldata after the 4-byte selector, as hex without
// 0x). Throws std::invalid_argument for offsets or lengths outside the data.
std::vector<Call3> decode_aggregate3(std::string_view args_hex);

// One Multicall3 Result: success, returnData ("0x..." hex).
struct Result3 {
  bool success = false;
  std::string return_data;
};
// ABI-encodes aggregate3's return value, (bool,bytes)[], as "0x..." hex.
std::string encode_results(const std::vector<Result3>& results);

}  // namespace socialai::devnet::abi
