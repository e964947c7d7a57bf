// EVM answers: ABI-encoded eth_call results (dynamic strings with hostile offsets and lengths,
// addresses, uint256) and hex quantities. Rejections only as AbiError; what decodes
// round-trips through the encoder.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "workers/evm/evm_codec.h"

using namespace socialai::evm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = socialai::fuzz::as_view(data, size);
  socialai::fuzz::only_declared_errors<AbiError>([&] {
    const std::string s = decode_string(text);
    FUZZ_CHECK(decode_string(encode_string(s)) == s);
  });
  socialai::fuzz::only_declared_errors<AbiError>([&] {
    const std::string address = decode_address(text);
    FUZZ_CHECK(address.size() == 42 && address.rfind("0x", 0) == 0);
  });
  socialai::fuzz::only_declared_errors<AbiError>([&] {
    const std::string decimal = hex_to_decimal(text);
    FUZZ_CHECK(!decimal.empty() && decimal.size() <= 78);
    FUZZ_CHECK(hex_to_decimal(decimal_to_hex(decimal)) == decimal);
  });
  socialai::fuzz::only_declared_errors<AbiError>([&] { decode_uint_decimal(text); });
  socialai::fuzz::only_declared_errors<AbiError>([&] { parse_quantity(text); });
  return 0;
}
