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
  // Registered fids: 1..network (0 = users). Fids above `users` start without messages and
  // are materialised (user data first) when an event first makes them act, so a network of
  // 100,000+ fids costs one empty Account each.
  std::int64_t network = 0;
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
  bool pruned = false;  // gone without a trace (PRUNE_MESSAGE / REVOKE_MESSAGE of the add)
  std::uint32_t remove_ts = 0;
  std::string remove_hash;  // hash of the CAST_REMOVE message
};

struct Reaction {
  std::uint64_t fid = 0;
  int type = 1;            // 1 like, 2 recast (the protobuf numbers)
  CastRef target;          // the cast reacted to, unless target_url is set
  std::string target_url;  // a reaction to a URL: a channel or a chain:// NFT URL
  std::uint32_t ts = 0;
  std::string hash;
  bool removed = false;         // removed reactions are no longer served (the hub deleted the add)
  std::uint32_t remove_ts = 0;  // of the REACTION_REMOVE, when one removed it (0: revoked)
  std::string remove_hash;
};

struct Link {
  std::uint64_t fid = 0;
  std::uint64_t target = 0;
  std::uint32_t ts = 0;
  std::string hash;
  bool removed = false;
  std::uint32_t remove_ts = 0;  // of the LINK_REMOVE
  std::string remove_hash;
};

struct UserData {
  std::string type;  // USER_DATA_TYPE_PFP, ...
  std::string value;
  std::uint32_t ts = 0;
  std::string hash;
};

struct Verification {
  bool solana = false;
  std::string address;             // ethereum: "0x" + 40 lowercase hex; solana: base58
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
  std::uint64_t fid = 0;  // 0: a registered fid not materialised yet (no messages)
  std::vector<Cast> casts;
  std::vector<CastEntry> cast_log;  // sorted; removed casts appear only as their remove
  std::vector<Reaction> reactions;  // sorted by (ts, hash)
  std::vector<Link> links;          // sorted by (ts, hash)
  std::vector<UserData> user_data;
  std::vector<Verification> verifications;
};

// One change a hub event reports (farcaster_events.cpp renders it).
enum class ChangeKind {
  kCastAdd,         // MERGE_MESSAGE CAST_ADD
  kCastRemove,      // MERGE_MESSAGE CAST_REMOVE, deleting the add (oldest live cast)
  kCastPrune,       // PRUNE_MESSAGE of the oldest live cast (storage limit)
  kReactionAdd,     // MERGE_MESSAGE REACTION_ADD (a like or recast of a random cast)
  kReactionRemove,  // MERGE_MESSAGE REACTION_REMOVE, deleting the add
  kReactionRevoke,  // REVOKE_MESSAGE of a reaction add (its signer was revoked)
  kLinkAdd,         // MERGE_MESSAGE LINK_ADD (follow)
  kLinkRemove,      // MERGE_MESSAGE LINK_REMOVE, deleting the add
  kUserData,        // MERGE_MESSAGE USER_DATA_ADD, deleting the previous one of its type
};

struct Change {
  ChangeKind kind = ChangeKind::kCastAdd;
  std::uint64_t fid = 0;
  std::size_t index = 0;  // into the account's casts / reactions / links / user_data
  UserData replaced;      // kUserData: the message it deleted
};

class DataSet {
 public:
  DataSet(const Sizes& sizes, std::uint64_t seed);

  // nullptr when fid is not registered or has no messages yet.
  const Account* account(std::uint64_t fid) const;
  std::uint64_t users() const { return users_; }
  std::uint64_t network() const { return accounts_.size(); }

  // Applies one change by `fid` (1..network), timestamped after everything so far; a fid
  // without messages first gets its user data (`materialised` then lists those changes).
  // std::nullopt when there is nothing to change (no live cast to remove, ...).
  // Throws std::invalid_argument for an unregistered fid.
  std::optional<Change> change(ChangeKind kind, std::uint64_t fid,
                               std::vector<Change>* materialised = nullptr);

  // The exact final data set a correct sync holds (counts, and full lists when `full`), of
  // every fid, or of `fids` only when not empty.
  nlohmann::json truth(bool full, const std::vector<std::uint64_t>& fids = {}) const;

  static std::string base58(const std::vector<unsigned char>& bytes);

 private:
  Cast make_cast(std::uint64_t fid, std::uint32_t ts, std::size_t index);
  void rebuild_log(Account& a);
  void add_user_data(Account& a, std::uint32_t ts);
  std::string bio_word();
  std::optional<Change> change_casts(ChangeKind kind, Account& a);
  std::optional<Change> change_follows(ChangeKind kind, Account& a);
  std::optional<Change> change_reactions(ChangeKind kind, Account& a);
  std::string next_hash();
  std::uint64_t next();

  std::uint64_t users_ = 0;
  std::uint64_t state_;
  std::uint32_t clock_;  // latest timestamp handed out
  Sizes sizes_;
  std::vector<Account> accounts_;
  std::vector<CastRef> all_casts_;  // every cast ever made, for replies, embeds, reactions
};

}  // namespace socialai::devnet::fc
