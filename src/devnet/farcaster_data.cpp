// Deterministic generation of the Farcaster devnet's accounts and messages (see farcaster_data.h).
#include "devnet/farcaster_data.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

#include "workers/farcaster/base58.h"

namespace socialai::devnet::fc {
namespace {

using json = nlohmann::json;

// Farcaster epoch seconds of the first generated message (2025-10-03).
constexpr std::uint32_t kStartTs = 150000000;

constexpr const char* kWords[] = {"gm",    "farcaster", "onchain", "frames", "base",
                                  "degen", "build",     "ship",    "coffee", "café",
                                  "zora",  "mint",      "hello",   "world",  "snapchain",
                                  "hubs",  "protocol",  "wen",     "token",  "☕"};

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s = "0x";
  for (std::size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

template <typename T>
bool key_less(const T& a, const T& b) {
  return std::tie(a.ts, a.hash) < std::tie(b.ts, b.hash);
}

}  // namespace

std::string DataSet::base58(const std::vector<unsigned char>& bytes) {
  return base58_encode(bytes);
}

std::uint64_t DataSet::next() {  // splitmix64
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string DataSet::next_hash() {
  unsigned char b[24];
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t v = next();
    for (int j = 0; j < 8; ++j) {
      b[i * 8 + j] = static_cast<unsigned char>(v >> (8 * j));
    }
  }
  return hex(b, 20);
}

Cast DataSet::make_cast(std::uint64_t fid, std::uint32_t ts, std::size_t index) {
  Cast c;
  c.fid = fid;
  c.ts = ts;
  c.hash = next_hash();
  const std::size_t nwords = 3 + next() % 8;
  c.text = "cast " + std::to_string(fid) + "-" + std::to_string(index);
  for (std::size_t i = 0; i < nwords; ++i) {
    c.text += " ";
    c.text += kWords[next() % (sizeof(kWords) / sizeof(kWords[0]))];
  }
  if (next() % 4 == 0) {
    c.text += " #tag" + std::to_string(next() % 10);
  }
  const std::uint64_t users = sizes_.users;
  if (users > 1 && next() % 5 == 0) {  // a mention, inserted at a byte position of the text
    c.mentions.push_back(1 + next() % users);
    c.mention_positions.push_back(static_cast<std::uint32_t>(next() % (c.text.size() + 1)));
  }
  if (next() % 4 == 0) {
    c.embed_urls.push_back("https://example.com/post/" + std::to_string(next() % 100000));
  }
  if (!all_casts_.empty() && next() % 10 == 0) {
    c.embed_casts.push_back(all_casts_[next() % all_casts_.size()]);
  }
  const std::uint64_t r = next() % 100;
  if (!all_casts_.empty() && r < 20) {
    c.parent = all_casts_[next() % all_casts_.size()];
  } else if (r < 35) {
    c.parent_url = "https://warpcast.com/~/channel/ch" + std::to_string(next() % 8);
  }
  all_casts_.push_back({fid, c.hash});
  return c;
}

void DataSet::add_user_data(Account& a, std::uint32_t ts) {
  const std::string n = std::to_string(a.fid);
  const std::pair<const char*, std::string> ud[] = {
      {"USER_DATA_TYPE_PFP", "https://i.example.com/pfp/" + n + ".png"},
      {"USER_DATA_TYPE_DISPLAY", "User " + n + (a.fid % 3 == 0 ? " ✨" : "")},
      {"USER_DATA_TYPE_BIO", "bio of fid " + n + ": " + kWords[next() % 20]},
      {"USER_DATA_TYPE_USERNAME", "user" + n}};
  for (const auto& [type, value] : ud) {
    a.user_data.push_back({type, value, ts, next_hash()});
  }
}

std::string DataSet::bio_word() { return kWords[next() % (sizeof(kWords) / sizeof(kWords[0]))]; }

void DataSet::rebuild_log(Account& a) {
  a.cast_log.clear();
  for (std::size_t i = 0; i < a.casts.size(); ++i) {
    const Cast& c = a.casts[i];
    if (c.pruned) {
      continue;
    }
    if (c.removed) {
      a.cast_log.push_back({c.remove_ts, c.remove_hash, i, true});
    } else {
      a.cast_log.push_back({c.ts, c.hash, i, false});
    }
  }
  std::sort(a.cast_log.begin(), a.cast_log.end(), key_less<CastEntry>);
}

DataSet::DataSet(const Sizes& sizes, std::uint64_t seed)
    : state_(seed * 0x2545f4914f6cdd1dULL + 0x1234567), clock_(kStartTs), sizes_(sizes) {
  if (sizes.users < 1 || sizes.users > 1000000 || sizes.casts_per_user < 0 ||
      sizes.reactions_per_user < 0 || sizes.url_reactions_per_user < 0 ||
      sizes.follows_per_user < 0 || sizes.removes < 0 || sizes.removes > 1 || sizes.network < 0 ||
      sizes.network > 10000000) {
    throw std::invalid_argument("farcaster: bad size flags");
  }
  const auto users = static_cast<std::uint64_t>(sizes.users);
  users_ = users;
  accounts_.resize(std::max(users, static_cast<std::uint64_t>(sizes.network)));
  const auto per_mille = static_cast<std::uint64_t>(sizes.removes * 1000);
  // Casts, round-robin over accounts so replies reach across fids; timestamps rise by round.
  for (std::int64_t round = 0; round < sizes.casts_per_user; ++round) {
    for (std::uint64_t f = 1; f <= users; ++f) {
      Account& a = accounts_[f - 1];
      a.fid = f;
      const auto ts = static_cast<std::uint32_t>(kStartTs + round * 600 + f % 600);
      a.casts.push_back(make_cast(f, ts, a.casts.size()));
    }
  }
  clock_ = static_cast<std::uint32_t>(kStartTs + sizes.casts_per_user * 600 + 600);
  for (std::uint64_t f = 1; f <= users; ++f) {
    Account& a = accounts_[f - 1];
    a.fid = f;
    for (Cast& c : a.casts) {
      if (next() % 1000 < per_mille) {
        c.removed = true;
        c.remove_ts = c.ts + 60 + static_cast<std::uint32_t>(next() % 3600);
        c.remove_hash = next_hash();
      }
    }
    rebuild_log(a);
    std::set<std::pair<int, std::string>> seen;
    for (std::int64_t i = 0; i < sizes.reactions_per_user && !all_casts_.empty(); ++i) {
      Reaction r;
      r.fid = f;
      r.type = next() % 10 < 7 ? 1 : 2;
      r.target = all_casts_[next() % all_casts_.size()];
      if (!seen.insert({r.type, r.target.hash}).second) {
        continue;  // one reaction of a type per target, as the hub's CRDT keeps it
      }
      r.ts = static_cast<std::uint32_t>(kStartTs + next() % (clock_ - kStartTs));
      r.hash = next_hash();
      r.removed = next() % 1000 < per_mille;
      a.reactions.push_back(r);
    }
    std::sort(a.reactions.begin(), a.reactions.end(), key_less<Reaction>);
    std::set<std::uint64_t> targets;
    const auto max_follows = std::min<std::uint64_t>(sizes.follows_per_user, users - 1);
    while (targets.size() < max_follows) {
      const std::uint64_t t = 1 + next() % users;
      if (t == f || !targets.insert(t).second) {
        continue;
      }
      Link l;
      l.fid = f;
      l.target = t;
      l.ts = static_cast<std::uint32_t>(kStartTs + next() % (clock_ - kStartTs));
      l.hash = next_hash();
      l.removed = next() % 1000 < per_mille;
      a.links.push_back(l);
    }
    std::sort(a.links.begin(), a.links.end(), key_less<Link>);
    add_user_data(a, static_cast<std::uint32_t>(kStartTs + f));
    for (int k = 0; k < 2; ++k) {
      const bool solana = k == 1;
      if (next() % 10 >= (solana ? 3u : 7u)) {
        continue;
      }
      Verification v;
      v.solana = solana;
      v.raw.resize(solana ? 32 : 20);
      for (auto& b : v.raw) {
        b = static_cast<unsigned char>(next());
      }
      v.address = solana ? base58(v.raw) : hex(v.raw.data(), v.raw.size());
      v.ts = static_cast<std::uint32_t>(kStartTs + 100 + f);
      v.hash = next_hash();
      v.block_hash = next_hash() + next_hash().substr(2, 24);
      a.verifications.push_back(v);
    }
  }
  // Reactions to URLs, drawn after everything else so the rest of the data does not depend on
  // their number: likes of channels, recasts of NFTs named by CAIP-19-style chain:// URLs.
  for (std::uint64_t f = 1; f <= users; ++f) {
    Account& a = accounts_[f - 1];
    std::set<std::pair<int, std::string>> seen;
    for (std::int64_t i = 0; i < sizes.url_reactions_per_user; ++i) {
      Reaction r;
      r.fid = a.fid;
      r.type = next() % 2 == 0 ? 1 : 2;
      if (next() % 2 == 0) {
        r.target_url = "https://warpcast.com/~/channel/ch" + std::to_string(next() % 8);
      } else {
        unsigned char contract[20];
        for (auto& b : contract) {
          b = static_cast<unsigned char>(next() % 4);  // a few collections, so targets repeat
        }
        r.target_url = "chain://eip155:1/erc721:" + hex(contract, sizeof contract) + "/" +
                       std::to_string(next() % 50);
      }
      if (!seen.insert({r.type, r.target_url}).second) {
        continue;
      }
      r.ts = static_cast<std::uint32_t>(kStartTs + next() % (clock_ - kStartTs));
      r.hash = next_hash();
      r.removed = next() % 1000 < per_mille;
      a.reactions.push_back(r);
    }
    std::sort(a.reactions.begin(), a.reactions.end(), key_less<Reaction>);
  }
}

const Account* DataSet::account(std::uint64_t fid) const {
  if (fid < 1 || fid > accounts_.size() || accounts_[fid - 1].fid == 0) {
    return nullptr;
  }
  return &accounts_[fid - 1];
}

json DataSet::truth(bool full, const std::vector<std::uint64_t>& fids) const {
  std::int64_t casts = 0, removed = 0, pruned = 0, likes = 0, recasts = 0, url_reactions = 0,
               follows = 0, eth = 0, sol = 0, accounts = 0;
  json cast_list = json::array(), reactions = json::array(), links = json::array(),
       wallets = json::array(), profiles = json::array();
  const std::set<std::uint64_t> only(fids.begin(), fids.end());
  for (const Account& a : accounts_) {
    if (a.fid == 0 || (!only.empty() && only.count(a.fid) == 0)) {
      continue;
    }
    ++accounts;
    for (const Cast& c : a.casts) {
      if (c.pruned) {
        ++pruned;
        continue;
      }
      if (c.removed) {
        ++removed;
        continue;
      }
      ++casts;
      if (full) {
        cast_list.push_back({{"hash", c.hash},
                             {"fid", c.fid},
                             {"text", c.text},
                             {"timestamp", c.ts},
                             {"parent_hash", c.parent ? json(c.parent->hash) : json(nullptr)},
                             {"parent_url", c.parent_url ? json(*c.parent_url) : json(nullptr)}});
      }
    }
    for (const Reaction& r : a.reactions) {
      if (r.removed) {
        continue;
      }
      ++(r.type == 1 ? likes : recasts);
      const bool url = !r.target_url.empty();
      url_reactions += url ? 1 : 0;
      if (full) {  // [fid, cast hash or null, kind, url or null]
        reactions.push_back({a.fid, url ? json(nullptr) : json(r.target.hash),
                             r.type == 1 ? "like" : "recast",
                             url ? json(r.target_url) : json(nullptr)});
      }
    }
    for (const Link& l : a.links) {
      if (!l.removed) {
        ++follows;
        if (full) {
          links.push_back({a.fid, l.target});
        }
      }
    }
    for (const Verification& v : a.verifications) {
      ++(v.solana ? sol : eth);
      if (full) {
        wallets.push_back({v.solana ? "solana" : "ethereum", v.address, a.fid});
      }
    }
    if (full) {
      json p = {{"fid", a.fid}};
      for (const UserData& u : a.user_data) {
        p[u.type] = u.value;
      }
      profiles.push_back(p);
    }
  }
  json out = {{"counts",
               {{"profiles", accounts},
                {"casts", casts},
                {"casts_removed", removed},
                {"casts_pruned", pruned},
                {"reactions", likes + recasts},
                {"likes", likes},
                {"recasts", recasts},
                {"url_reactions", url_reactions},
                {"follows", follows},
                {"wallets", eth + sol},
                {"wallets_ethereum", eth},
                {"wallets_solana", sol}}}};
  if (full) {
    out["casts"] = std::move(cast_list);
    out["reactions"] = std::move(reactions);
    out["follows"] = std::move(links);
    out["wallets"] = std::move(wallets);
    out["profiles"] = std::move(profiles);
  }
  return out;
}

}  // namespace socialai::devnet::fc
