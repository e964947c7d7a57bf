// EVM codec against published vectors: Keccak-256, EIP-137 namehash, selectors and topics, ABI
// strings (with hostile offsets and lengths), uint256 ↔ decimal; settings and cursor parsing.
#include "workers/evm/evm_codec.h"

#include <gtest/gtest.h>

#include "workers/evm/evm_cursor.h"
#include "workers/evm/evm_sync.h"

namespace socialai::evm {
namespace {

std::string w(std::uint64_t v) { return word_uint(v); }

TEST(EvmCodec, Keccak256Vectors) {
  // Ethereum's Keccak-256 (original padding), not FIPS SHA3-256 (which gives a7ffc6f8… for "").
  EXPECT_EQ(to_hex(keccak256("")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(to_hex(keccak256("abc")),
            "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(EvmCodec, NamehashEip137Vectors) {
  EXPECT_EQ(to_hex(namehash("")), "0x" + std::string(64, '0'));
  EXPECT_EQ(to_hex(namehash("eth")),
            "0x93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae");
  EXPECT_EQ(to_hex(namehash("foo.eth")),
            "0xde9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f");
  EXPECT_EQ(to_hex(namehash("addr.reverse")),
            "0x91d1777781884d03a6757a803996e38de2a42967fb37eeaca72729271025a9e2");
  EXPECT_EQ(reverse_name("0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045"),
            "d8da6bf26964af9d7eed9e03e53415d37aa96045.addr.reverse");
}

TEST(EvmCodec, SelectorsAndTopics) {
  EXPECT_EQ(selector("balanceOf(address)"), "0x70a08231");
  EXPECT_EQ(selector("transfer(address,uint256)"), "0xa9059cbb");
  EXPECT_EQ(selector("ownerOf(uint256)"), "0x6352211e");
  EXPECT_EQ(selector("symbol()"), "0x95d89b41");
  EXPECT_EQ(selector("decimals()"), "0x313ce567");
  EXPECT_EQ(selector("resolver(bytes32)"), "0x0178b8bf");
  EXPECT_EQ(selector("addr(bytes32)"), "0x3b3b57de");
  EXPECT_EQ(selector("name(bytes32)"), "0x691f3431");
  EXPECT_EQ(event_topic("Transfer(address,address,uint256)"),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  EXPECT_EQ(
      calldata("balanceOf(address)", {word_address("0x00000000000000000000000000000000000000AB")}),
      "0x70a08231" + std::string(62, '0') + "ab");
}

TEST(EvmCodec, HexAndDecimal) {
  EXPECT_EQ(hex_to_decimal("0x0"), "0");
  EXPECT_EQ(hex_to_decimal("0xde0b6b3a7640000"), "1000000000000000000");
  EXPECT_EQ(hex_to_decimal("0x" + std::string(64, 'f')),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_EQ(hex_to_decimal("0x" + std::string(70, '0') + "1"), "1");  // leading zeros are fine
}

TEST(EvmCodec, HexErrors) {
  EXPECT_THROW(hex_to_decimal("0x1" + std::string(64, '0')), AbiError);  // 2^256
  EXPECT_THROW(hex_to_decimal("0xzz"), AbiError);
  EXPECT_THROW(hex_to_decimal("0x"), AbiError);
  EXPECT_THROW(parse_quantity("12"), AbiError);                   // no 0x
  EXPECT_THROW(parse_quantity("0x10000000000000000"), AbiError);  // 2^64
  EXPECT_EQ(parse_quantity("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_THROW(from_hex("0xabc"), AbiError);
  EXPECT_THROW(normalize_address("0x1234"), AbiError);
}

TEST(EvmCodec, DecimalToHexRoundTrip) {
  for (const std::string d :
       {"0", "1", "255", "1000000000000000000", "18446744073709551616",
        "115792089237316195423570985008687907853269984665640564039457584007913129639935"}) {
    EXPECT_EQ(hex_to_decimal(decimal_to_hex(d)), d);
  }
  EXPECT_EQ(decimal_to_hex("255"), "0xff");
  EXPECT_THROW(
      decimal_to_hex(
          "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
      AbiError);
  EXPECT_THROW(decimal_to_hex("12a"), AbiError);
}

TEST(EvmCodec, AbiStringDecoding) {
  // As mainnet USDC answers symbol().
  const std::string usdc = "0x" + w(32) + w(4) + "55534443" + std::string(56, '0');
  EXPECT_EQ(decode_string(usdc), "USDC");
  EXPECT_EQ(decode_string(encode_string("")), "");
  const std::string long_text(100, 'x');
  EXPECT_EQ(decode_string(encode_string(long_text)), long_text);
  // Legacy bytes32 symbol (MKR).
  EXPECT_EQ(decode_string("0x4d4b5200" + std::string(56, '0')), "MKR");
}

TEST(EvmCodec, AbiStringHostileInputIsAnError) {
  const std::string pad(64, '0');
  // Offset far beyond the data, huge offset, misaligned offset.
  EXPECT_THROW(decode_string("0x" + w(4096) + w(4) + pad), AbiError);
  EXPECT_THROW(decode_string("0x" + std::string(64, 'f') + w(4) + pad), AbiError);
  EXPECT_THROW(decode_string("0x" + w(33) + w(4) + pad), AbiError);
  // Length larger than what follows, and a 2^256-1 length.
  EXPECT_THROW(decode_string("0x" + w(32) + w(33) + pad), AbiError);
  EXPECT_THROW(decode_string("0x" + w(32) + std::string(64, 'f') + pad), AbiError);
  // Truncated (one word is read as legacy bytes32; two cannot be a string), empty, odd, non-hex.
  EXPECT_THROW(decode_string("0x" + w(32) + w(10)), AbiError);
  EXPECT_THROW(decode_string("0x" + w(64) + w(1)), AbiError);
  EXPECT_THROW(decode_string("0x"), AbiError);
  EXPECT_THROW(decode_string("0x" + w(32) + w(1) + "6"), AbiError);
  EXPECT_THROW(decode_string("0x" + w(32) + w(1) + std::string(62, '0') + "zz"), AbiError);
}

TEST(EvmCodec, AddressAndUintWords) {
  EXPECT_EQ(decode_address("0x" + std::string(24, '0') + std::string(40, 'A')),
            "0x" + std::string(40, 'a'));
  EXPECT_THROW(decode_address("0x" + std::string(23, '0') + "1" + std::string(40, 'a')), AbiError);
  EXPECT_THROW(decode_address("0x1234"), AbiError);
  EXPECT_EQ(decode_uint_decimal("0x" + w(1000)), "1000");
  EXPECT_EQ(decode_uint64("0x" + w(18)), 18u);
  EXPECT_THROW(decode_uint64("0x" + std::string(64, 'f')), AbiError);
}

TEST(EvmSettings, AddressLists) {
  const std::string a = "0x" + std::string(40, 'A');
  const std::string b = "0x" + std::string(40, 'b');
  EXPECT_EQ(parse_address_list("tokens", "[\"" + a + "\", \"" + b + "\"]"),
            (std::vector<std::string>{"0x" + std::string(40, 'a'), b}));
  EXPECT_EQ(parse_address_list("tokens", a + ", " + b + " " + b).size(), 2u);
  EXPECT_TRUE(parse_address_list("tokens", "").empty());
  EXPECT_THROW(parse_address_list("tokens", "[1]"), std::invalid_argument);
  EXPECT_THROW(parse_address_list("tokens", "vitalik.eth"), std::invalid_argument);
}

TEST(EvmCursor, RoundTripAndTrim) {
  BlockCursor c;
  for (std::int64_t n = 0; n < 100; ++n) {
    c.advance(n, "h" + std::to_string(n));
  }
  EXPECT_EQ(c.recent.size(), kRecentHashes);
  const auto back = BlockCursor::parse(c.to_text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->number, 99);
  EXPECT_EQ(back->hash, "h99");
  EXPECT_EQ(back->recent, c.recent);
  c.rewind_to(90, "h90");
  EXPECT_EQ(c.recent.back().first, 90);
  EXPECT_FALSE(BlockCursor::parse("not json"));
  EXPECT_FALSE(BlockCursor::parse("{\"number\": \"x\"}"));
}

TEST(EvmCursor, NftMovesAreKeptForTheKeptBlocksAndGivenBackOnRewind) {
  BlockCursor c;
  for (std::int64_t n = 0; n < 100; ++n) {
    c.advance(n, "h" + std::to_string(n));
    if (n % 10 == 5) {
      c.touch(n, "0xc", std::to_string(n));
    }
  }
  // Only moves within the 64 kept blocks (36..99) stay: 45, 55, ..., 95.
  ASSERT_EQ(c.nfts.size(), 6u);
  EXPECT_EQ(c.nfts.front().block, 45);
  const auto back = BlockCursor::parse(c.to_text());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->nfts.size(), 6u);
  EXPECT_EQ(back->nfts.back().token_id, "95");
  EXPECT_EQ(c.hash_of(80), "h80");
  EXPECT_EQ(c.hash_of(3), "");
  const auto dropped = c.rewind_to(80, "h80");
  ASSERT_EQ(dropped.size(), 2u);  // 95 and 85
  EXPECT_EQ(dropped[0].token_id, "95");
  EXPECT_EQ(dropped[1].token_id, "85");
  EXPECT_EQ(c.nfts.back().block, 75);
}

}  // namespace
}  // namespace socialai::evm
