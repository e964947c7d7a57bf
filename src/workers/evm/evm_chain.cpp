// Typed JSON-RPC reads for the EVM worker, with shape checks on every answer.
#include "workers/evm/evm_chain.h"

#include <algorithm>
#include <cctype>
#include <iterator>

#include <spdlog/spdlog.h>

#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_multicall.h"

namespace socialai::evm {

using json = nlohmann::json;

namespace {

const std::string& str_field(const json& j, const char* key, const char* what) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) {
    throw EvmShapeError(std::string(what) + ": missing or non-string \"" + key + "\"");
  }
  return j[key].get_ref<const std::string&>();
}

std::uint64_t quantity_field(const json& j, const char* key, const char* what) {
  try {
    return parse_quantity(str_field(j, key, what));
  } catch (const AbiError& e) {
    throw EvmShapeError(std::string(what) + ": \"" + key + "\": " + e.what());
  }
}

std::string hash_field(const json& j, const char* key, const char* what) {
  const std::string& h = str_field(j, key, what);
  if (h.size() != 66 || h.rfind("0x", 0) != 0) {
    throw EvmShapeError(std::string(what) + ": \"" + key + "\" is not a 32-byte hash");
  }
  try {
    return to_hex(from_hex(h));  // validates and lowercases
  } catch (const AbiError& e) {
    throw EvmShapeError(std::string(what) + ": \"" + key + "\": " + e.what());
  }
}

std::string address_field(const json& j, const char* key, const char* what) {
  try {
    return normalize_address(str_field(j, key, what));
  } catch (const AbiError& e) {
    throw EvmShapeError(std::string(what) + ": \"" + key + "\": " + e.what());
  }
}

// Throws the node's error for a result that must be there.
const json& require(const JsonRpcResult& r) {
  if (!r.ok()) {
    throw *r.error;
  }
  return r.result;
}

}  // namespace

EvmBlock parse_block(const json& j, bool full_txs) {
  constexpr const char* kWhat = "block";
  EvmBlock b;
  b.number = quantity_field(j, "number", kWhat);
  b.hash = hash_field(j, "hash", kWhat);
  b.parent_hash = hash_field(j, "parentHash", kWhat);
  b.timestamp = quantity_field(j, "timestamp", kWhat);
  if (!full_txs) {
    return b;
  }
  if (!j.contains("transactions") || !j["transactions"].is_array()) {
    throw EvmShapeError("block " + std::to_string(b.number) + ": no transactions array");
  }
  for (const auto& t : j["transactions"]) {
    constexpr const char* kTx = "transaction";
    if (!t.is_object()) {
      throw EvmShapeError("block " + std::to_string(b.number) +
                          ": transactions are not objects (asked for full transactions)");
    }
    EvmTx tx;
    tx.hash = hash_field(t, "hash", kTx);
    tx.from = address_field(t, "from", kTx);
    if (t.contains("to") && !t["to"].is_null()) {
      tx.to = address_field(t, "to", kTx);
    }
    try {
      tx.value_decimal = hex_to_decimal(str_field(t, "value", kTx));
    } catch (const AbiError& e) {
      throw EvmShapeError(std::string("transaction value: ") + e.what());
    }
    b.txs.push_back(std::move(tx));
  }
  return b;
}

std::uint64_t EvmChain::chain_id() {
  const json r = rpc_.call("eth_chainId");
  if (!r.is_string()) {
    throw EvmShapeError("eth_chainId: result is not a hex string");
  }
  return parse_quantity(r.get<std::string>());
}

std::uint64_t EvmChain::block_number() {
  const json r = rpc_.call("eth_blockNumber");
  if (!r.is_string()) {
    throw EvmShapeError("eth_blockNumber: result is not a hex string");
  }
  return parse_quantity(r.get<std::string>());
}

std::vector<EvmBlock> EvmChain::blocks(const std::vector<std::uint64_t>& numbers, bool full_txs) {
  std::vector<JsonRpcCall> calls;
  calls.reserve(numbers.size());
  for (auto n : numbers) {
    calls.push_back({"eth_getBlockByNumber", json::array({quantity(n), full_txs})});
  }
  const auto results = rpc_.batch(calls, batch_size_);
  std::vector<EvmBlock> out;
  out.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& j = require(results[i]);
    if (j.is_null()) {
      throw EvmShapeError("block " + std::to_string(numbers[i]) + " is unknown to the node");
    }
    out.push_back(parse_block(j, full_txs));
    if (out.back().number != numbers[i]) {
      throw EvmShapeError("asked for block " + std::to_string(numbers[i]) + ", got " +
                          std::to_string(out.back().number));
    }
  }
  return out;
}

