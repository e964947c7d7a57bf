// The devnet Solana ledger (see solana_chain.h).
#include "devnet/solana_chain.h"

#include "workers/solana/base58.h"
#include "workers/solana/solana_keys.h"

namespace socialai::devnet {

using nlohmann::json;

namespace {

constexpr std::int64_t kGenesisTime = 1'700'000'000;  // block time of slot 250,000,000

std::int64_t block_time_of(std::int64_t slot) {
  return kGenesisTime + (slot - 250'000'000) * 2 / 5;  // 400 ms slots
}

}  // namespace

SolanaChain::SolanaChain(std::uint64_t seed, Sizes sizes)
    : state_(seed * 0x9E3779B97F4A7C15ull + 0x50A1A5ull) {
  const std::string authority = random_key();
  const std::string creator = random_key();
  static const int kDecimals[] = {6, 9, 2, 0, 8};
  std::vector<std::pair<std::string, int>> mints;
  for (int i = 0; i < std::max(4, sizes.tokens_per_wallet * 2); ++i) {
    mints.emplace_back(random_key(), kDecimals[static_cast<std::size_t>(i) % 5]);
  }
  for (int w = 0; w < sizes.wallets; ++w) {
    SolanaWallet wallet;
    wallet.address = random_key();
    wallet.lamports = 1'000'000'000ull + next() % 99'000'000'000ull;
    const std::size_t first = next() % mints.size();
    for (int t = 0; t < sizes.tokens_per_wallet && t < static_cast<int>(mints.size()); ++t) {
      const auto& [mint, decimals] = mints[(first + static_cast<std::size_t>(t)) % mints.size()];
      // Amounts up to 10^19: beyond int64, exact only as integers.
      const std::uint64_t amount = next() % 10'000'000'000'000'000'000ull + 2;
      wallet.holdings.push_back({random_key(), mint, std::to_string(amount), decimals, false});
    }
    for (int n = 0; n < sizes.nfts_per_wallet; ++n) {
      SolanaNft nft;
      nft.mint = random_key();
      const auto mint_key = solana::parse_pubkey(nft.mint);
      nft.metadata_address = solana::to_base58(solana::metadata_pda(*mint_key));
      const std::size_t number = nfts_.size() + 1;
      nft.metadata.update_authority = authority;
      nft.metadata.mint = nft.mint;
      nft.metadata.name = "Devnet Ape #" + std::to_string(number);
      nft.metadata.symbol = "DAPE";
      nft.metadata.uri = "https://devnet.socialai.invalid/nft/" + std::to_string(number) + ".json";
      nft.metadata.seller_fee_basis_points = 500;
      nft.metadata.creators.push_back({creator, true, 100});
      nft.metadata.is_mutable = true;
      if (static_cast<int>(nfts_.size()) < sizes.hostile_metadata) {
        nft.hostile = 1 + static_cast<int>(nfts_.size() % 3);
      }
      wallet.holdings.push_back({random_key(), nft.mint, "1", 0, true});
      nft_by_metadata_[nft.metadata_address] = nfts_.size();
      nfts_.push_back(std::move(nft));
    }
    wallet_index_[wallet.address] = wallets_.size();
    wallets_.push_back(std::move(wallet));
  }
  // Token-2022 mints are other accounts than the classic program's: a mint belongs to one
  // program. Drawn after the classic holdings, so those stay as they were without these.
  std::vector<std::pair<std::string, int>> mints2022;
  for (int i = 0; i < std::max(2, sizes.token2022_per_wallet * 2); ++i) {
    mints2022.emplace_back(random_key(), kDecimals[static_cast<std::size_t>(i + 1) % 5]);
  }
  for (auto& wallet : wallets_) {
    const std::size_t first = next() % mints2022.size();
    for (int t = 0; t < sizes.token2022_per_wallet && t < static_cast<int>(mints2022.size());
         ++t) {
      const auto& [mint, decimals] =
          mints2022[(first + static_cast<std::size_t>(t)) % mints2022.size()];
      const std::uint64_t amount = next() % 1'000'000'000'000ull + 1;
      wallet.holdings.push_back({random_key(), mint, std::to_string(amount), decimals, false, true});
    }
  }
  grow(sizes.signatures_per_wallet, 0);
}

std::uint64_t SolanaChain::next() {  // splitmix64
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string SolanaChain::random_key() {
  std::vector<std::uint8_t> bytes(32);
  for (auto& b : bytes) {
    b = static_cast<std::uint8_t>(next());
  }
  return solana::base58_encode(bytes);
}

std::string SolanaChain::random_signature() {
  std::vector<std::uint8_t> bytes(64);
  for (auto& b : bytes) {
    b = static_cast<std::uint8_t>(next());
  }
  return solana::base58_encode(bytes);
}

void SolanaChain::transfer(std::size_t payer) {
  SolanaTx tx;
  tx.signature = random_signature();
  slot_ += 1 + static_cast<std::int64_t>(next() % 3);
  tx.slot = slot_;
  tx.block_time = block_time_of(slot_);
  tx.failed = next() % 10 == 0;
  SolanaWallet& from = wallets_[payer];
  std::optional<std::size_t> to_wallet;
  std::string to;
  if (wallets_.size() > 1 && next() % 3 == 0) {
    std::size_t other = next() % (wallets_.size() - 1);
    if (other >= payer) {
      ++other;
    }
    to_wallet = other;
    to = wallets_[other].address;
  } else {
    to = random_key();
  }
  const std::uint64_t to_before = to_wallet ? wallets_[*to_wallet].lamports : 0;
  tx.keys = {from.address, to, std::string(solana::kSystemProgramId)};
  tx.pre = {from.lamports, to_before, 1};
  tx.amount = tx.failed ? 0 : 1 + next() % (from.lamports / 100 + 1);
  from.lamports -= tx.fee + tx.amount;
  if (to_wallet) {
    wallets_[*to_wallet].lamports += tx.amount;
  }
  tx.post = {from.lamports, to_before + tx.amount, 1};
  const std::size_t index = txs_.size();
  from.txs.push_back(index);
  if (to_wallet) {
    wallets_[*to_wallet].txs.push_back(index);
  }
  tx_index_[tx.signature] = index;
  txs_.push_back(std::move(tx));
}

void SolanaChain::grow(int per_wallet, int drop_holdings) {
  for (int round = 0; round < per_wallet; ++round) {
    for (std::size_t w = 0; w < wallets_.size(); ++w) {
      transfer(w);
    }
  }
  for (auto& w : wallets_) {
    const auto n = std::min(w.holdings.size(), static_cast<std::size_t>(std::max(0, drop_holdings)));
    w.holdings.erase(w.holdings.begin(), w.holdings.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

const SolanaWallet* SolanaChain::wallet(const std::string& address) const {
  const auto it = wallet_index_.find(address);
  return it == wallet_index_.end() ? nullptr : &wallets_[it->second];
}

const SolanaTx* SolanaChain::tx(const std::string& signature) const {
  const auto it = tx_index_.find(signature);
  return it == tx_index_.end() ? nullptr : &txs_[it->second];
}

std::optional<std::vector<std::uint8_t>> SolanaChain::metadata_account(
    const std::string& address) const {
  const auto it = nft_by_metadata_.find(address);
  if (it == nft_by_metadata_.end()) {
    return std::nullopt;
  }
  const SolanaNft& nft = nfts_[it->second];
  std::vector<std::uint8_t> data = solana::encode_metadata(nft.metadata);
  switch (nft.hostile) {
    case 1:
      data.resize(60);  // inside the mint key
      break;
    case 2:  // name length 0x7fffffff
      data[65] = data[66] = data[67] = 0xff;
      data[68] = 0x7f;
      break;
    case 3:
      return std::nullopt;
    default:
      break;
  }
  return data;
}

json SolanaChain::truth() const {
  std::map<std::string, const SolanaNft*> nft_by_mint;
  for (const auto& n : nfts_) {
    nft_by_mint[n.mint] = &n;
  }
  json wallets = json::array();
  for (const auto& w : wallets_) {
    json holdings = json::array();
    json nfts = json::array();
    for (const auto& h : w.holdings) {
      holdings.push_back({{"pubkey", h.account},
                          {"mint", h.mint},
                          {"amount", h.amount},
                          {"decimals", h.decimals},
                          {"program", h.token2022 ? "spl-token-2022" : "spl-token"}});
      if (h.nft) {
        const SolanaNft& n = *nft_by_mint.at(h.mint);
        nfts.push_back({{"mint", n.mint},
                        {"metadata_address", n.metadata_address},
                        {"hostile", n.hostile},
                        {"metadata", n.hostile != 0 ? json() : n.metadata.to_json()}});
      }
    }
    json sigs = json::array();
    for (auto it = w.txs.rbegin(); it != w.txs.rend(); ++it) {
      sigs.push_back(txs_[*it].signature);
    }
    wallets.push_back({{"address", w.address},
                       {"lamports", w.lamports},
                       {"token_accounts", holdings},
                       {"nfts", nfts},
                       {"signatures", sigs}});
  }
  json txs = json::array();
  for (const auto& t : txs_) {
    txs.push_back({{"signature", t.signature},
                   {"slot", t.slot},
                   {"block_time", t.block_time},
                   {"fee_payer", t.keys[0]},
                   {"to", t.keys[1]},
                   {"value", std::to_string(t.amount)},
                   {"fee", t.fee},
                   {"status", t.failed ? "failed" : "success"}});
  }
  return {{"slot", slot_}, {"wallets", wallets}, {"transactions", txs}};
}

}  // namespace socialai::devnet
