// The devnet's EVM JSON-RPC node (/evm/<chain id>): the standard eth_* methods the EVM worker
// uses, with real wire formats, over EvmSim chains created on first use; control routes for
// truth, wallet lists, reorgs and mining.
#include <algorithm>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"
#include "devnet/evm_abi.h"
#include "devnet/evm_sim.h"
#include "devnet/json_rpc.h"

namespace socialai::devnet {

using json = nlohmann::json;
using namespace socialai::devnet::abi;

namespace {

constexpr const char* kZeroWord =
    "0x0000000000000000000000000000000000000000000000000000000000000000";

[[noreturn]] void revert() { throw RpcFailure(3, "execution reverted", "0x"); }

[[noreturn]] void bad_param(const std::string& what) {
  throw RpcFailure(-32602, "invalid argument: " + what);
}

std::string address_param(const json& v, const char* what) {
  if (!v.is_string() || !is_address(v.get<std::string>())) {
    bad_param(std::string(what) + " is not an address");
  }
  return normalize_address(v.get<std::string>());
}

std::string word(const std::string& w) { return "0x" + w; }

class EvmService : public Service {
 public:
  EvmService(Options& options, std::uint64_t seed) : seed_(seed) {
    sizes_.wallets = static_cast<int>(options.integer("evm-wallets", sizes_.wallets));
    sizes_.blocks = static_cast<int>(options.integer("evm-blocks", sizes_.blocks));
    sizes_.txs_per_block =
        static_cast<int>(options.integer("evm-txs-per-block", sizes_.txs_per_block));
    sizes_.tokens = static_cast<int>(options.integer("evm-tokens", sizes_.tokens));
    sizes_.collections = static_cast<int>(options.integer("evm-collections", sizes_.collections));
    sizes_.nfts = static_cast<int>(options.integer("evm-nfts", sizes_.nfts));
    allow_batch_ = !options.boolean("evm-no-batch", false);
    max_log_range_ = static_cast<std::uint64_t>(options.integer("evm-max-log-range", 5000));
    max_log_results_ = static_cast<std::size_t>(options.integer("evm-max-log-results", 10000));
    multicall_ = !options.boolean("evm-no-multicall", false);
  }

  std::string name() const override { return "evm"; }
  std::string mount() const override { return "/evm"; }

  Response handle(const Request& request) override {
    EvmSim* sim = chain_for(request.path);
    if (sim == nullptr) {
      return Response::json(404, {{"error", "use /evm/<chain id>"}});
    }
    return serve_json_rpc(
        request,
        [&](const std::string& m, const json& p) {
          auto& counts = calls_[sim->chain_id()];
          ++counts["total"];
          ++counts[m];
          try {
            return dispatch(*sim, m, p);
          } catch (const std::invalid_argument& e) {
            throw RpcFailure(-32602, std::string("invalid argument: ") + e.what());
          }
        },
        allow_batch_);
  }