std::vector<std::optional<std::string>> EvmChain::block_hashes(
    const std::vector<std::uint64_t>& numbers) {
  std::vector<JsonRpcCall> calls;
  for (auto n : numbers) {
    calls.push_back({"eth_getBlockByNumber", json::array({quantity(n), false})});
  }
  const auto results = rpc_.batch(calls, batch_size_);
  std::vector<std::optional<std::string>> out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& j = require(results[i]);
    if (j.is_null()) {
      out.emplace_back();
      continue;
    }
    const EvmBlock b = parse_block(j, false);
    if (b.number != numbers[i]) {
      throw EvmShapeError("asked for block " + std::to_string(numbers[i]) + ", got " +
                          std::to_string(b.number));
    }
    out.emplace_back(b.hash);
  }
  return out;
}

std::map<std::string, bool> EvmChain::receipt_status(const std::vector<std::string>& hashes) {
  std::vector<JsonRpcCall> calls;
  for (const auto& h : hashes) {
    calls.push_back({"eth_getTransactionReceipt", json::array({h})});
  }
  const auto results = rpc_.batch(calls, batch_size_);
  std::map<std::string, bool> out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& r = require(results[i]);
    if (r.is_null()) {
      throw EvmShapeError("no receipt for " + hashes[i]);
    }
    // Pre-Byzantium receipts have a state root instead of a status: they count as success.
    out[hashes[i]] = !r.contains("status") || quantity_field(r, "status", "receipt") == 1;
  }
  return out;
}

std::vector<EvmLog> EvmChain::logs(const json& filter) {
  const json r = rpc_.call("eth_getLogs", json::array({filter}));
  if (!r.is_array()) {
    throw EvmShapeError("eth_getLogs: result is not an array");
  }
  std::vector<EvmLog> out;
  for (const auto& l : r) {
    constexpr const char* kWhat = "log";
    if (l.is_object() && l.value("removed", false)) {
      continue;
    }
    EvmLog log;
    log.address = address_field(l, "address", kWhat);
    log.block_number = quantity_field(l, "blockNumber", kWhat);
    log.block_hash = hash_field(l, "blockHash", kWhat);
    log.tx_hash = hash_field(l, "transactionHash", kWhat);
    log.data = str_field(l, "data", kWhat);
    if (!l.contains("topics") || !l["topics"].is_array()) {
      throw EvmShapeError("log: no topics array");
    }
    for (const auto& t : l["topics"]) {
      if (!t.is_string() || t.get<std::string>().size() != 66) {
        throw EvmShapeError("log: a topic is not a 32-byte hex string");
      }
      log.topics.push_back(t.get<std::string>());
    }
    out.push_back(std::move(log));
  }
  return out;
}

