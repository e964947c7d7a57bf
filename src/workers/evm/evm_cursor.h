// BlockCursor: the EVM worker's scan position in sync_state (a JSON text): the last block
// scanned, the hashes of the most recent ones, so a reorg's fork point can be found, and the
// NFTs that moved to or from a tracked wallet in those blocks, so a reorg can re-derive them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::evm {

constexpr const char* kCursorKey = "blocks";
constexpr std::size_t kRecentHashes = 64;  // block hashes kept to find a fork point

// An ERC-721 token that moved to or from a tracked wallet in `block`.
struct TouchedNft {
  std::int64_t block = 0;
  std::string contract, token_id;  // token id as decimal text
};

// The scan position: the last block scanned (number -1 = none yet) and the hashes of the most
// recent scanned blocks, ascending, to find where a reorg forked off.
struct BlockCursor {
  std::int64_t number = -1;
  std::string hash;  // empty: unknown (start, or after a reorg deeper than the hashes kept)
  std::vector<std::pair<std::int64_t, std::string>> recent;
  std::vector<TouchedNft> nfts;  // moves within the blocks of `recent`, ascending by block

  std::string to_text() const {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& [n, h] : recent) {
      r.push_back(nlohmann::json::array({n, h}));
    }
    nlohmann::json t = nlohmann::json::array();
    for (const auto& n : nfts) {
      t.push_back(nlohmann::json::array({n.block, n.contract, n.token_id}));
    }
    return nlohmann::json{{"number", number}, {"hash", hash}, {"recent", r}, {"nfts", t}}.dump();
  }
  static std::optional<BlockCursor> parse(const std::string& text) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("number") ||
        !j["number"].is_number_integer()) {
      return std::nullopt;
    }
    BlockCursor c;
    c.number = j["number"].get<std::int64_t>();
    c.hash = j.value("hash", "");
    for (const auto& p : j.value("recent", nlohmann::json::array())) {
      if (p.is_array() && p.size() == 2 && p[0].is_number_integer() && p[1].is_string()) {
        c.recent.emplace_back(p[0].get<std::int64_t>(), p[1].get<std::string>());
      }
    }
    for (const auto& p : j.value("nfts", nlohmann::json::array())) {
      if (p.is_array() && p.size() == 3 && p[0].is_number_integer() && p[1].is_string() &&
          p[2].is_string()) {
        c.nfts.push_back(
            {p[0].get<std::int64_t>(), p[1].get<std::string>(), p[2].get<std::string>()});
      }
    }
    return c;
  }
  void advance(std::int64_t n, const std::string& h) {
    number = n;
    hash = h;
    recent.emplace_back(n, h);
    if (recent.size() > kRecentHashes) {
      recent.erase(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(kRecentHashes));
    }
    while (!nfts.empty() && nfts.front().block < recent.front().first) {
      nfts.erase(nfts.begin());
    }
  }
  void touch(std::int64_t block, std::string contract, std::string token_id) {
    nfts.push_back({block, std::move(contract), std::move(token_id)});
  }
  // The kept hash of block n, empty when it is not kept.
  std::string hash_of(std::int64_t n) const {
    for (const auto& [k, h] : recent) {
      if (k == n) {
        return h;
      }
    }
    return "";
  }
  // Moves the position back to block n; returns the NFT moves of the blocks given up.
  std::vector<TouchedNft> rewind_to(std::int64_t n, const std::string& h) {
    number = n;
    hash = h;
    while (!recent.empty() && recent.back().first > n) {
      recent.pop_back();
    }
    std::vector<TouchedNft> dropped;
    while (!nfts.empty() && nfts.back().block > n) {
      dropped.push_back(nfts.back());
      nfts.pop_back();
    }
    return dropped;
  }
};

}  // namespace socialai::evm
