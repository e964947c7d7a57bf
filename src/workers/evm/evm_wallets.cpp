// Per-wallet state at the confirmed head: native and ERC-20 balances, ENS reverse names verified
// by forward resolution, and ERC-721 holdings re-checked with ownerOf.
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "workers/evm/evm_chain.h"
#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_sql.h"
#include "workers/evm/evm_sync.h"

namespace socialai {

using json = nlohmann::json;
using namespace evm;

namespace {

const std::string kZeroAddress = "0x0000000000000000000000000000000000000000";

struct TokenMeta {
  std::string symbol;
  int decimals = 0;
};

// A name we are willing to hash and store: non-empty labels, no ASCII upper case (ENS names are
// normalised to lower case), no control characters or spaces.
bool plausible_ens_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string::npos) {
    return false;
  }
  for (unsigned char c : name) {
    if (c <= 0x20 || c == 0x7f || (c >= 'A' && c <= 'Z')) {
      return false;
    }
  }
  return true;
}

}  // namespace

void EvmSync::sync_wallets(WorkerContext& ctx, const std::vector<std::string>& wallets,
                           const std::string& block_tag) {
  // Token metadata once per cycle; a token whose symbol/decimals fail is skipped this cycle.
  std::vector<EvmCall> meta_calls;
  for (const auto& t : settings_.tokens) {
    meta_calls.push_back({t, calldata("symbol()")});
    meta_calls.push_back({t, calldata("decimals()")});
  }
  const auto meta = chain_->calls(meta_calls, block_tag);
  std::map<std::string, TokenMeta> tokens;
  for (std::size_t i = 0; i < settings_.tokens.size(); ++i) {
    const auto& token = settings_.tokens[i];
    try {
      for (std::size_t k : {2 * i, 2 * i + 1}) {
        if (!meta[k].ok()) {
          throw *meta[k].error;
        }
        if (!meta[k].result.is_string()) {
          throw AbiError("eth_call result is not a hex string");
        }
      }
      const std::uint64_t decimals = decode_uint64(meta[2 * i + 1].result.get<std::string>());
      if (decimals > 255) {
        throw AbiError("decimals() = " + std::to_string(decimals));
      }
      tokens[token] = {decode_string(meta[2 * i].result.get<std::string>()),
                       static_cast<int>(decimals)};
    } catch (const std::exception& e) {
      ctx.item_failed(settings_.chain + ":token:" + token, e.what());
    }
  }

  // Balances: the native balance and one balanceOf per token for each wallet (Multicall3 or
  // JSON-RPC batches).
  std::vector<EvmCall> calls;
  for (const auto& w : wallets) {
    calls.push_back(EvmCall::balance_of(w));
    for (const auto& t : settings_.tokens) {
      calls.push_back({t, calldata("balanceOf(address)", {word_address(w)})});
    }
  }
  const auto results = chain_->calls(calls, block_tag);
  const auto ens_names = settings_.ens ? verified_ens_names(ctx, wallets, block_tag)
                                       : std::map<std::size_t, std::optional<std::string>>{};

  json wallet_rows = json::array(), ens_rows = json::array(), token_rows = json::array();
  const std::size_t per_wallet = 1 + settings_.tokens.size();
  for (std::size_t i = 0; i < wallets.size(); ++i) {
    const auto& w = wallets[i];
    try {
      json token_part = json::array();
      std::string balance;
      for (std::size_t k = 0; k < per_wallet; ++k) {
        const JsonRpcResult& r = results[i * per_wallet + k];
        if (!r.ok()) {
          throw *r.error;
        }
        if (!r.result.is_string()) {
          throw AbiError(std::string(k == 0 ? "balance" : "balanceOf") +
                         ": result is not a hex string");
        }
        const std::string& hex = r.result.get_ref<const std::string&>();
        if (k == 0) {
          balance = hex_to_decimal(hex);
          continue;
        }
        const auto& token = settings_.tokens[k - 1];
        const auto meta_it = tokens.find(token);
        if (meta_it == tokens.end()) {
          continue;
        }
        token_part.push_back({{"address", w},
                              {"token", token},
                              {"symbol", meta_it->second.symbol},
                              {"decimals", meta_it->second.decimals},
                              {"balance", decode_uint_decimal(hex)}});
      }
      wallet_rows.push_back({{"address", w}, {"balance", balance}});
      for (auto& t : token_part) {
        token_rows.push_back(std::move(t));
      }
      if (const auto it = ens_names.find(i); it != ens_names.end()) {
        ens_rows.push_back({{"address", w}, {"ens", it->second ? json(*it->second) : json()}});
      }
    } catch (const std::exception& e) {
      ctx.item_failed(settings_.chain + ":" + w, e.what());
    }
  }
  Db& db = ctx.db();
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, kUpsertWalletSql, settings_.chain, wallet_rows.dump());
    db.exec(tx, kUpsertTokenBalanceSql, settings_.chain, token_rows.dump());
    if (settings_.ens) {
      db.exec(tx, kUpdateEnsSql, settings_.chain, ens_rows.dump());
    }
  });
  ctx.item_ok(static_cast<std::int64_t>(wallet_rows.size()));
}

