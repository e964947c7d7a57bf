// The Farcaster devnet's data set: deterministic accounts, casts, reactions, follows, user data
// and verifications derived from a seed and size flags, with removes and runtime growth. Pure
// data (no HTTP); farcaster.cpp renders it in a hub dialect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace socialai::devnet::fc {

// Seconds between the Unix epoch and the Farcaster epoch (2021-01-01T00:00:00Z).
constexpr std::int64_t kFarcasterEpoch = 1609459200;

struct Sizes {
  std::int64_t users = 100;
  std::int64_t casts_per_user = 20;
  std::int64_t reactions_per_user = 10;
  std::int64_t url_reactions_per_user = 2;  // reactions to a URL (a channel, an NFT), not a cast
  std::int64_t follows_per_user = 10;
  double removes = 0.1;  // share of casts, reactions and follows that are removed
};

struct CastRef {
  std::uint64_t fid = 0;
  std::string hash;  // "0x" + 40 hex
};

struct Cast {
  std::uint64_t fid = 0;
  std::uint32_t ts = 0;  // Farcaster epoch seconds
  std::string hash;
  std::string text;
  std::vector<std::uint64_t> mentions;
  std::vector<std::uint32_t> mention_positions;
  std::vector<std::string> embed_urls;
  std::vector<CastRef> embed_casts;
  std::optional<CastRef> parent;
  std::optional<std::string> parent_url;
  bool removed = false;
  std::uint32_t remove_ts = 0;
  std::string remove_hash;  // hash of the CAST_REMOVE message
};

struct Reaction {
  std::uint64_t fid = 0;
  int type = 1;  // 1 like, 2 recast (the protobuf numbers)
  CastRef target;           // the cast reacted to, unless target_url is set
  std::string target_url;   // a reaction to a URL: a channel or a chain:// NFT URL
  std::uint32_t ts = 0;
  std::string hash;
  bool removed = false;  // removed reactions are no longer served (the hub deleted the add)
};

struct Link {
  std::uint64_t fid = 0;
  std::uint64_t target = 0;
  std::uint32_t ts = 0;
  std::string hash;
  bool removed = false;
};

struct UserData {
  std::string type;  // USER_DATA_TYPE_PFP, ...
  std::string value;
  std::uint32_t ts = 0;
  std::string hash;
};

struct Verification {
  bool solana = false;
  std::string address;  // ethereum: "0x" + 40 lowercase hex; solana: base58
  std::vector<unsigned char> raw;  // address bytes (20 or 32)
  std::uint32_t ts = 0;
  std::string hash;
  std::string block_hash;
};

// One message in a fid's cast log, in hub key order (timestamp, then hash).
struct CastEntry {
  std::uint32_t ts = 0;
  std::string hash;
  std::size_t cast = 0;  // index into Account::casts
  bool remove = false;   // the CAST_REMOVE of that cast
};

struct Account {
  std::uint64_t fid = 0;
  std::vector<Cast> casts;
  std::vector<CastEntry> cast_log;  // sorted; removed casts appear only as their remove
  std::vector<Reaction> reactions;  // sorted by (ts, hash)
  std::vector<Link> links;          // sorted by (ts, hash)
  std::vector<UserData> user_data;
  std::vector<Verification> verifications;
};

class DataSet {
 public:
  DataSet(const Sizes& sizes, std::uint64_t seed);

  // nullptr when fid is not 1..users.
  const Account* account(std::uint64_t fid) const;
  std::uint64_t users() const { return accounts_.size(); }

  // Appends `casts` new casts to each fid in `fids` (all when empty) and removes `removes` of
  // each fid's live casts (oldest first), all with timestamps after everything so far.
  // Returns how many casts were added and removed.
  std::pair<std::int64_t, std::int64_t> grow(std::int64_t casts, std::int64_t removes,
                                             const std::vector<std::uint64_t>& fids);

  // The exact final data set a correct sync holds (counts, and full lists when `full`).
  nlohmann::json truth(bool full) const;

  static std::string base58(const std::vector<unsigned char>& bytes);

 private:
  Cast make_cast(std::uint64_t fid, std::uint32_t ts, std::size_t index);
  void rebuild_log(Account& a);
  std::string next_hash();
  std::uint64_t next();

  std::uint64_t state_;
  std::uint32_t clock_;  // latest timestamp handed out
  Sizes sizes_;
  std::vector<Account> accounts_;
  std::vector<CastRef> all_casts_;  // every cast ever made, for replies, embeds, reactions
};

}  // namespace socialai::devnet::fc