bool is_log_range_error(const JsonRpcError& e) {
  std::string m = e.what();
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  if (m.find("rate") != std::string::npos || m.find("daily") != std::string::npos) {
    return false;  // -32005 is also Infura's rate limit: smaller ranges would not help
  }
  if (e.code() == -32005) {
    return true;
  }
  for (const char* p : {"more than", "range", "too many", "too large", "too wide", "exceed",
                        "response size", "limited to"}) {
    if (m.find(p) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::vector<EvmLog> EvmChain::logs_in_range(const json& filter, std::uint64_t from,
                                            std::uint64_t to, std::uint64_t max_range) {
  std::vector<EvmLog> out;
  std::uint64_t span = std::max<std::uint64_t>(1, max_range);
  for (std::uint64_t at = from; at <= to;) {
    const std::uint64_t end = to - at < span ? to : at + span - 1;
    json f = filter;
    f["fromBlock"] = quantity(at);
    f["toBlock"] = quantity(end);
    try {
      auto part = logs(f);
      out.insert(out.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
    } catch (const JsonRpcError& e) {
      if (end == at || !is_log_range_error(e)) {
        throw;
      }
      span = (end - at + 1) / 2;
      continue;
    }
    if (end == to) {
      break;
    }
    at = end + 1;
  }
  return out;
}

std::vector<JsonRpcResult> EvmChain::calls(const std::vector<EvmCall>& calls,
                                           const std::string& block_tag) {
  if (calls.empty()) {
    return {};
  }
  if (!multicall_.empty() && multicall_state_ == Multicall::kUnchecked) {
    json code;
    try {
      code = rpc_.call("eth_getCode", json::array({multicall_, "latest"}));
    } catch (const JsonRpcError& e) {
      code = e.what();  // a node without eth_getCode: not "0x…" bytecode either
    }
    if (code.is_string() && code.get<std::string>().size() > 2 &&
        code.get<std::string>().rfind("0x", 0) == 0) {
      multicall_state_ = Multicall::kOn;
      spdlog::info("Multicall3 at {}: eth_calls are packed into aggregate3", multicall_);
    } else {
      multicall_off(code.is_string() && code.get<std::string>().rfind("0x", 0) != 0
                        ? "eth_getCode: " + code.get<std::string>()
                        : "no contract code there");
    }
  }
  if (multicall_state_ == Multicall::kOn) {
    if (auto out = multicalls(calls, block_tag)) {
      return std::move(*out);
    }
  }
  return plain_calls(calls, block_tag);
}

void EvmChain::multicall_off(const std::string& why) {
  multicall_state_ = Multicall::kOff;
  spdlog::warn("Multicall3 at {} is not usable ({}); using JSON-RPC batches of single calls",
               multicall_, why);
}

std::vector<JsonRpcResult> EvmChain::plain_calls(const std::vector<EvmCall>& calls,
                                                 const std::string& block_tag) {
  std::vector<JsonRpcCall> rpc_calls;
  rpc_calls.reserve(calls.size());
  for (const auto& c : calls) {
    if (c.native_balance) {
      rpc_calls.push_back({"eth_getBalance", json::array({c.to, block_tag})});
    } else {
      rpc_calls.push_back({"eth_call", json::array({{{"to", c.to}, {"data", c.data}}, block_tag})});
    }
  }
  return rpc_.batch(rpc_calls, batch_size_);
}

std::optional<std::vector<JsonRpcResult>> EvmChain::multicalls(const std::vector<EvmCall>& calls,
                                                               const std::string& block_tag) {
  // One aggregate3 per batch_size calls; those eth_calls in JSON-RPC batches.
  std::vector<JsonRpcCall> rpc_calls;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // [from, to) of `calls`
  for (std::size_t from = 0; from < calls.size(); from += batch_size_) {
    const std::size_t to = std::min(calls.size(), from + batch_size_);
    std::vector<std::pair<std::string, std::string>> packed;
    for (std::size_t i = from; i < to; ++i) {
      packed.emplace_back(
          calls[i].native_balance ? multicall_ : calls[i].to,
          calls[i].native_balance ? get_eth_balance_calldata(calls[i].to) : calls[i].data);
    }
    rpc_calls.push_back(
        {"eth_call",
         json::array({{{"to", multicall_}, {"data", aggregate3_calldata(packed)}}, block_tag})});
    spans.emplace_back(from, to);
  }
  const auto results = rpc_.batch(rpc_calls, batch_size_);
  std::vector<JsonRpcResult> out(calls.size());
  for (std::size_t k = 0; k < results.size(); ++k) {
    const auto [from, to] = spans[k];
    const auto& r = results[k];
    if (!r.ok() && std::string(r.error->what()).find("revert") == std::string::npos) {
      // A node-side failure of this aggregate3: each of its calls gets that error.
      for (std::size_t i = from; i < to; ++i) {
        out[i].error = r.error;
      }
      continue;
    }
    try {
      if (!r.ok()) {
        throw AbiError(r.error->what());
      }
      if (!r.result.is_string()) {
        throw AbiError("eth_call result is not a hex string");
      }
      const auto decoded = decode_aggregate3(r.result.get<std::string>(), to - from);
      for (std::size_t i = from; i < to; ++i) {
        const auto& [ok, data] = decoded[i - from];
        if (ok) {
          out[i].result = data;
        } else {
          out[i].error = JsonRpcError("eth_call", 3, "execution reverted", data);
        }
      }
    } catch (const AbiError& e) {
      multicall_off(std::string("aggregate3: ") + e.what());
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace socialai::evm
