// The Farcaster devnet's message envelopes: one rendering of each data set item as the hubs
// serialise it, shared by the per-fid listings (farcaster.cpp) and the event stream
// (farcaster_events.cpp), so both always say the same thing about an item.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devnet/farcaster_data.h"

namespace socialai::devnet::fc {

enum class Dialect { kSnapchain, kHubble };

// Throws std::invalid_argument for anything but "snapchain" and "hubble".
Dialect parse_dialect(const std::string& s);
std::string dialect_name(Dialect d);

std::string base64(const std::vector<unsigned char>& in);
// Throws std::invalid_argument("invalid base64 in pageToken") on a character outside base64.
std::vector<unsigned char> unbase64(const std::string& in);
// "0x…" → bytes (no validation: only the devnet's own hashes pass through it).
std::vector<unsigned char> hex_bytes(const std::string& h);

// MESSAGE_TYPE_CAST_ADD of `c`.
nlohmann::json cast_add_message(const Cast& c);
// MESSAGE_TYPE_CAST_REMOVE of `c` (its remove_ts/remove_hash).
nlohmann::json cast_remove_message(const Cast& c);
// MESSAGE_TYPE_REACTION_ADD of `r`, or with `remove` the REACTION_REMOVE of the same target
// sent at remove_ts with remove_hash.
nlohmann::json reaction_message(const Reaction& r, bool remove = false);
// MESSAGE_TYPE_LINK_ADD (follow) of `l`, or its LINK_REMOVE.
nlohmann::json link_message(const Link& l, bool remove = false);
nlohmann::json user_data_message(std::uint64_t fid, const UserData& u);
// Hubble hex-encodes every "address", a Solana one too; Snapchain sends base58.
nlohmann::json verification_message(std::uint64_t fid, const Verification& v, Dialect d);

}  // namespace socialai::devnet::fc
