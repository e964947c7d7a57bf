// EvmSim: deterministic chain data, reorgs and the truth the EVM worker's tables must match.
#include "devnet/evm_sim.h"

#include <algorithm>
#include <random>
#include <set>

#include "devnet/evm_abi.h"

namespace socialai::devnet {

using json = nlohmann::json;
using namespace socialai::devnet::abi;

namespace {

constexpr const char* kEnsRegistry = "0x00000000000c2e074ec69a0dfb2997ba6c7d2e1e";
constexpr const char* kZeroAddress = "0x0000000000000000000000000000000000000000";
constexpr std::uint64_t kGenesisTime = 1700000000;

std::uint64_t seed_of(const std::string& text) {
  const std::string h = keccak(text);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(h[static_cast<std::size_t>(i)]);
  }
  return v;
}

// A random quantity of up to `max_digits` hex digits ("0x0" possible only when forced).
std::string random_quantity(std::mt19937_64& rng, int max_digits) {
  const int digits = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_digits));
  std::string s = "0x";
  s += "123456789abcdef"[rng() % 15];
  for (int i = 1; i < digits; ++i) {
    s += "0123456789abcdef"[rng() % 16];
  }
  return s;
}

}  // namespace

std::string EvmSim::address(const std::string& kind, std::uint64_t i) const {
  // Wallets are the same accounts on every chain (as real EVM addresses are); contracts and
  // counterparties differ per chain.
  const std::string chain = kind == "wallet" ? "any" : std::to_string(chain_id_);
  return "0x" +
         keccak_hex(kind + ":" + std::to_string(seed_) + ":" + chain + ":" + std::to_string(i))
             .substr(26);
}

EvmSim::EvmSim(std::uint64_t seed, std::uint64_t chain_id, const EvmSimSizes& sizes)
    : seed_(seed), chain_id_(chain_id), sizes_(sizes) {
  sizes_.blocks = std::max(sizes_.blocks, 8);
  sizes_.wallets = std::max(sizes_.wallets, 3);
  std::mt19937_64 rng(seed_of("state:" + std::to_string(seed) + ":" + std::to_string(chain_id)));
  for (int i = 0; i < sizes_.wallets; ++i) {
    wallets_.push_back(address("wallet", static_cast<std::uint64_t>(i)));
  }
  for (int i = 0; i < 8; ++i) {
    others_.push_back(address("other", static_cast<std::uint64_t>(i)));
  }
  for (std::size_t i = 0; i < wallets_.size(); ++i) {
    balances_[wallets_[i]] = i % 7 == 3 ? "0x0" : random_quantity(rng, 22);
  }
  for (const auto& o : others_) {
    balances_[o] = random_quantity(rng, 22);
  }

  static const char* kSymbols[] = {"USDC", "WETH", "DAI", "LINK", "UNI", "AAVE"};
  static const int kDecimals[] = {6, 18, 18, 18, 18, 18};
  for (int t = 0; t < sizes_.tokens; ++t) {
    SimToken token;
    token.address = address("token", static_cast<std::uint64_t>(t));
    token.symbol = std::string(kSymbols[t % 6]) + (t >= 6 ? std::to_string(t) : "");
    token.decimals = kDecimals[t % 6];
    for (std::size_t i = 0; i < wallets_.size(); ++i) {
      if (rng() % 10 >= 3) {
        token.balances[wallets_[i]] = random_quantity(rng, 30);
      }
    }
    if (t == 0) {
      token.balances[wallets_[1]] = "0x" + std::string(64, 'f');  // 2^256 - 1: exact or bust
    }
    tokens_.push_back(std::move(token));
  }

  const std::uint64_t nft_blocks = static_cast<std::uint64_t>(sizes_.blocks) / 2;
  for (int c = 0; c < sizes_.collections; ++c) {
    SimCollection col;
    col.address = address("collection", static_cast<std::uint64_t>(c));
    col.name = "Devnet Collection " + std::to_string(c);
    col.symbol = "DVC" + std::to_string(c);
    const auto pick = [&] {
      return rng() % 10 < 6 ? wallets_[rng() % wallets_.size()] : others_[rng() % others_.size()];
    };
    for (int k = 1; k <= sizes_.nfts; ++k) {
      const auto id = static_cast<std::uint64_t>(k);
      const std::uint64_t mint = 1 + rng() % (nft_blocks - 2);
      std::string owner = pick();
      col.moves.push_back({mint, kZeroAddress, owner, id});
      if (rng() % 3 == 0) {
        const std::string next = pick();
        col.moves.push_back({mint + 1 + rng() % (nft_blocks - mint - 1), owner, next, id});
        owner = next;
      }
      col.owners[id] = owner;
    }
    collections_.push_back(std::move(col));
  }

  registry_ = kEnsRegistry;
  resolver_ = address("resolver", 0);
  static const char* kWords[] = {"alice", "bob",   "carol", "dave",
                                 "erin",  "frank", "grace", "heidi"};
  for (std::size_t i = 0; i < wallets_.size(); i += 3) {
    const std::string name = std::string(kWords[(i / 3) % 8]) + std::to_string(i) + ".eth";
    reverse_names_[namehash(reverse_name(wallets_[i]))] = name;
    forward_[namehash(name)] = wallets_[i];
    verified_[wallets_[i]] = name;
  }
  // Wallet 1 claims a name that resolves to wallet 2 (forward mismatch); wallet 2 claims one
  // that has no forward record at all. Neither may be stored.
  reverse_names_[namehash(reverse_name(wallets_[1]))] = "imposter.eth";
  forward_[namehash("imposter.eth")] = wallets_[2];
  reverse_names_[namehash(reverse_name(wallets_[2]))] = "ghost.eth";

  std::string parent = "0x" + std::string(64, '0');
  for (std::uint64_t n = 0; n < static_cast<std::uint64_t>(sizes_.blocks); ++n) {
    set_block(make_block(n, parent, 0));
    parent = blocks_.back().hash;
  }
}

