// Farcaster Hub HTTP API wire parsing: messages → rows, with the two hubs' differences absorbed.
#include "workers/farcaster/hub_api.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <nlohmann/json.hpp>

#include "workers/farcaster/base58.h"

namespace socialai::farcaster {
namespace {

using json = nlohmann::json;

const json& field(const json& obj, const char* key, const char* what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    throw MalformedResponse(std::string(what) + " has no " + key);
  }
  return *it;
}

std::string str_field(const json& obj, const char* key, const char* what) {
  const json& v = field(obj, key, what);
  if (!v.is_string()) {
    throw MalformedResponse(std::string(what) + "." + key + " is not a string");
  }
  return v.get<std::string>();
}

std::uint64_t uint_field(const json& obj, const char* key, const char* what) {
  const json& v = field(obj, key, what);
  if (v.is_number_unsigned()) {
    return v.get<std::uint64_t>();
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  throw MalformedResponse(std::string(what) + "." + key + " is not an unsigned integer");
}

bool is_hex(std::string_view s, std::size_t bytes) {
  if (s.size() != 2 + 2 * bytes || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return false;
  }
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Message hashes are 20-byte BLAKE3 digests, sent as 0x-hex (hash, castId.hash) or, in bodies
// the hubs do not convert (castRemoveBody.targetHash), base64.
std::string message_hash(const std::string& s, const char* what) {
  if (is_hex(s, 20)) {
    return lower(s);
  }
  const auto bytes = base64_decode(s);
  if (bytes.size() != 20) {
    throw MalformedResponse(std::string(what) + " is not a 20-byte hash");
  }
  return hex_encode(bytes);
}

std::int64_t unix_time(const json& data) {
  return static_cast<std::int64_t>(uint_field(data, "timestamp", "data")) + kFarcasterEpoch;
}

int reaction_kind(const json& v) {
  if (v.is_number_integer()) {
    return v.get<int>();
  }
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "REACTION_TYPE_LIKE" || s == "Like") {
      return 1;
    }
    if (s == "REACTION_TYPE_RECAST" || s == "Recast") {
      return 2;
    }
  }
  return 0;
}

void parse_cast_add(const json& data, Page& page) {
  const json& body = field(data, "castAddBody", "cast");
  if (!body.is_object()) {
    throw MalformedResponse("castAddBody is not an object");
  }
  CastRow c;
  c.fid = uint_field(data, "fid", "data");
  c.unix_ts = unix_time(data);
  c.text = body.contains("text") && body["text"].is_string() ? body["text"].get<std::string>()
                                                             : std::string();
  if (const auto it = body.find("parentCastId"); it != body.end() && !it->is_null()) {
    c.parent_hash = message_hash(str_field(*it, "hash", "parentCastId"), "parentCastId.hash");
  }
  if (const auto it = body.find("parentUrl"); it != body.end() && it->is_string()) {
    c.parent_url = it->get<std::string>();
  }
  json raw = body;
  raw["fid"] = c.fid;
  raw["timestamp"] = data["timestamp"];
  c.raw = raw.dump();
  page.casts.push_back(std::move(c));
}

// A reaction's type and target (reactionBody of an add or a remove); false if unreadable.
bool read_reaction(const json& data, ReactionRow& r) {
  const json& body = field(data, "reactionBody", "reaction");
  const int kind = reaction_kind(field(body, "type", "reactionBody"));
  if (kind == 0) {
    return false;  // reactions of unknown types are not stored
  }
  r.fid = uint_field(data, "fid", "data");
  r.kind = kind == 1 ? "like" : "recast";
  r.unix_ts = unix_time(data);
  const auto target = body.find("targetCastId");
  const auto url = body.find("targetUrl");
  if (target != body.end() && !target->is_null()) {
    r.target_hash = message_hash(str_field(*target, "hash", "targetCastId"), "target");
  } else if (url != body.end() && url->is_string() && !url->get_ref<const std::string&>().empty()) {
    r.target_url = url->get<std::string>();
  } else {
    return false;  // no target we can read: nothing to store
  }
  return true;
}

WalletRow read_wallet(const json& data, const char* body_key) {
  const json& body = field(data, body_key, "verification");
  const std::string address = str_field(body, "address", body_key);
  const auto p = body.find("protocol");
  const bool solana = p != body.end() && p->is_string() && *p == "PROTOCOL_SOLANA";
  const std::uint64_t fid = uint_field(data, "fid", "data");
  if (!solana) {
    if (!is_hex(address, 20)) {
      throw MalformedResponse("ethereum verification address is not 20-byte hex");
    }
    return {fid, "ethereum", lower(address)};
  }
  if (is_hex(address, 32)) {  // Hubble hex-encodes every "address", Solana's too
    std::vector<unsigned char> b;
    for (std::size_t i = 2; i < address.size(); i += 2) {
      b.push_back(static_cast<unsigned char>(std::stoi(address.substr(i, 2), nullptr, 16)));
    }
    return {fid, "solana", base58_encode(b)};
  }
  if (address.empty() || address.size() > 44 ||
      address.find_first_not_of("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") !=
          std::string::npos) {
    throw MalformedResponse("solana verification address is neither base58 nor 32-byte hex");
  }
  return {fid, "solana", address};
}

}  // namespace

