// EvmSim: one simulated EVM chain of the devnet: wallets, ERC-20 tokens, ERC-721 collections,
// ENS registry and resolver, and a block chain whose last blocks can be replaced (reorg).
// Everything derives from (seed, chain id, sizes). Not thread-safe (the server's lock).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::devnet {

struct EvmSimSizes {
  int wallets = 24;
  int blocks = 120;
  int txs_per_block = 4;
  int tokens = 3;
  int collections = 2;
  int nfts = 10;  // tokens per collection
};

struct SimTx {
  std::string hash, from;
  std::optional<std::string> to;
  std::string value_hex;  // quantity
  bool success = true;
  std::string input = "0x";
  // Sender and recipient of the token transfers the transaction makes (its Transfer logs):
  // a transaction "involves" these accounts as well as its own from/to.
  std::vector<std::string> parties;
};

struct SimLog {
  std::string address;
  std::vector<std::string> topics;
  std::size_t tx_index = 0;
  std::string data = "0x";
};

struct SimBlock {
  std::uint64_t number = 0;
  std::string hash, parent_hash;
  std::uint64_t timestamp = 0;
  std::vector<SimTx> txs;
  std::vector<SimLog> logs;
};

struct SimToken {
  std::string address, symbol;
  int decimals = 18;
  std::map<std::string, std::string> balances;  // address → quantity hex
};

// One ERC-721 event: token `id` moves from `from` to `to` in block `block`.
struct SimNftMove {
  std::uint64_t block = 0;
  std::string from, to;
  std::uint64_t id = 0;
};

struct SimCollection {
  std::string address, name, symbol;
  std::map<std::uint64_t, std::string> owners;  // final owner per token id
  std::vector<SimNftMove> moves;
};

class EvmSim {
 public:
  EvmSim(std::uint64_t seed, std::uint64_t chain_id, const EvmSimSizes& sizes);

  std::uint64_t chain_id() const { return chain_id_; }
  std::uint64_t head() const { return blocks_.back().number; }
  const std::vector<SimBlock>& blocks() const { return blocks_; }
  const std::vector<std::string>& wallets() const { return wallets_; }
  const std::vector<SimToken>& tokens() const { return tokens_; }
  const std::vector<SimCollection>& collections() const { return collections_; }
  const std::string& registry() const { return registry_; }
  const std::string& resolver() const { return resolver_; }

  std::string balance_hex(const std::string& address) const;
  // The block number and index of a transaction on the current chain.
  std::optional<std::pair<std::uint64_t, std::size_t>> find_tx(const std::string& hash) const;
  // ENS: the resolver of a node (registry view); reverse node → name; forward node → address.
  std::optional<std::string> resolver_of(const std::string& node_hex) const;
  std::optional<std::string> name_of(const std::string& node_hex) const;
  std::optional<std::string> addr_of(const std::string& node_hex) const;

  // Replaces the last `depth` blocks with `length` different ones (new hashes and transactions;
  // length < depth makes the chain shorter). The NFT moves of the replaced blocks were on the
  // orphaned branch: they are dropped and ownership is what the remaining moves give. Returns
  // the first replaced number.
  std::uint64_t reorg(int depth, int length);
  void mine(int count);
  // Mines one block in which token `id` of collection `collection` moves from its owner to
  // `to`; returns the block number. Throws std::invalid_argument for an unknown token.
  std::uint64_t transfer_nft(std::size_t collection, std::uint64_t id, const std::string& to);

  // The expected worker result with `confirmations` when `tracked` (default: all the devnet's
  // wallets) are the tracked wallets.
  nlohmann::json truth(std::uint64_t confirmations,
                       const std::vector<std::string>& tracked = {}) const;
  nlohmann::json info() const;

 private:
  SimBlock make_block(std::uint64_t number, const std::string& parent, std::uint64_t variant);
  void set_block(SimBlock block);  // appends or replaces, keeping tx_index_ current
  void recompute_owners();
  std::string address(const std::string& kind, std::uint64_t i) const;

  std::uint64_t seed_, chain_id_;
  EvmSimSizes sizes_;
  std::vector<std::string> wallets_, others_;
  std::map<std::string, std::string> balances_;
  std::vector<SimToken> tokens_;
  std::vector<SimCollection> collections_;
  std::string registry_, resolver_;
  std::map<std::string, std::string> reverse_names_;  // reverse node → name
  std::map<std::string, std::string> forward_;        // name node → address
  std::map<std::string, std::string> verified_;       // address → name (truth)
  std::vector<SimBlock> blocks_;
  std::map<std::uint64_t, std::uint64_t> variant_;  // block number → generation
  std::map<std::string, std::pair<std::uint64_t, std::size_t>> tx_index_;
};

}  // namespace socialai::devnet