  Response control(const Request& request) override {
    // /<chain>/<action>
    const auto slash = request.path.find('/', 1);
    EvmSim* sim = chain_for(request.path.substr(0, slash));
    const std::string action = slash == std::string::npos ? "" : request.path.substr(slash + 1);
    if (sim == nullptr) {
      return Response::json(404, {{"error", "use /_devnet/evm/<chain id>/<action>"}});
    }
    const auto number = [&](const char* key, std::int64_t fallback) {
      const auto v = request.param(key);
      return v ? std::stoll(*v) : fallback;
    };
    try {
      if (action == "truth") {
        std::vector<std::string> only;
        if (const auto w = request.param("wallets")) {
          for (std::size_t at = 0; at < w->size();) {
            const std::size_t comma = std::min(w->find(',', at), w->size());
            only.push_back(address_param(json(w->substr(at, comma - at)), "wallets"));
            at = comma + 1;
          }
        }
        return Response::json(200, sim->truth(static_cast<std::uint64_t>(std::max<std::int64_t>(
                                                  0, number("confirmations", 0))),
                                              only));
      }
      if (action == "calls") {
        return Response::json(200, calls_[sim->chain_id()]);
      }
      if (action == "transfer_nft" && request.method == "POST") {
        const auto to = request.param("to");
        const std::uint64_t block =
            sim->transfer_nft(static_cast<std::size_t>(number("collection", 0)),
                              static_cast<std::uint64_t>(number("id", 1)),
                              address_param(to ? json(*to) : json(), "to"));
        return Response::json(200, {{"block", block}, {"head", sim->head()}});
      }
      if (action == "info") {
        return Response::json(200, sim->info());
      }
      if (action == "reorg" && request.method == "POST") {
        const auto depth = static_cast<int>(number("depth", 1));
        const std::uint64_t first = sim->reorg(depth, static_cast<int>(number("length", depth)));
        return Response::json(200, {{"first_replaced", first}, {"head", sim->head()}});
      }
      if (action == "mine" && request.method == "POST") {
        sim->mine(static_cast<int>(std::clamp<std::int64_t>(number("blocks", 1), 0, 100000)));
        return Response::json(200, {{"head", sim->head()}});
      }
    } catch (const std::exception& e) {
      return Response::json(400, {{"error", e.what()}});
    }
    return Response::json(
        404, {{"error", "evm control routes: truth, info, calls, reorg, mine, transfer_nft"}});
  }

 private:
  EvmSim* chain_for(const std::string& path) {
    if (path.size() < 2 || path[0] != '/' ||
        path.find_first_not_of("0123456789", 1) != std::string::npos || path.size() > 12) {
      return nullptr;
    }
    const std::uint64_t id = std::stoull(path.substr(1));
    auto& slot = chains_[id];
    if (!slot) {
      slot = std::make_unique<EvmSim>(seed_, id, sizes_);
    }
    return slot.get();
  }

  static const SimBlock* block_by_tag(const EvmSim& sim, const json& tag) {
    if (!tag.is_string()) {
      bad_param("block tag");
    }
    const std::string t = tag.get<std::string>();
    if (t == "latest" || t == "pending" || t == "safe" || t == "finalized") {
      return &sim.blocks().back();
    }
    if (t == "earliest") {
      return &sim.blocks().front();
    }
    std::uint64_t n = 0;
    try {
      n = parse_quantity(t);
    } catch (const std::invalid_argument& e) {
      bad_param(e.what());
    }
    return n <= sim.head() ? &sim.blocks()[n] : nullptr;
  }

  json tx_json(const EvmSim& sim, const SimBlock& b, std::size_t i) const {
    const SimTx& t = b.txs[i];
    return {{"blockHash", b.hash},
            {"blockNumber", quantity(b.number)},
            {"chainId", quantity(sim.chain_id())},
            {"from", t.from},
            {"gas", "0x5208"},
            {"gasPrice", "0x3b9aca00"},
            {"hash", t.hash},
            {"input", t.input},
            {"nonce", quantity(i)},
            {"to", t.to ? json(*t.to) : json()},
            {"transactionIndex", quantity(i)},
            {"type", "0x0"},
            {"value", t.value_hex},
            {"v", "0x25"},
            {"r", keccak_hex("r" + t.hash)},
            {"s", keccak_hex("s" + t.hash)}};
  }

  json block_json(const EvmSim& sim, const SimBlock& b, bool full) const {
    json txs = json::array();
    for (std::size_t i = 0; i < b.txs.size(); ++i) {
      txs.push_back(full ? tx_json(sim, b, i) : json(b.txs[i].hash));
    }
    return {{"number", quantity(b.number)},
            {"hash", b.hash},
            {"parentHash", b.parent_hash},
            {"nonce", "0x0000000000000000"},
            {"sha3Uncles", keccak_hex(std::string("\xc0"))},
            {"logsBloom", "0x" + std::string(512, '0')},
            {"transactionsRoot", keccak_hex("txroot" + b.hash)},
            {"stateRoot", keccak_hex("state" + b.hash)},
            {"receiptsRoot", keccak_hex("receipts" + b.hash)},
            {"miner", "0x" + std::string(40, '0')},
            {"difficulty", "0x0"},
            {"totalDifficulty", "0x0"},
            {"extraData", "0x"},
            {"size", quantity(600 + 110 * b.txs.size())},
            {"gasLimit", "0x1c9c380"},
            {"gasUsed", quantity(21000 * b.txs.size())},
            {"timestamp", quantity(b.timestamp)},
            {"baseFeePerGas", "0x3b9aca00"},
            {"mixHash", keccak_hex("mix" + b.hash)},
            {"transactions", txs},
            {"uncles", json::array()}};
  }