void parse_message(const json& m, Page& page) {
  if (!m.is_object()) {
    throw MalformedResponse("message is not an object");
  }
  const json& data = field(m, "data", "message");
  if (!data.is_object()) {
    throw MalformedResponse("message.data is not an object");
  }
  const std::string type = str_field(data, "type", "data");
  const std::string hash = message_hash(str_field(m, "hash", "message"), "message.hash");
  if (type == "MESSAGE_TYPE_CAST_ADD") {
    parse_cast_add(data, page);
    page.casts.back().hash = hash;
  } else if (type == "MESSAGE_TYPE_CAST_REMOVE") {
    const json& body = field(data, "castRemoveBody", "cast remove");
    page.removed_casts.push_back(
        message_hash(str_field(body, "targetHash", "castRemoveBody"), "targetHash"));
  } else if (type == "MESSAGE_TYPE_REACTION_ADD" || type == "MESSAGE_TYPE_REACTION_REMOVE") {
    ReactionRow r;
    if (read_reaction(data, r)) {
      (type == "MESSAGE_TYPE_REACTION_ADD" ? page.reactions : page.removed_reactions)
          .push_back(std::move(r));
    }
  } else if (type == "MESSAGE_TYPE_LINK_ADD" || type == "MESSAGE_TYPE_LINK_REMOVE") {
    const json& body = field(data, "linkBody", "link");
    if (str_field(body, "type", "linkBody") == "follow") {
      (type == "MESSAGE_TYPE_LINK_ADD" ? page.links : page.removed_links)
          .push_back({uint_field(data, "fid", "data"), uint_field(body, "targetFid", "linkBody"),
                      unix_time(data)});
    }
  } else if (type == "MESSAGE_TYPE_USER_DATA_ADD") {
    const json& body = field(data, "userDataBody", "user data");
    page.user_data.emplace_back(str_field(body, "type", "userDataBody"),
                                str_field(body, "value", "userDataBody"));
    page.user_data_fid = uint_field(data, "fid", "data");
  } else if (type == "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS") {
    page.wallets.push_back(read_wallet(data, "verificationAddAddressBody"));
  } else if (type == "MESSAGE_TYPE_VERIFICATION_REMOVE") {
    page.removed_wallets.push_back(read_wallet(data, "verificationRemoveBody"));
  }
  // Other message types carry nothing this worker stores.
}

json parse_object(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) {
    throw MalformedResponse("body is not valid JSON (" + std::to_string(body.size()) + " bytes)");
  }
  if (!j.is_object()) {
    throw MalformedResponse("body is not a JSON object");
  }
  return j;
}

Page parse_page(std::string_view body) {
  const json j = parse_object(body);
  const auto msgs = j.find("messages");
  if (msgs == j.end() || !msgs->is_array()) {
    throw MalformedResponse("body has no messages array");
  }
  Page page;
  page.messages = msgs->size();
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    try {
      parse_message((*msgs)[i], page);
    } catch (const MalformedResponse& e) {
      throw MalformedResponse("message " + std::to_string(i) + ": " + e.what());
    } catch (const std::exception& e) {
      throw MalformedResponse("message " + std::to_string(i) + ": " + e.what());
    }
  }
  if (const auto t = j.find("nextPageToken"); t != j.end() && !t->is_null()) {
    if (!t->is_string()) {
      throw MalformedResponse("nextPageToken is not a string");
    }
    page.next_page_token = t->get<std::string>();
  }
  return page;
}

Dialect detect_dialect(std::string_view info_body) {
  const json j = json::parse(info_body.begin(), info_body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw MalformedResponse("/v1/info body is not a JSON object");
  }
  return j.contains("numShards") || j.contains("shardInfos") ? Dialect::kSnapchain
                                                             : Dialect::kHubble;
}

std::optional<Dialect> parse_dialect(std::string_view s) {
  if (s == "snapchain") {
    return Dialect::kSnapchain;
  }
  if (s == "hubble") {
    return Dialect::kHubble;
  }
  return std::nullopt;
}

std::string dialect_name(Dialect d) { return d == Dialect::kSnapchain ? "snapchain" : "hubble"; }

std::string reaction_type_param(Dialect d, int type) {
  if (d == Dialect::kSnapchain) {
    return type == 1 ? "Like" : "Recast";
  }
  return type == 1 ? "REACTION_TYPE_LIKE" : "REACTION_TYPE_RECAST";
}

std::string error_reason(std::string_view body) {
  const json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object()) {
    std::string out;
    for (const char* k : {"errCode", "error", "message", "errorDetail"}) {
      if (const auto it = j.find(k); it != j.end() && it->is_string()) {
        out += (out.empty() ? "" : ": ") + it->get<std::string>();
      }
    }
    if (!out.empty()) {
      return out;
    }
  }
  return std::string(body.substr(0, 200));
}

std::vector<unsigned char> base64_decode(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') {
      break;
    }
    const char* p = c == '\0' ? nullptr : std::strchr(kAlphabet, c);
    if (p == nullptr) {
      throw MalformedResponse("invalid base64");
    }
    v = (v << 6) | static_cast<unsigned>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(v >> bits));
    }
  }
  return out;
}

std::string hex_encode(const std::vector<unsigned char>& bytes) {
  static const char* d = "0123456789abcdef";
  std::string s = "0x";
  for (unsigned char b : bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

}  // namespace socialai::farcaster