SimBlock EvmSim::make_block(std::uint64_t number, const std::string& parent,
                            std::uint64_t variant) {
  const std::string tag = std::to_string(seed_) + ":" + std::to_string(chain_id_) + ":" +
                          std::to_string(number) + ":" + std::to_string(variant);
  std::mt19937_64 rng(seed_of("block:" + tag));
  SimBlock b;
  b.number = number;
  b.parent_hash = parent;
  b.timestamp = kGenesisTime + number * (chain_id_ == 1 ? 12 : 2);
  const auto tx_hash = [&] { return keccak_hex("tx:" + tag + ":" + std::to_string(b.txs.size())); };
  if (number > 0) {
    const auto pick = [&] {
      return rng() % 10 < 6 ? wallets_[rng() % wallets_.size()] : others_[rng() % others_.size()];
    };
    const auto n_txs = rng() % static_cast<std::uint64_t>(sizes_.txs_per_block + 1);
    for (std::uint64_t i = 0; i < n_txs; ++i) {
      SimTx tx;
      tx.hash = tx_hash();
      tx.from = pick();
      if (rng() % 40 != 0) {
        tx.to = pick();
      } else {
        tx.input = "0x6080604052";  // contract creation
      }
      tx.value_hex = random_quantity(rng, 20);
      tx.success = rng() % 10 != 0;
      b.txs.push_back(std::move(tx));
    }
    // ERC-20 transfers: some sent by the owner, some moved by a third party's transferFrom
    // (an approved spender), so a wallet is involved without being the transaction's from/to.
    const auto n_token_txs = tokens_.empty() ? 0 : rng() % 3;
    for (std::uint64_t i = 0; i < n_token_txs; ++i) {
      const SimToken& token = tokens_[rng() % tokens_.size()];
      const std::string owner = pick(), recipient = pick();
      const bool by_spender = rng() % 2 == 0;
      const std::uint64_t amount = 1 + rng() % 1000000;
      SimTx tx;
      tx.hash = tx_hash();
      tx.from = by_spender ? others_[rng() % others_.size()] : owner;
      tx.to = token.address;
      tx.value_hex = "0x0";
      tx.input = by_spender
                     ? std::string("0x23b872dd") + address_word(owner) + address_word(recipient) +
                           uint_word(amount)
                     : std::string("0xa9059cbb") + address_word(recipient) + uint_word(amount);
      tx.parties = {owner, recipient};
      b.logs.push_back({token.address,
                        {kTransferTopic, address_topic(owner), address_topic(recipient)},
                        b.txs.size(),
                        "0x" + uint_word(amount)});
      b.txs.push_back(std::move(tx));
    }
  }
  // NFT events keep their block across reorgs, so ownership stays what the truth says.
  const std::string transfer = kTransferTopic;  // the published constant
  for (const auto& col : collections_) {
    for (const auto& m : col.moves) {
      if (m.block != number) {
        continue;
      }
      SimTx tx;
      tx.hash = tx_hash();
      tx.from = m.from == kZeroAddress ? others_[0] : m.from;
      tx.to = col.address;
      tx.value_hex = "0x0";
      tx.input = m.from == kZeroAddress
                     ? selector("mint(address,uint256)") + address_word(m.to) + uint_word(m.id)
                     : selector("transferFrom(address,address,uint256)") + address_word(m.from) +
                           address_word(m.to) + uint_word(m.id);
      tx.parties = {m.to};
      if (m.from != kZeroAddress) {
        tx.parties.push_back(m.from);
      }
      b.logs.push_back(
          {col.address,
           {transfer, address_topic(m.from), address_topic(m.to), "0x" + uint_word(m.id)},
           b.txs.size()});
      b.txs.push_back(std::move(tx));
    }
  }
  std::string all = "block:" + tag + ":" + parent;
  for (const auto& t : b.txs) {
    all += t.hash;
  }
  b.hash = keccak_hex(all);
  return b;
}