  json log_json(const SimBlock& b, const SimLog& l, std::size_t log_index) const {
    return {{"address", l.address},
            {"topics", l.topics},
            {"data", l.data},
            {"blockNumber", quantity(b.number)},
            {"blockHash", b.hash},
            {"transactionHash", b.txs[l.tx_index].hash},
            {"transactionIndex", quantity(l.tx_index)},
            {"logIndex", quantity(log_index)},
            {"removed", false}};
  }

  json receipt(const EvmSim& sim, const std::string& hash) const {
    const auto at = sim.find_tx(hash);
    if (!at) {
      return nullptr;
    }
    const SimBlock& b = sim.blocks()[at->first];
    const std::size_t i = at->second;
    const SimTx& t = b.txs[i];
    json logs = json::array();
    for (std::size_t k = 0; k < b.logs.size(); ++k) {
      if (b.logs[k].tx_index == i) {
        logs.push_back(log_json(b, b.logs[k], k));
      }
    }
    return {{"transactionHash", t.hash},
            {"transactionIndex", quantity(i)},
            {"blockHash", b.hash},
            {"blockNumber", quantity(b.number)},
            {"from", t.from},
            {"to", t.to ? json(*t.to) : json()},
            {"contractAddress", t.to ? json() : json("0x" + keccak_hex(t.hash).substr(26))},
            {"cumulativeGasUsed", quantity(21000 * (i + 1))},
            {"gasUsed", "0x5208"},
            {"effectiveGasPrice", "0x3b9aca00"},
            {"logs", logs},
            {"logsBloom", "0x" + std::string(512, '0')},
            {"type", "0x0"},
            {"status", t.success ? "0x1" : "0x0"}};
  }

  json get_logs(const EvmSim& sim, const json& filter) const {
    if (!filter.is_object()) {
      bad_param("filter must be an object");
    }
    std::uint64_t from = sim.head(), to = sim.head();
    if (filter.contains("blockHash")) {
      bool found = false;
      for (const auto& b : sim.blocks()) {
        if (b.hash == filter["blockHash"]) {
          from = to = b.number;
          found = true;
        }
      }
      if (!found) {
        throw RpcFailure(-32000, "unknown block");
      }
    } else {
      const auto* f = block_by_tag(sim, filter.value("fromBlock", json("latest")));
      const auto* t = block_by_tag(sim, filter.value("toBlock", json("latest")));
      from = f ? f->number : sim.head() + 1;
      to = t ? t->number : sim.head();
    }
    if (to >= from && to - from >= max_log_range_) {
      throw RpcFailure(-32005, "query exceeds max block range " + std::to_string(max_log_range_));
    }
    std::vector<std::string> addresses;
    if (filter.contains("address") && !filter["address"].is_null()) {
      const json& a = filter["address"];
      for (const auto& v : a.is_array() ? a : json::array({a})) {
        addresses.push_back(address_param(v, "address"));
      }
    }
    const json topics = filter.value("topics", json::array());
    const auto topic_ok = [&](const SimLog& l) {
      for (std::size_t i = 0; i < topics.size(); ++i) {
        const json& want = topics[i];
        if (want.is_null()) {
          continue;
        }
        if (i >= l.topics.size()) {
          return false;
        }
        bool any = false;
        for (const auto& w : want.is_array() ? want : json::array({want})) {
          if (!w.is_string()) {
            bad_param("topics");
          }
          any = any || hex(from_hex(w.get<std::string>())) == l.topics[i];
        }
        if (!any) {
          return false;
        }
      }
      return true;
    };
    json out = json::array();
    for (std::uint64_t n = from; n <= to && n <= sim.head(); ++n) {
      const SimBlock& b = sim.blocks()[n];
      for (std::size_t k = 0; k < b.logs.size(); ++k) {
        const SimLog& l = b.logs[k];
        if ((addresses.empty() ||
             std::find(addresses.begin(), addresses.end(), l.address) != addresses.end()) &&
            topic_ok(l)) {
          out.push_back(log_json(b, l, k));
        }
      }
      if (out.size() > max_log_results_) {
        // As Infura and Alchemy answer a filter that matches too much.
        throw RpcFailure(
            -32005, "query returned more than " + std::to_string(max_log_results_) + " results");
      }
    }
    return out;
  }