std::map<std::size_t, std::optional<std::string>> EvmSync::verified_ens_names(
    WorkerContext& ctx, const std::vector<std::string>& wallets, const std::string& block_tag) {
  // Each stage maps wallet index → value; a wallet drops out when a stage yields nothing. A
  // wallet whose lookup failed (error object, garbage data) is `unknown`: its stored name stays.
  std::set<std::size_t> unknown;
  const auto fail = [&](std::size_t i, const std::string& why) {
    unknown.insert(i);
    ctx.item_failed(settings_.chain + ":ens:" + wallets[i], why);
  };
  const auto stage = [&](const std::map<std::size_t, EvmCall>& in) {
    std::vector<EvmCall> calls;
    for (const auto& [i, c] : in) {
      calls.push_back(c);
    }
    const auto results = chain_->calls(calls, block_tag);
    std::map<std::size_t, std::string> out;
    std::size_t k = 0;
    for (const auto& [i, c] : in) {
      const auto& r = results[k++];
      if (r.ok() && r.result.is_string()) {
        out[i] = r.result.get<std::string>();
      } else if (r.ok()) {
        fail(i, "eth_call result is not a hex string");
      } else if (std::string(r.error->what()).find("revert") == std::string::npos) {
        fail(i, r.error->what());  // a node-side failure: try again next cycle
      }
      // A revert (no such record, no name() on that resolver) means: no name.
    }
    return out;
  };
  const auto resolver_of = [&](const Hash32& node) {
    return EvmCall{settings_.ens_registry, calldata("resolver(bytes32)", {word_bytes32(node)})};
  };

  std::map<std::size_t, EvmCall> calls;
  for (std::size_t i = 0; i < wallets.size(); ++i) {
    calls[i] = resolver_of(namehash(reverse_name(wallets[i])));
  }
  std::map<std::size_t, EvmCall> name_calls;
  for (const auto& [i, data] : stage(calls)) {
    try {
      const std::string resolver = decode_address(data);
      if (resolver != kZeroAddress) {
        name_calls[i] = {resolver, calldata("name(bytes32)",
                                            {word_bytes32(namehash(reverse_name(wallets[i])))})};
      }
    } catch (const AbiError& e) {
      fail(i, e.what());
    }
  }
  std::map<std::size_t, std::string> names;
  std::map<std::size_t, EvmCall> forward_calls;
  for (const auto& [i, data] : stage(name_calls)) {
    try {
      const std::string name = decode_string(data);
      if (plausible_ens_name(name)) {
        names[i] = name;
        forward_calls[i] = resolver_of(namehash(name));
      } else if (!name.empty()) {
        spdlog::info("{}: ignoring implausible ENS name for {}", settings_.chain, wallets[i]);
      }
    } catch (const AbiError& e) {
      fail(i, e.what());
    }
  }
  std::map<std::size_t, EvmCall> addr_calls;
  for (const auto& [i, data] : stage(forward_calls)) {
    try {
      const std::string resolver = decode_address(data);
      if (resolver != kZeroAddress) {
        addr_calls[i] = {resolver, calldata("addr(bytes32)", {word_bytes32(namehash(names[i]))})};
      }
    } catch (const AbiError& e) {
      fail(i, e.what());
    }
  }
  std::map<std::size_t, std::string> verified;
  for (const auto& [i, data] : stage(addr_calls)) {
    try {
      if (decode_address(data) == wallets[i]) {
        verified[i] = names[i];
      } else {
        spdlog::info("{}: ENS name {} of {} resolves elsewhere; not stored", settings_.chain,
                     names[i], wallets[i]);
      }
    } catch (const AbiError& e) {
      fail(i, e.what());
    }
  }
  std::map<std::size_t, std::optional<std::string>> out;
  for (std::size_t i = 0; i < wallets.size(); ++i) {
    if (unknown.count(i) == 0) {
      const auto it = verified.find(i);
      out[i] = it == verified.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
  }
  return out;
}

void EvmSync::sync_holdings(WorkerContext& ctx, const std::string& block_tag) {
  Db& db = ctx.db();
  const auto rows = db.with_transaction(
      [&](pqxx::work& tx) { return db.exec(tx, kHoldingsSql, settings_.chain); });
  if (rows.empty()) {
    return;
  }
  std::vector<EvmCall> calls;
  std::map<std::string, std::size_t> contract_at;  // contract → index of its name() call
  struct Holding {
    std::string address, contract, token_id;
  };
  std::vector<Holding> holdings;
  for (const auto& r : rows) {
    holdings.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
    const auto& h = holdings.back();
    if (contract_at.count(h.contract) == 0) {
      contract_at[h.contract] = calls.size();
      calls.push_back({h.contract, calldata("name()")});
      calls.push_back({h.contract, calldata("symbol()")});
    }
  }
  const std::size_t first_token_call = calls.size();
  for (const auto& h : holdings) {
    const std::string id_word = word_hex(decimal_to_hex(h.token_id));
    calls.push_back({h.contract, calldata("ownerOf(uint256)", {id_word})});
    calls.push_back({h.contract, calldata("tokenURI(uint256)", {id_word})});
  }
  const auto results = chain_->calls(calls, block_tag);
  const auto text_of = [&](std::size_t k) -> json {
    if (!results[k].ok() || !results[k].result.is_string()) {
      return nullptr;  // optional metadata: many contracts lack name() or tokenURI()
    }
    try {
      return decode_string(results[k].result.get<std::string>());
    } catch (const AbiError&) {
      return nullptr;
    }
  };
  json gone = json::array(), kept = json::array();
  for (std::size_t i = 0; i < holdings.size(); ++i) {
    const auto& h = holdings[i];
    const json key = {{"address", h.address}, {"contract", h.contract}, {"token_id", h.token_id}};
    const auto& owner = results[first_token_call + 2 * i];
    std::optional<std::string> owner_addr;
    if (!owner.ok() && std::string(owner.error->what()).find("revert") == std::string::npos) {
      // Not a revert (a node-side failure): keep the row and try again next cycle.
      ctx.item_failed(settings_.chain + ":nft:" + h.contract + "/" + h.token_id,
                      owner.error->what());
      continue;
    }
    if (owner.ok() && owner.result.is_string()) {
      try {
        owner_addr = decode_address(owner.result.get<std::string>());
      } catch (const AbiError& e) {
        ctx.item_failed(settings_.chain + ":nft:" + h.contract + "/" + h.token_id, e.what());
        continue;
      }
    }
    if (owner_addr != h.address) {  // transferred away, or burnt (ownerOf reverts)
      gone.push_back(key);
      continue;
    }
    json row = key;
    const std::size_t c = contract_at[h.contract];
    row["metadata"] = {{"name", text_of(c)},
                       {"symbol", text_of(c + 1)},
                       {"uri", text_of(first_token_call + 2 * i + 1)}};
    kept.push_back(std::move(row));
  }
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx, kDeleteHoldingSql, settings_.chain, gone.dump());
    db.exec(tx, kUpdateHoldingSql, settings_.chain, kept.dump());
  });
  ctx.item_ok(static_cast<std::int64_t>(kept.size()));
}

}  // namespace socialai
