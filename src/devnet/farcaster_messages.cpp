// Message envelopes of the Farcaster devnet (see farcaster_messages.h). Signatures are filler.
#include "devnet/farcaster_messages.h"

#include <stdexcept>

namespace socialai::devnet::fc {
namespace {

using json = nlohmann::json;

json envelope(const char* type, std::uint64_t fid, std::uint32_t ts, const std::string& hash,
              const char* body_key, json body) {
  std::vector<unsigned char> sig = hex_bytes(hash);
  sig.resize(64, 0x5a);
  return {{"data",
           {{"type", type},
            {"fid", fid},
            {"timestamp", ts},
            {"network", "FARCASTER_NETWORK_MAINNET"},
            {body_key, std::move(body)}}},
          {"hash", hash},
          {"hashScheme", "HASH_SCHEME_BLAKE3"},
          {"signature", base64(sig)},
          {"signatureScheme", "SIGNATURE_SCHEME_ED25519"},
          {"signer", "0x" + std::string(64, 'a')}};
}

}  // namespace

Dialect parse_dialect(const std::string& s) {
  if (s == "snapchain") {
    return Dialect::kSnapchain;
  }
  if (s == "hubble") {
    return Dialect::kHubble;
  }
  throw std::invalid_argument("farcaster dialect must be snapchain or hubble, got '" + s + "'");
}

std::string dialect_name(Dialect d) { return d == Dialect::kSnapchain ? "snapchain" : "hubble"; }

std::string base64(const std::vector<unsigned char>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8) | in[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = unsigned{in[i]} << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::vector<unsigned char> unbase64(const std::string& in) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') {
      break;
    }
    const auto p = alphabet.find(c);
    if (p == std::string::npos) {
      throw std::invalid_argument("invalid base64 in pageToken");
    }
    v = (v << 6) | static_cast<unsigned>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(v >> bits));
    }
  }
  return out;
}

std::vector<unsigned char> hex_bytes(const std::string& h) {
  std::vector<unsigned char> out;
  for (std::size_t i = 2; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<unsigned char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

json cast_add_message(const Cast& c) {
  json embeds = json::array();
  for (const auto& u : c.embed_urls) {
    embeds.push_back({{"url", u}});
  }
  for (const auto& r : c.embed_casts) {
    embeds.push_back({{"castId", {{"fid", r.fid}, {"hash", r.hash}}}});
  }
  json body = {
      {"embedsDeprecated", json::array()},        {"mentions", c.mentions},      {"text", c.text},
      {"mentionsPositions", c.mention_positions}, {"embeds", std::move(embeds)}, {"type", "CAST"}};
  if (c.parent) {
    body["parentCastId"] = {{"fid", c.parent->fid}, {"hash", c.parent->hash}};
  }
  if (c.parent_url) {
    body["parentUrl"] = *c.parent_url;
  }
  return envelope("MESSAGE_TYPE_CAST_ADD", c.fid, c.ts, c.hash, "castAddBody", std::move(body));
}

json cast_remove_message(const Cast& c) {
  // targetHash stays base64 on both hubs (Snapchain: serdebase64; Hubble's transformHash
  // converts only keys named hash/address/signer/...).
  return envelope("MESSAGE_TYPE_CAST_REMOVE", c.fid, c.remove_ts, c.remove_hash, "castRemoveBody",
                  {{"targetHash", base64(hex_bytes(c.hash))}});
}

json reaction_message(const Reaction& r, bool remove) {
  json body = {{"type", r.type == 1 ? "REACTION_TYPE_LIKE" : "REACTION_TYPE_RECAST"}};
  if (r.target_url.empty()) {
    body["targetCastId"] = {{"fid", r.target.fid}, {"hash", r.target.hash}};
  } else {
    body["targetUrl"] = r.target_url;  // the protobuf oneof: one target or the other
  }
  if (remove) {
    return envelope("MESSAGE_TYPE_REACTION_REMOVE", r.fid, r.remove_ts, r.remove_hash,
                    "reactionBody", std::move(body));
  }
  return envelope("MESSAGE_TYPE_REACTION_ADD", r.fid, r.ts, r.hash, "reactionBody",
                  std::move(body));
}

json link_message(const Link& l, bool remove) {
  json body = {{"type", "follow"}, {"targetFid", l.target}};
  if (remove) {
    return envelope("MESSAGE_TYPE_LINK_REMOVE", l.fid, l.remove_ts, l.remove_hash, "linkBody",
                    std::move(body));
  }
  return envelope("MESSAGE_TYPE_LINK_ADD", l.fid, l.ts, l.hash, "linkBody", std::move(body));
}

json user_data_message(std::uint64_t fid, const UserData& u) {
  return envelope("MESSAGE_TYPE_USER_DATA_ADD", fid, u.ts, u.hash, "userDataBody",
                  {{"type", u.type}, {"value", u.value}});
}

json verification_message(std::uint64_t fid, const Verification& v, Dialect d) {
  std::string address = v.address;
  if (v.solana && d == Dialect::kHubble) {
    static const char* digits = "0123456789abcdef";
    address = "0x";
    for (unsigned char b : v.raw) {
      address += digits[b >> 4];
      address += digits[b & 15];
    }
  }
  return envelope("MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS", fid, v.ts, v.hash,
                  "verificationAddAddressBody",
                  {{"address", address},
                   {"claimSignature", base64(std::vector<unsigned char>(65, 0x11))},
                   {"blockHash", v.block_hash},
                   {"type", 0},
                   {"chainId", 0},
                   {"protocol", v.solana ? "PROTOCOL_SOLANA" : "PROTOCOL_ETHEREUM"}});
}

}  // namespace socialai::devnet::fc