  json eth_call(const EvmSim& sim, const json& call) const {
    if (!call.is_object()) {
      bad_param("call object");
    }
    const std::string to = address_param(call.value("to", json()), "to");
    const std::string data =
        call.contains("input") ? call.value("input", "0x") : call.value("data", "0x");
    if (data.size() < 10) {
      return "0x";
    }
    const std::string sel = data.substr(0, 10);
    const std::string args = data.substr(10);
    if (multicall_ && to == kMulticall3) {
      return multicall(sim, sel, args);
    }
    const auto arg_word = [&](std::size_t i) {
      if (args.size() < (i + 1) * 64) {
        revert();
      }
      return args.substr(i * 64, 64);
    };
    const auto arg_address = [&](std::size_t i) { return word_to_address(arg_word(i)); };
    for (const auto& t : sim.tokens()) {
      if (t.address != to) {
        continue;
      }
      if (sel == selector("balanceOf(address)")) {
        const auto it = t.balances.find(arg_address(0));
        return word(quantity_word(it == t.balances.end() ? "0x0" : it->second));
      }
      if (sel == selector("decimals()")) {
        return word(uint_word(static_cast<std::uint64_t>(t.decimals)));
      }
      if (sel == selector("symbol()")) {
        return encode_string(t.symbol);
      }
      if (sel == selector("name()")) {
        return encode_string(t.symbol + " Token");
      }
      revert();
    }
    for (const auto& c : sim.collections()) {
      if (c.address != to) {
        continue;
      }
      if (sel == selector("balanceOf(address)")) {
        const std::string who = arg_address(0);
        std::uint64_t n = 0;
        for (const auto& [id, owner] : c.owners) {
          n += owner == who ? 1 : 0;
        }
        return word(uint_word(n));
      }
      if (sel == selector("ownerOf(uint256)") || sel == selector("tokenURI(uint256)")) {
        const std::string id = hex_to_decimal(arg_word(0));
        const auto it = c.owners.find(std::stoull(id.size() > 19 ? "0" : id));
        if (it == c.owners.end()) {
          revert();  // nonexistent token
        }
        if (sel == selector("ownerOf(uint256)")) {
          return word(address_word(it->second));
        }
        return encode_string("https://nft.devnet.invalid/" + c.symbol + "/" + id + ".json");
      }
      if (sel == selector("name()")) {
        return encode_string(c.name);
      }
      if (sel == selector("symbol()")) {
        return encode_string(c.symbol);
      }
      revert();
    }
    if (to == sim.registry() && sel == selector("resolver(bytes32)")) {
      const auto r = sim.resolver_of("0x" + arg_word(0));
      return r ? word(address_word(*r)) : std::string(kZeroWord);
    }
    if (to == sim.resolver()) {
      if (sel == selector("name(bytes32)")) {
        const auto n = sim.name_of("0x" + arg_word(0));
        return encode_string(n.value_or(""));
      }
      if (sel == selector("addr(bytes32)")) {
        const auto a = sim.addr_of("0x" + arg_word(0));
        return a ? word(address_word(*a)) : std::string(kZeroWord);
      }
      revert();
    }
    return "0x";  // no code at `to`: calls succeed with empty data, as on a real node
  }

