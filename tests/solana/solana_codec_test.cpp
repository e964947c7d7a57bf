// Unit tests of the Solana codec: base58 (Bitcoin Core's published vectors), the curve test, PDA
// derivation against published mint → metadata account pairs, Metaplex borsh decoding of a real
// account (incl. truncated and hostile data) and the RPC answer parsers.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "workers/solana/base58.h"
#include "workers/solana/metaplex.h"
#include "workers/solana/solana_keys.h"
#include "workers/solana/solana_rpc.h"

namespace socialai::solana {
namespace {

std::vector<std::uint8_t> unhex(const std::string& h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// bitcoin/src/test/data/base58_encode_decode.json
TEST(Base58, BitcoinVectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"61", "2g"},
      {"626262", "a3gV"},
      {"636363", "aPEr"},
      {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
      {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
      {"516b6fcd0f", "ABnLTmg"},
      {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
      {"572e4794", "3EFU7m"},
      {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
      {"10c8511e", "Rt5zm"},
      {"00000000000000000000", "1111111111"},
      {"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
       "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
  };
  for (const auto& [hex, b58] : vectors) {
    EXPECT_EQ(base58_encode(unhex(hex)), b58) << hex;
    const auto back = base58_decode(b58);
    ASSERT_TRUE(back.has_value()) << b58;
    EXPECT_EQ(*back, unhex(hex)) << b58;
  }
}

TEST(Base58, RejectsCharactersOutsideTheAlphabet) {
  for (const char* bad : {"0", "O", "I", "l", "3mJr0", "abc!", "a b", "\xc3\xa9"}) {
    EXPECT_FALSE(base58_decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base58_decode(std::string(300, '2')).has_value());  // over the length bound
}

TEST(Base58, SolanaKeysRoundTrip) {
  // The system program is 32 zero bytes.
  const auto sys = parse_pubkey(kSystemProgramId);
  ASSERT_TRUE(sys.has_value());
  EXPECT_EQ(*sys, Pubkey{});
  const auto token = parse_pubkey(kTokenProgramId);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(to_base58(*token), kTokenProgramId);
  EXPECT_FALSE(parse_pubkey("2g").has_value());                           // too short
  EXPECT_FALSE(parse_pubkey("1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L").has_value());  // 25 bytes
}

Pubkey key_of(const std::string& b58) {
  const auto k = parse_pubkey(b58);
  EXPECT_TRUE(k.has_value()) << b58;
  return k.value_or(Pubkey{});
}

// Published pairs: USDC's mint and its metadata account (metaplex_python's test suite) and the
// MILLI mint (LMAX solana4j's AssociatedTokenMetadataProgramTest).
TEST(Pda, KnownMetadataAccounts) {
  EXPECT_EQ(to_base58(metadata_pda(key_of("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"))),
            "5x38Kp4hvdomTCnCrAny4UtMUt5rQBdB6px2K1Ui45Wq");
  EXPECT_EQ(to_base58(metadata_pda(key_of("HDLRMKW1FDz2q5Zg778CZx26UgrtnqpUDkNNJHhmVUFr"))),
            "Ff68e9DL9p1GUBkhRXxdv61wiYd8X6iFWTS6XWgsDptP");
}

TEST(Pda, ResultIsOffCurveAndBumpIsTheHighestViable) {
  const Pubkey mint = key_of("HDLRMKW1FDz2q5Zg778CZx26UgrtnqpUDkNNJHhmVUFr");
  const Pubkey prog = key_of(std::string(kMetadataProgramId));
  const std::vector<std::uint8_t> meta = {'m', 'e', 't', 'a', 'd', 'a', 't', 'a'};
  const auto pa = find_program_address(
      {meta, {prog.begin(), prog.end()}, {mint.begin(), mint.end()}}, prog);
  EXPECT_FALSE(is_on_curve(pa.address));
  EXPECT_EQ(to_base58(pa.address), "Ff68e9DL9p1GUBkhRXxdv61wiYd8X6iFWTS6XWgsDptP");
  EXPECT_THROW(find_program_address({std::vector<std::uint8_t>(33, 1)}, prog),
               std::invalid_argument);
}

TEST(Curve, AgreesWithLibsodiumOnValidPointsAndAcceptsSmallOrderOnes) {
  ASSERT_GE(sodium_init(), 0);
  // Every point libsodium calls valid (prime-order subgroup) must be on the curve for us too.
  int valid = 0, on = 0;
  for (int i = 0; i < 400; ++i) {
    Pubkey k;
    randombytes_buf(k.data(), k.size());
    const bool ours = is_on_curve(k);
    on += ours ? 1 : 0;
    if (crypto_core_ed25519_is_valid_point(k.data()) == 1) {
      ++valid;
      EXPECT_TRUE(ours);
    }
  }
  EXPECT_GT(on, 120);  // about half of all 32-byte strings decompress
  EXPECT_LT(on, 280);
  EXPECT_LT(valid, on);  // libsodium rejects most on-curve points (outside the subgroup)
  // Small-order points decompress (Solana rejects them as PDAs) but libsodium calls them invalid.
  Pubkey identity{};
  identity[0] = 1;  // (0, 1)
  EXPECT_TRUE(is_on_curve(identity));
  EXPECT_EQ(crypto_core_ed25519_is_valid_point(identity.data()), 0);
  // (0, -1): y = p - 1 = 0x7fff...ffec little-endian.
  Pubkey minus_one;
  minus_one.fill(0xff);
  minus_one[0] = 0xec;
  minus_one[31] = 0x7f;
  EXPECT_TRUE(is_on_curve(minus_one));
  EXPECT_EQ(crypto_core_ed25519_is_valid_point(minus_one.data()), 0);
  // The ed25519 base point is on the curve: y = 4/5, encoded 0x58 0x66 .. 0x66.
  Pubkey base;
  base.fill(0x66);
  base[0] = 0x58;
  EXPECT_TRUE(is_on_curve(base));
}

// The MILLIONSY token's metadata account as getAccountInfo returns it (LMAX solana4j's tests).
const std::string kMilliMetadata =
    "BCiUQD3vjdOcERjci+tEza693iY9vZaYShTZe6wqiAB78OPrKcLB3KUmyL/8gHzzJ59be"
    "O+RuLlO2jE+Lxq8y8kgAAAATUlMTElPTlNZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAKAAAATUlMTEkAAAAAAMgAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAf4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

TEST(Metaplex, DecodesARealAccount) {
  const auto data = base64_decode(kMilliMetadata);
  EXPECT_EQ(data.size(), kMaxMetadataLen);
  const TokenMetadata m = decode_metadata(data);
  EXPECT_EQ(m.name, "MILLIONSY");
  EXPECT_EQ(m.symbol, "MILLI");
  EXPECT_EQ(m.uri, "");
  EXPECT_EQ(m.mint, "HDLRMKW1FDz2q5Zg778CZx26UgrtnqpUDkNNJHhmVUFr");
  EXPECT_TRUE(m.creators.empty());
  const auto j = m.to_json();
  EXPECT_EQ(j["name"], "MILLIONSY");
  EXPECT_EQ(j["symbol"], "MILLI");
}

TEST(Metaplex, EncodeDecodeRoundTrip) {
  TokenMetadata m;
  m.update_authority = "HDLRMKW1FDz2q5Zg778CZx26UgrtnqpUDkNNJHhmVUFr";
  m.mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
  m.name = "Devnet Ape #7";
  m.symbol = "DAPE";
  m.uri = "https://example.invalid/7.json";
  m.seller_fee_basis_points = 500;
  m.creators.push_back({"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", true, 100});
  m.is_mutable = true;
  const auto bytes = encode_metadata(m);
  EXPECT_EQ(bytes.size(), kMaxMetadataLen);
  const TokenMetadata back = decode_metadata(bytes);
  EXPECT_EQ(back.to_json(), m.to_json());
  m.symbol = "WAY TOO LONG";
  EXPECT_THROW(encode_metadata(m), std::invalid_argument);
}

TEST(Metaplex, HostileAndTruncatedData) {
  const auto good = base64_decode(kMilliMetadata);
  // Every truncation before is_mutable fails with a MetadataError, never a crash.
  const std::size_t needed = 1 + 32 + 32 + (4 + 32) + (4 + 10) + (4 + 200) + 2 + 1 + 1 + 1;
  for (std::size_t n = 0; n < needed; ++n) {
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(decode_metadata(cut), MetadataError) << n;
  }
  std::vector<std::uint8_t> exact(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(needed));
  EXPECT_NO_THROW(decode_metadata(exact));
  // A name length far beyond the buffer.
  auto huge = good;
  huge[65] = 0xff;
  huge[66] = 0xff;
  huge[67] = 0xff;
  huge[68] = 0x7f;
  try {
    decode_metadata(huge);
    ADD_FAILURE() << "no error";
  } catch (const MetadataError& e) {
    EXPECT_NE(std::string(e.what()).find("name length"), std::string::npos) << e.what();
  }
  // A wrong account key (e.g. an edition account).
  auto edition = good;
  edition[0] = 6;
  EXPECT_THROW(decode_metadata(edition), MetadataError);
  // Creators claiming 100 million entries.
  TokenMetadata m = decode_metadata(good);
  m.creators.push_back({m.mint, false, 100});
  auto many = encode_metadata(m);
  const std::size_t creators_len = needed - 3 + 1;  // after the option tag
  many[creators_len] = 0x00;
  many[creators_len + 1] = 0xe1;
  many[creators_len + 2] = 0xf5;
  many[creators_len + 3] = 0x05;
  EXPECT_THROW(decode_metadata(many), MetadataError);
  // A bool that is neither 0 nor 1.
  auto badbool = good;
  badbool[needed - 1] = 7;
  EXPECT_THROW(decode_metadata(badbool), MetadataError);
  EXPECT_THROW(base64_decode("not base64!"), MetadataError);
  EXPECT_THROW(base64_decode("QUJD="), MetadataError);
  EXPECT_TRUE(base64_decode("").empty());
}

TEST(Rpc, ParsesAndRejectsShapes) {
  using nlohmann::json;
  EXPECT_EQ(parse_balance(json::parse(R"({"context":{"slot":5},"value":18446744073709551615})")),
            18446744073709551615ull);
  EXPECT_THROW(parse_balance(json::parse(R"({"value":-1})")), WireError);
  EXPECT_THROW(parse_balance(json::parse(R"({"value":"1"})")), WireError);

  const std::string owner = "A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd";
  const json accounts = json::parse(R"({"context":{"slot":1},"value":[{"pubkey":
    "BGocb4GEpbTFm8UFV2VsDSaBXHELPfAXrvd4vtt8QWrA","account":{"data":{"program":"spl-token",
    "parsed":{"info":{"isNative":false,"mint":"2cHr7QS3xfuSV8wdxo3ztuF4xbiarF6Nrgx3qpx3HzXR",
    "owner":"A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd","state":"initialized","tokenAmount":
    {"amount":"420000000000000","decimals":6,"uiAmount":420000000.0,"uiAmountString":
    "420000000"}},"type":"account"},"space":165},"executable":false,"lamports":2039280,
    "owner":"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA","rentEpoch":18446744073709551615,
    "space":165}}]})");
  const auto parsed = parse_token_accounts(accounts, owner);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].mint, "2cHr7QS3xfuSV8wdxo3ztuF4xbiarF6Nrgx3qpx3HzXR");
  EXPECT_EQ(parsed[0].amount, "420000000000000");
  EXPECT_EQ(parsed[0].decimals, 6);
  EXPECT_FALSE(parsed[0].looks_like_nft());
  EXPECT_THROW(parse_token_accounts(accounts, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
               WireError);
  json bad = accounts;
  bad["value"][0]["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"] = "1e5";
  EXPECT_THROW(parse_token_accounts(bad, owner), WireError);

  const auto sigs = parse_signatures(json::parse(R"([{"signature":
    "5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv",
    "slot":114,"err":null,"memo":null,"blockTime":null,"confirmationStatus":"finalized"}])"));
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_EQ(sigs[0].slot, 114);
  EXPECT_FALSE(sigs[0].block_time.has_value());
  EXPECT_THROW(parse_signatures(json::parse(R"({"signature":"x"})")), WireError);

  const json tx = json::parse(R"({"slot":430,"blockTime":1700000000,"meta":{"err":null,
    "fee":5000,"preBalances":[1000000,50,1],"postBalances":[894999,100050,1],"status":{"Ok":null}},
    "transaction":{"message":{"accountKeys":["A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd",
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","11111111111111111111111111111111"]},
    "signatures":["x"]}})");
  const auto t = parse_transaction(tx, "sig");
  EXPECT_EQ(t.slot, 430);
  EXPECT_EQ(t.status, "success");
  EXPECT_EQ(t.fee_payer, owner);
  EXPECT_EQ(t.to, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
  EXPECT_EQ(t.value, "100001");
  json short_tx = tx;
  short_tx["meta"]["postBalances"] = json::array({1});
  EXPECT_THROW(parse_transaction(short_tx, "sig"), WireError);

  EXPECT_FALSE(parse_account_data(json::parse(R"({"context":{"slot":1},"value":null})")));
  EXPECT_EQ(parse_account_data(json::parse(
                R"({"value":{"data":["QUJD","base64"],"owner":"x","lamports":1}})"))
                ->size(),
            3u);
  EXPECT_THROW(parse_account_data(json::parse(R"({"value":{"data":["%%","base64"]}})")),
               MetadataError);
  EXPECT_THROW(parse_account_data(json::parse(R"({"value":{"data":"QUJD"}})")), WireError);
}

}  // namespace
}  // namespace socialai::solana
