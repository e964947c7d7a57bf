// EvmChain: the typed reads the EVM worker makes over JSON-RPC (any standard node: geth, anvil,
// public RPCs): chain id, head, blocks with transactions, receipts, logs and eth_call batches.
// Answers are checked for shape; a malformed one throws EvmShapeError naming the method.
// Not thread-safe (one JsonRpcClient).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_rpc.h"

namespace socialai::evm {

class EvmShapeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EvmTx {
  std::string hash;
  std::string from;
  std::optional<std::string> to;  // absent for contract creation
  std::string value_decimal;
};

struct EvmBlock {
  std::uint64_t number = 0;
  std::string hash, parent_hash;
  std::uint64_t timestamp = 0;
  std::vector<EvmTx> txs;  // only with full transactions
};

struct EvmLog {
  std::string address;
  std::vector<std::string> topics;
  std::string data;
  std::uint64_t block_number = 0;
  std::string block_hash, tx_hash;
};

struct EvmCall {
  std::string to;
  std::string data;             // 0x calldata
  bool native_balance = false;  // the ETH balance of `to` instead (eth_getBalance)

  static EvmCall balance_of(const std::string& address) { return {address, "", true}; }
};

class EvmChain {
 public:
  // `rpc` is not owned and must outlive this. batch_size bounds every JSON-RPC batch.
  EvmChain(JsonRpcClient& rpc, std::size_t batch_size) : rpc_(rpc), batch_size_(batch_size) {}

  std::uint64_t chain_id();
  std::uint64_t block_number();
  // Blocks in the order of `numbers`; throws if any is missing or malformed.
  std::vector<EvmBlock> blocks(const std::vector<std::uint64_t>& numbers, bool full_txs);
  // The hash of each block, nullopt for a block the node does not have (beyond its head).
  std::vector<std::optional<std::string>> block_hashes(const std::vector<std::uint64_t>& numbers);
  // Receipt status per transaction hash: true = success (status 0x1).
  std::map<std::string, bool> receipt_status(const std::vector<std::string>& hashes);
  // eth_getLogs with a prepared filter object.
  std::vector<EvmLog> logs(const nlohmann::json& filter);
  // eth_getLogs of `filter` (without a block range) over blocks from..to in chunks of at most
  // `max_range` blocks. A chunk the node refuses as too large (too many results, too wide a
  // range: -32005 and the usual provider messages) is halved, down to one block, and the
  // smaller span kept for the rest of the range.
  std::vector<EvmLog> logs_in_range(const nlohmann::json& filter, std::uint64_t from,
                                    std::uint64_t to, std::uint64_t max_range);
  // eth_call of each at `block_tag` ("latest" or a hex number); native balances as
  // eth_getBalance (a quantity) or Multicall3 getEthBalance (a word). Per-call error objects (a
  // revert, say) are returned, not thrown. With Multicall3 in use, up to batch_size calls travel
  // as one aggregate3 eth_call (allowFailure: a failed call is a revert result, code 3).
  std::vector<JsonRpcResult> calls(const std::vector<EvmCall>& calls, const std::string& block_tag);

  // Packs calls() into Multicall3 at `address` (empty: never). Checked on first use with
  // eth_getCode; no code there, or an aggregate3 that reverts or answers garbage, falls back to
  // JSON-RPC batches of single calls for the rest of this EvmChain's life.
  void use_multicall(std::string address) { multicall_ = std::move(address); }
  bool multicall_active() const { return multicall_state_ == Multicall::kOn; }

  JsonRpcClient& rpc() { return rpc_; }

 private:
  enum class Multicall { kUnchecked, kOn, kOff };
  std::vector<JsonRpcResult> plain_calls(const std::vector<EvmCall>& calls,
                                         const std::string& block_tag);
  // nullopt: Multicall3 is not usable here (then kOff).
  std::optional<std::vector<JsonRpcResult>> multicalls(const std::vector<EvmCall>& calls,
                                                       const std::string& block_tag);
  void multicall_off(const std::string& why);

  JsonRpcClient& rpc_;
  std::size_t batch_size_;
  std::string multicall_;
  Multicall multicall_state_ = Multicall::kUnchecked;
};

// True for a node's "this eth_getLogs query is too large" answer (range or result count).
bool is_log_range_error(const JsonRpcError& e);

// Parses one block object (eth_getBlockByNumber/-Hash); throws EvmShapeError.
EvmBlock parse_block(const nlohmann::json& j, bool full_txs);

}  // namespace socialai::evm