std::uint64_t EvmSim::reorg(int depth, int length) {
  const auto d = static_cast<std::uint64_t>(
      std::clamp<std::int64_t>(depth, 1, static_cast<std::int64_t>(head())));
  const std::uint64_t first = head() - d + 1;
  // The orphaned branch's NFT moves go with it.
  for (auto& col : collections_) {
    col.moves.erase(std::remove_if(col.moves.begin(), col.moves.end(),
                                   [&](const SimNftMove& m) { return m.block >= first; }),
                    col.moves.end());
  }
  recompute_owners();
  for (std::uint64_t n = blocks_.size(); n-- > first;) {
    for (const auto& t : blocks_[n].txs) {
      tx_index_.erase(t.hash);
    }
    blocks_.pop_back();
  }
  for (std::uint64_t n = first; n < first + static_cast<std::uint64_t>(std::max(length, 0)); ++n) {
    set_block(make_block(n, blocks_[n - 1].hash, ++variant_[n]));
  }
  return first;
}

void EvmSim::mine(int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t n = head() + 1;
    set_block(make_block(n, blocks_.back().hash, variant_[n]));
  }
}

std::uint64_t EvmSim::transfer_nft(std::size_t collection, std::uint64_t id,
                                   const std::string& to) {
  if (collection >= collections_.size() || collections_[collection].owners.count(id) == 0) {
    throw std::invalid_argument("no such token");
  }
  SimCollection& col = collections_[collection];
  const std::uint64_t n = head() + 1;
  col.moves.push_back({n, col.owners[id], to, id});
  col.owners[id] = to;
  mine(1);
  return n;
}

void EvmSim::recompute_owners() {
  for (auto& col : collections_) {
    std::stable_sort(col.moves.begin(), col.moves.end(),
                     [](const SimNftMove& a, const SimNftMove& b) { return a.block < b.block; });
    col.owners.clear();
    for (const auto& m : col.moves) {
      col.owners[m.id] = m.to;
    }
  }
}

void EvmSim::set_block(SimBlock block) {
  const std::uint64_t n = block.number;
  if (n < blocks_.size()) {
    for (const auto& t : blocks_[n].txs) {
      tx_index_.erase(t.hash);
    }
  }
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    tx_index_[block.txs[i].hash] = {n, i};
  }
  if (n < blocks_.size()) {
    blocks_[n] = std::move(block);
  } else {
    blocks_.push_back(std::move(block));
  }
}

