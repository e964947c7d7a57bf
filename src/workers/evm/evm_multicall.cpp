// Multicall3 aggregate3 / getEthBalance encoding and decoding over the codec's words.
#include "workers/evm/evm_multicall.h"

#include "workers/evm/evm_codec.h"

namespace socialai::evm {

namespace {

// A word of `data` at byte `at` that must be a small number (offset, length, bool).
std::size_t small_word(const Bytes& data, std::size_t at) {
  if (at > data.size() || data.size() - at < 32) {
    throw AbiError("aggregate3 result: data too short");
  }
  std::size_t v = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    if (i < 28 && data[at + i] != 0) {
      throw AbiError("aggregate3 result: offset or length out of range");
    }
    if (i >= 28) {
      v = (v << 8) | data[at + i];
    }
  }
  return v;
}

}  // namespace

std::string aggregate3_calldata(const std::vector<std::pair<std::string, std::string>>& calls) {
  std::string offsets, tuples;
  std::size_t tuple_bytes = 0;
  for (const auto& [target, data] : calls) {
    const Bytes bytes = from_hex(data);
    offsets += word_uint(32 * calls.size() + tuple_bytes);
    std::string payload = to_hex(bytes).substr(2);
    payload.append((64 - payload.size() % 64) % 64, '0');
    tuples +=
        word_address(target) + word_uint(1) + word_uint(96) + word_uint(bytes.size()) + payload;
    tuple_bytes += 128 + payload.size() / 2;
  }
  return calldata("aggregate3((address,bool,bytes)[])", {word_uint(32), word_uint(calls.size())}) +
         offsets + tuples;
}

std::string get_eth_balance_calldata(std::string_view address) {
  return calldata("getEthBalance(address)", {word_address(address)});
}

std::vector<std::pair<bool, std::string>> decode_aggregate3(std::string_view data,
                                                            std::size_t expected) {
  const Bytes b = from_hex(data);
  const std::size_t array = small_word(b, 0);
  const std::size_t n = small_word(b, array);
  if (n != expected) {
    throw AbiError("aggregate3 result: " + std::to_string(n) + " results for " +
                   std::to_string(expected) + " calls");
  }
  const std::size_t heads = array + 32;
  std::vector<std::pair<bool, std::string>> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t tuple = heads + small_word(b, heads + 32 * i);
    const std::size_t success = small_word(b, tuple);
    if (success > 1) {
      throw AbiError("aggregate3 result: success is not a bool");
    }
    const std::size_t at = tuple + small_word(b, tuple + 32);
    const std::size_t len = small_word(b, at);
    if (b.size() - at - 32 < len) {
      throw AbiError("aggregate3 result: returnData runs past the data");
    }
    out.emplace_back(success == 1, to_hex(b.data() + at + 32, len));
  }
  return out;
}

}  // namespace socialai::evm
