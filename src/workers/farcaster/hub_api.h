// Farcaster Hub HTTP API wire parsing (pure, no I/O): pages of messages from /v1/castsByFid,
// /v1/userDataByFid, /v1/reactionsByFid, /v1/linksByFid and /v1/verificationsByFid, hub error
// bodies, and dialect detection from /v1/info. Tolerates both Snapchain and Hubble forms.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace socialai::farcaster {

// Seconds between the Unix epoch and the Farcaster epoch (2021-01-01T00:00:00Z).
constexpr std::int64_t kFarcasterEpoch = 1609459200;

enum class Dialect { kSnapchain, kHubble };

// A body that is not what the API promises (bad JSON, missing or mistyped fields). The message
// names the cause and, for one bad message, its index in the page.
class MalformedResponse : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CastRow {
  std::string hash;  // 0x-hex, lowercase
  std::uint64_t fid = 0;
  std::int64_t unix_ts = 0;  // Farcaster timestamp converted to Unix seconds
  std::string text;
  std::optional<std::string> parent_hash;  // parentCastId.hash
  std::optional<std::string> parent_url;   // parentUrl (channel), stored as community
  std::string raw;                         // JSON: castAddBody + fid, timestamp (mentions, embeds)
};

struct ReactionRow {
  std::uint64_t fid = 0;    // the reacting fid (data.fid)
  std::string target_hash;  // the cast reacted to (0x-hex); empty for a reaction to a URL
  std::string target_url;   // targetUrl (a channel, an NFT's chain:// URL); empty for a cast
  std::string kind;         // "like" | "recast"
  std::int64_t unix_ts = 0;
};

struct LinkRow {
  std::uint64_t fid = 0;  // the follower (data.fid)
  std::uint64_t target_fid = 0;
  std::int64_t unix_ts = 0;
};

struct WalletRow {
  std::uint64_t fid = 0;  // the verifying fid (data.fid)
  std::string chain;      // "ethereum" | "solana"
  std::string address;    // lowercase 0x-hex | base58
};

struct UserDataRow {
  std::uint64_t fid = 0;
  std::string type;  // USER_DATA_TYPE_*
  std::string value;
};

struct ProfileData {
  std::optional<std::string> username, display_name, bio, avatar_url;
  std::string raw;  // JSON object of every user data type seen, latest value each
};

// One page of any listing: the messages it held, sorted into rows by kind.
struct Page {
  std::vector<CastRow> casts;
  std::vector<std::string> removed_casts;  // targets of CAST_REMOVE messages (0x-hex)
  // Targets of REACTION_REMOVE, LINK_REMOVE and VERIFICATION_REMOVE messages (the listings
  // serve adds only; these come from the event stream).
  std::vector<ReactionRow> removed_reactions;
  std::vector<LinkRow> removed_links;
  std::vector<WalletRow> removed_wallets;
  std::vector<ReactionRow> reactions;
  std::vector<LinkRow> links;
  std::vector<WalletRow> wallets;
  std::vector<std::pair<std::string, std::string>> user_data;  // (USER_DATA_TYPE_*, value)
  std::uint64_t user_data_fid = 0;  // data.fid of the last user data message
  std::size_t messages = 0;
  // The token for the next page; empty when this was the last page (Hubble sends "",
  // Snapchain omits the field; null is read the same way).
  std::string next_page_token;
};

// A body that must be a JSON object; throws MalformedResponse ("body is not valid JSON (N
// bytes)", "body is not a JSON object").
nlohmann::json parse_object(std::string_view body);

// Parses a listing body. Throws MalformedResponse naming the cause; nothing partial is returned.
Page parse_page(std::string_view body);
// Adds one message's rows to `page` (messages of types this worker does not store add
// nothing). Throws MalformedResponse naming the cause.
void parse_message(const nlohmann::json& message, Page& page);

// Snapchain's /v1/info has numShards/shardInfos; Hubble's has none of them.
// Throws MalformedResponse if the body is not a JSON object.
Dialect detect_dialect(std::string_view info_body);
// "snapchain" | "hubble"; std::nullopt for anything else.
std::optional<Dialect> parse_dialect(std::string_view s);
std::string dialect_name(Dialect d);

// The reaction_type query value each hub accepts for likes (1) and recasts (2).
std::string reaction_type_param(Dialect d, int type);

// A short reason from a hub's error body: Hubble {"errCode","message"}, Snapchain
// {"error","errorDetail"}, or the first 200 bytes of anything else.
std::string error_reason(std::string_view body);

// Helpers: base64 → bytes (throws MalformedResponse), bytes → 0x-hex. (base58: base58.h)
std::vector<unsigned char> base64_decode(std::string_view in);
std::string hex_encode(const std::vector<unsigned char>& bytes);

}  // namespace socialai::farcaster