std::optional<std::pair<std::uint64_t, std::size_t>> EvmSim::find_tx(
    const std::string& hash) const {
  const auto it = tx_index_.find(hash);
  return it == tx_index_.end() ? std::nullopt
                               : std::optional<std::pair<std::uint64_t, std::size_t>>(it->second);
}

std::string EvmSim::balance_hex(const std::string& address) const {
  const auto it = balances_.find(address);
  return it == balances_.end() ? "0x0" : it->second;
}

std::optional<std::string> EvmSim::resolver_of(const std::string& node_hex) const {
  if (reverse_names_.count(node_hex) > 0 || forward_.count(node_hex) > 0) {
    return resolver_;
  }
  return std::nullopt;
}

std::optional<std::string> EvmSim::name_of(const std::string& node_hex) const {
  const auto it = reverse_names_.find(node_hex);
  return it == reverse_names_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::string> EvmSim::addr_of(const std::string& node_hex) const {
  const auto it = forward_.find(node_hex);
  return it == forward_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

json EvmSim::truth(std::uint64_t confirmations, const std::vector<std::string>& only) const {
  const std::set<std::string> tracked =
      only.empty() ? std::set<std::string>(wallets_.begin(), wallets_.end())
                   : std::set<std::string>(only.begin(), only.end());
  const bool any_safe = head() >= confirmations;
  const std::uint64_t safe = any_safe ? head() - confirmations : 0;
  json w = json::object();
  for (const auto& a : tracked) {
    const auto it = verified_.find(a);
    w[a] = {{"balance", hex_to_decimal(balance_hex(a))},
            {"ens", it == verified_.end() ? json() : json(it->second)}};
  }
  json tokens = json::array();
  for (const auto& t : tokens_) {
    for (const auto& [a, bal] : t.balances) {
      if (tracked.count(a) == 0) {
        continue;
      }
      tokens.push_back({{"address", a},
                        {"token", t.address},
                        {"symbol", t.symbol},
                        {"decimals", t.decimals},
                        {"balance", hex_to_decimal(bal)}});
    }
  }
  json holdings = json::array();
  for (const auto& c : collections_) {
    for (const auto& [id, owner] : c.owners) {
      std::uint64_t received = 0;
      for (const auto& m : c.moves) {
        if (m.id == id && m.to == owner) {
          received = std::max(received, m.block);
        }
      }
      if (tracked.count(owner) > 0 && any_safe && received <= safe) {
        holdings.push_back(
            {{"address", owner}, {"contract", c.address}, {"token_id", std::to_string(id)}});
      }
    }
  }
  json txs = json::array();
  for (const auto& b : blocks_) {
    if (!any_safe || b.number > safe) {
      break;
    }
    for (const auto& t : b.txs) {
      const bool party = std::any_of(t.parties.begin(), t.parties.end(),
                                     [&](const std::string& p) { return tracked.count(p) > 0; });
      if (party || tracked.count(t.from) > 0 || (t.to && tracked.count(*t.to) > 0)) {
        txs.push_back({{"hash", t.hash},
                       {"block_number", b.number},
                       {"block_hash", b.hash},
                       {"from", t.from},
                       {"to", t.to ? json(*t.to) : json()},
                       {"value", hex_to_decimal(t.value_hex)},
                       {"status", t.success ? "success" : "failed"}});
      }
    }
  }
  return {{"chain_id", chain_id_},    {"head", head()},       {"safe", safe},       {"wallets", w},
          {"token_balances", tokens}, {"holdings", holdings}, {"transactions", txs}};
}

json EvmSim::info() const {
  json tokens = json::array(), cols = json::array();
  for (const auto& t : tokens_) {
    tokens.push_back({{"address", t.address}, {"symbol", t.symbol}, {"decimals", t.decimals}});
  }
  for (const auto& c : collections_) {
    cols.push_back({{"address", c.address}, {"name", c.name}, {"symbol", c.symbol}});
  }
  return {{"chain_id", chain_id_},    {"head", head()},      {"wallets", wallets_},
          {"tokens", tokens},         {"collections", cols}, {"ens_registry", registry_},
          {"ens_resolver", resolver_}};
}

}  // namespace socialai::devnet