  // Multicall3 at its canonical address: aggregate3 runs each call as eth_call would (a failing
  // call with allowFailure false reverts the whole batch) and getEthBalance reads a balance.
  json multicall(const EvmSim& sim, const std::string& sel, const std::string& args) const {
    try {
      if (sel == kGetEthBalance) {
        return "0x" + quantity_word(sim.balance_hex(word_to_address(args.substr(0, 64))));
      }
      if (sel != kAggregate3) {
        revert();
      }
      std::vector<Result3> results;
      for (const auto& c : decode_aggregate3(args)) {
        Result3 r;
        try {
          const json out = eth_call(sim, {{"to", c.target}, {"data", c.call_data}});
          r = {true, out.get<std::string>()};
        } catch (const RpcFailure& e) {
          if (!c.allow_failure) {
            throw RpcFailure(3, "execution reverted: Multicall3: call failed", "0x");
          }
          r = {false, e.data.is_string() ? e.data.get<std::string>() : "0x"};
        }
        results.push_back(std::move(r));
      }
      return encode_results(results);
    } catch (const std::invalid_argument&) {
      revert();  // calldata that does not decode reverts, as the contract would
    }
  }

  // Contracts answer eth_getCode with some bytecode, other accounts with "0x".
  json code_at(const EvmSim& sim, const std::string& address) const {
    bool contract = address == sim.registry() || address == sim.resolver() ||
                    (multicall_ && address == kMulticall3);
    for (const auto& t : sim.tokens()) {
      contract = contract || t.address == address;
    }
    for (const auto& c : sim.collections()) {
      contract = contract || c.address == address;
    }
    return contract ? "0x608060405234801561001057600080fd5b50" : "0x";
  }

  json dispatch(EvmSim& sim, const std::string& method, const json& p) {
    const auto param = [&](std::size_t i) -> const json& {
      if (!p.is_array() || p.size() <= i) {
        bad_param("missing value for required argument " + std::to_string(i));
      }
      return p[i];
    };
    if (method == "eth_chainId") {
      return quantity(sim.chain_id());
    }
    if (method == "net_version") {
      return std::to_string(sim.chain_id());
    }
    if (method == "eth_blockNumber") {
      return quantity(sim.head());
    }
    if (method == "eth_getBalance") {
      return sim.balance_hex(address_param(param(0), "address"));
    }
    if (method == "eth_call") {
      return eth_call(sim, param(0));
    }
    if (method == "eth_getCode") {
      return code_at(sim, address_param(param(0), "address"));
    }
    if (method == "eth_getLogs") {
      return get_logs(sim, param(0));
    }
    if (method == "eth_getBlockByNumber" || method == "eth_getBlockByHash") {
      const bool full = p.is_array() && p.size() > 1 && p[1].is_boolean() && p[1].get<bool>();
      const SimBlock* b = nullptr;
      if (method == "eth_getBlockByNumber") {
        b = block_by_tag(sim, param(0));
      } else {
        for (const auto& blk : sim.blocks()) {
          if (param(0).is_string() && blk.hash == param(0).get<std::string>()) {
            b = &blk;
          }
        }
      }
      return b ? block_json(sim, *b, full) : json();
    }
    if (method == "eth_getTransactionReceipt") {
      if (!param(0).is_string()) {
        bad_param("transaction hash");
      }
      return receipt(sim, param(0).get<std::string>());
    }
    throw RpcFailure(-32601, "the method " + method + " does not exist/is not available");
  }

  std::uint64_t seed_;
  EvmSimSizes sizes_;
  bool allow_batch_ = true;
  std::uint64_t max_log_range_ = 5000;
  std::size_t max_log_results_ = 10000;
  bool multicall_ = true;
  // JSON-RPC calls served per chain id: "total" and one count per method (a batch element is a
  // call, as providers bill them).
  std::map<std::uint64_t, std::map<std::string, std::uint64_t>> calls_;
  std::map<std::uint64_t, std::unique_ptr<EvmSim>> chains_;
};

}  // namespace

std::unique_ptr<Service> make_evm_service(Options& options, std::uint64_t seed) {
  return std::make_unique<EvmService>(options, seed);
}

}  // namespace socialai::devnet
