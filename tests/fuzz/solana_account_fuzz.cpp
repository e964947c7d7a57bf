// Solana answers: Metaplex metadata account data (borsh; the input as raw bytes and as the
// base64 text getAccountInfo carries) and JSON-RPC results (balances, token accounts,
// signatures, transactions). Rejections only as MetadataError / WireError; decoded metadata
// fits its input and round-trips through the encoder when the encoder accepts it.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "workers/solana/metaplex.h"
#include "workers/solana/solana_rpc.h"

using namespace socialai::solana;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  socialai::fuzz::only_declared_errors<MetadataError>([&] {
    const TokenMetadata m = decode_metadata(bytes);
    // Lengths beyond Metaplex's 32/10/200 are accepted when they fit the account (lenient, as
    // the decoder documents); the encoder refuses them, so they skip the round trip below.
    FUZZ_CHECK(m.name.size() + m.symbol.size() + m.uri.size() <= bytes.size());
    std::vector<std::uint8_t> again;
    try {
      again = encode_metadata(m);
    } catch (const std::invalid_argument&) {
      return;  // a field the encoder refuses (documented); nothing to compare
    }
    const TokenMetadata back = decode_metadata(again);
    FUZZ_CHECK(back.name == m.name && back.symbol == m.symbol && back.uri == m.uri);
  });
  const std::string_view text = socialai::fuzz::as_view(data, size);
  socialai::fuzz::only_declared_errors<MetadataError>([&] { base64_decode(text); });
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    return 0;
  }
  const nlohmann::json result = json.is_object() && json.contains("result") ? json["result"] : json;
  socialai::fuzz::only_declared_errors<WireError>([&] { parse_balance(result); });
  socialai::fuzz::only_declared_errors<WireError>([&] { parse_token_accounts(result, "owner"); });
  socialai::fuzz::only_declared_errors<WireError>([&] { parse_signatures(result); });
  socialai::fuzz::only_declared_errors<WireError>([&] { parse_transaction(result, "sig"); });
  socialai::fuzz::only_declared_errors<WireError, MetadataError>([&] { parse_account_data(result); });
  return 0;
}
