// The Farcaster Hub HTTP API simulator (mount /farcaster), in the Snapchain or the Hubble
// dialect: message envelopes, per-fid listings with pageSize/pageToken/reverse, and the details
// in which the two hubs differ (docs/farcaster.md lists them and how sure each one is).
#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"
#include "devnet/farcaster_data.h"

namespace socialai::devnet {
namespace {

using json = nlohmann::json;
using fc::Account;

enum class Dialect { kSnapchain, kHubble };

constexpr std::size_t kDefaultPageSize = 100;
constexpr std::size_t kMaxPageSize = 10000;

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
    const unsigned v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = in[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (in[i] << 16) | (in[i + 1] << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::vector<unsigned char> unbase64(const std::string& in) {
  std::vector<unsigned char> out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                c);
    if (c == '=') {
      break;
    }
    if (p == nullptr || c == '\0') {
      throw std::invalid_argument("invalid base64 in pageToken");
    }
    v = (v << 6) | static_cast<unsigned>(p - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                "0123456789+/");
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

// A page token is the key of the last message served: 4-byte timestamp + 20-byte hash, base64,
// like the hubs' opaque tokens (which are store keys).
struct Key {
  std::uint32_t ts = 0;
  std::string hash;
  bool operator<(const Key& o) const { return std::tie(ts, hash) < std::tie(o.ts, o.hash); }
};

std::string encode_token(const Key& k) {
  std::vector<unsigned char> b = {static_cast<unsigned char>(k.ts >> 24),
                                  static_cast<unsigned char>(k.ts >> 16),
                                  static_cast<unsigned char>(k.ts >> 8),
                                  static_cast<unsigned char>(k.ts)};
  const auto h = hex_bytes(k.hash);
  b.insert(b.end(), h.begin(), h.end());
  return base64(b);
}

Key decode_token(std::string token) {
  std::replace(token.begin(), token.end(), ' ', '+');  // '+' arrives as a space, as on the hubs
  const auto b = unbase64(token);
  if (b.size() != 24) {
    throw std::invalid_argument("invalid pageToken");
  }
  Key k;
  k.ts = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
  static const char* d = "0123456789abcdef";
  k.hash = "0x";
  for (std::size_t i = 4; i < b.size(); ++i) {
    k.hash += d[b[i] >> 4];
    k.hash += d[b[i] & 15];
  }
  return k;
}

// Pointers to the elements of `v` that `keep` accepts (an account's listing, filtered).
template <typename T, typename Keep>
std::vector<const T*> select(const Account* a, const std::vector<T> Account::*list, Keep keep) {
  std::vector<const T*> out;
  if (a != nullptr) {
    for (const T& x : a->*list) {
      if (keep(x)) {
        out.push_back(&x);
      }
    }
  }
  return out;
}

constexpr auto kAll = [](const auto&) { return true; };

class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FarcasterService : public Service {
 public:
  FarcasterService(Options& options, std::uint64_t seed)
      : dialect_(parse_dialect(options.str("farcaster-dialect", "snapchain"))),
        data_(sizes(options), seed) {}

  std::string name() const override { return "farcaster"; }
  std::string mount() const override { return "/farcaster"; }

  Response handle(const Request& req) override {
    try {
      if (req.method != "GET") {
        return not_found(req);
      }
      if (req.path == "/v1/info") {
        return Response::json(200, info());
      }
      if (req.path == "/v1/castsByFid") {
        return casts(req);
      }
      if (req.path == "/v1/userDataByFid") {
        return user_data(req);
      }
      if (req.path == "/v1/reactionsByFid") {
        return reactions(req);
      }
      if (req.path == "/v1/linksByFid") {
        return links(req);
      }
      if (req.path == "/v1/verificationsByFid") {
        return verifications(req);
      }
      return not_found(req);
    } catch (const BadRequest& e) {
      return error(e.what());
    } catch (const std::invalid_argument& e) {
      return error(e.what());
    }
  }

  Response control(const Request& req) override {
    try {
      if (req.path == "/truth") {
        const auto full = req.param("full");
        json t = data_.truth(full.has_value() && *full != "0" && *full != "false");
        t["dialect"] = dialect_name(dialect_);
        t["users"] = data_.users();
        return Response::json(200, t);
      }
      if (req.path == "/dialect") {
        if (req.method == "POST") {
          const json body = json::parse(req.body);
          dialect_ = parse_dialect(body.at("dialect").get<std::string>());
        }
        return Response::json(200, {{"dialect", dialect_name(dialect_)}});
      }
      if (req.path == "/grow" && req.method == "POST") {
        const json body = req.body.empty() ? json::object() : json::parse(req.body);
        const auto fids = body.value("fids", std::vector<std::uint64_t>{});
        const auto [added, removed] =
            data_.grow(body.value("casts", 1), body.value("removes", 0), fids);
        return Response::json(200, {{"added", added}, {"removed", removed}});
      }
    } catch (const std::exception& e) {
      return Response::json(400, {{"error", e.what()}});
    }
    return Response::json(404, {{"error", "farcaster controls: GET truth[?full=1], "
                                          "GET|POST dialect, POST grow"}});
  }

 private:
  static fc::Sizes sizes(Options& o) {
    fc::Sizes s;
    s.users = o.integer("farcaster-users", s.users);
    s.casts_per_user = o.integer("farcaster-casts-per-user", s.casts_per_user);
    s.reactions_per_user = o.integer("farcaster-reactions-per-user", s.reactions_per_user);
    s.url_reactions_per_user =
        o.integer("farcaster-url-reactions-per-user", s.url_reactions_per_user);
    s.follows_per_user = o.integer("farcaster-follows-per-user", s.follows_per_user);
    s.removes = o.real("farcaster-removes", s.removes);
    return s;
  }

  // Hubble answers HubError objects (httpServer.ts sends JSON.stringify(err) with 400);
  // Snapchain's shape is documented in docs/farcaster.md as our best reading.
  Response error(const std::string& message) const {
    if (dialect_ == Dialect::kHubble) {
      return Response::json(400, {{"errCode", "bad_request.validation_failure"},
                                  {"presentable", false},
                                  {"name", "HubError"},
                                  {"message", message}});
    }
    return Response::json(400, {{"error", "bad_request.validation_failure"},
                                {"errorDetail", message}});
  }

  Response not_found(const Request& req) const {
    if (dialect_ == Dialect::kHubble) {  // fastify's default 404
      return Response::json(404, {{"message", "Route " + req.method + ":" + req.path +
                                                  " not found"},
                                  {"error", "Not Found"},
                                  {"statusCode", 404}});
    }
    return Response::json(404, {{"error", "not_found"}, {"errorDetail", "no route " + req.path}});
  }

  json info() const {
    std::size_t messages = 0;
    for (std::uint64_t f = 1; f <= data_.users(); ++f) {
      const Account* a = data_.account(f);
      messages += a->cast_log.size() + a->reactions.size() + a->links.size() +
                  a->user_data.size() + a->verifications.size();
    }
    const json stats = {{"numMessages", messages},
                        {"numFidRegistrations", data_.users()},
                        {"approxSize", messages * 200}};
    if (dialect_ == Dialect::kHubble) {
      return {{"version", "1.19.2"},  {"isSyncing", false},
              {"nickname", "socialai-devnet"}, {"rootHash", "0x00"},
              {"dbStats", stats},    {"peerId", "12D3KooWDevnetHubble"},
              {"hubOperatorFid", 1}};
    }
    return {{"dbStats", stats},
            {"numShards", 1},
            {"shardInfos", json::array({{{"shardId", 1},
                                         {"maxHeight", 1000},
                                         {"numMessages", messages},
                                         {"numFidRegistrations", data_.users()},
                                         {"approxSize", messages * 200},
                                         {"blockDelay", 0},
                                         {"mempoolSize", 0}}})},
            {"version", "0.9.0"},
            {"peer_id", "12D3KooWDevnetSnapchain"},
            {"nextEngineVersionTimestamp", 0}};
  }

  const Account* account(const Request& req) const {
    const auto fid = req.param("fid");
    if (!fid || fid->empty()) {
      throw BadRequest(dialect_ == Dialect::kHubble ? "fid is missing"
                                                    : "Failed to deserialize query string: "
                                                      "missing field `fid`");
    }
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
      n = std::stoull(*fid, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != fid->size()) {
      throw BadRequest("invalid fid: " + *fid);
    }
    return data_.account(n);  // nullptr: an fid without messages, answered with an empty page
  }

  bool reverse(const Request& req) const {
    const auto r = req.param("reverse");
    if (!r) {
      return false;
    }
    if (dialect_ == Dialect::kHubble) {
      // httpServer.ts: `reverse: query.reverse ? true : undefined` on the raw string, so any
      // non-empty value (even "0" or "false") asks for newest first.
      return !r->empty();
    }
    if (*r == "true") {
      return true;
    }
    if (*r == "false") {
      return false;
    }
    throw BadRequest("Failed to deserialize query string: reverse: provided string was not "
                     "`true` or `false`");
  }

  // One page of `items` (sorted by key ascending), rendered by `render(item)`.
  template <typename Item, typename Render>
  Response page(const Request& req, const std::vector<const Item*>& items, Render render) const {
    std::size_t size = kDefaultPageSize;
    const auto ps = req.param("pageSize") ? req.param("pageSize") : req.param("page_size");
    if (ps && !ps->empty()) {
      try {
        size = std::clamp<std::size_t>(std::stoul(*ps), 1, kMaxPageSize);
      } catch (const std::exception&) {
        throw BadRequest("invalid pageSize: " + *ps);
      }
    }
    const bool rev = reverse(req);
    const auto tok = req.param("pageToken") ? req.param("pageToken") : req.param("page_token");
    std::optional<Key> after;
    if (tok && !tok->empty()) {
      after = decode_token(*tok);
    }
    std::vector<const Item*> order = items;
    if (rev) {
      std::reverse(order.begin(), order.end());
    }
    // Pages are assembled from each message's serialised text (cached for casts), so the
    // simulator stays cheap next to the worker it measures.
    std::string body = "{\"messages\":[";
    std::size_t n = 0;
    Key last;
    for (const Item* it : order) {
      const Key k{it->ts, it->hash};
      if (after && (rev ? !(k < *after) : !(*after < k))) {
        continue;
      }
      body += n == 0 ? "" : ",";
      body += render(*it);
      last = k;
      if (++n == size) {
        break;
      }
    }
    body += "]";
    // Both hubs hand out a token whenever the page is full, even if nothing follows. The last
    // page: Hubble serialises the empty token as "" (ts-proto bytes), Snapchain omits the field.
    if (n == size) {
      body += ",\"nextPageToken\":\"" + encode_token(last) + "\"";
    } else if (dialect_ == Dialect::kHubble) {
      body += ",\"nextPageToken\":\"\"";
    }
    Response r;
    r.body = body + "}";
    return r;
  }

  static json envelope(const char* type, std::uint64_t fid, std::uint32_t ts,
                       const std::string& hash, const char* body_key, json body) {
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

  Response casts(const Request& req) const {
    const Account* a = account(req);
    const auto items = select(a, &Account::cast_log, kAll);
    return page(req, items, [this, a](const fc::CastEntry& e) -> const std::string& {
      auto [cached, fresh] = cast_text_.try_emplace(e.hash);
      if (fresh) {
        cached->second = render_cast(a, e).dump();
      }
      return cached->second;
    });
  }

  static json render_cast(const Account* a, const fc::CastEntry& e) {
      const fc::Cast& c = a->casts[e.cast];
      if (e.remove) {
        // targetHash stays base64 on both hubs (Snapchain: serdebase64; Hubble's transformHash
        // converts only keys named hash/address/signer/...).
        return envelope("MESSAGE_TYPE_CAST_REMOVE", c.fid, e.ts, e.hash, "castRemoveBody",
                        {{"targetHash", base64(hex_bytes(c.hash))}});
      }
      json embeds = json::array();
      for (const auto& u : c.embed_urls) {
        embeds.push_back({{"url", u}});
      }
      for (const auto& r : c.embed_casts) {
        embeds.push_back({{"castId", {{"fid", r.fid}, {"hash", r.hash}}}});
      }
      json body = {{"embedsDeprecated", json::array()},
                   {"mentions", c.mentions},
                   {"text", c.text},
                   {"mentionsPositions", c.mention_positions},
                   {"embeds", std::move(embeds)},
                   {"type", "CAST"}};
      if (c.parent) {
        body["parentCastId"] = {{"fid", c.parent->fid}, {"hash", c.parent->hash}};
      }
      if (c.parent_url) {
        body["parentUrl"] = *c.parent_url;
      }
      return envelope("MESSAGE_TYPE_CAST_ADD", c.fid, c.ts, c.hash, "castAddBody",
                      std::move(body));
  }

  Response user_data(const Request& req) const {
    const Account* a = account(req);
    auto items = select(a, &Account::user_data, kAll);
    {
      std::sort(items.begin(), items.end(), [](const auto* x, const auto* y) {
        return Key{x->ts, x->hash} < Key{y->ts, y->hash};
      });
    }
    const std::uint64_t fid = a != nullptr ? a->fid : 0;
    return page(req, items, [fid](const fc::UserData& u) {
      return envelope("MESSAGE_TYPE_USER_DATA_ADD", fid, u.ts, u.hash, "userDataBody",
                      {{"type", u.type}, {"value", u.value}})
          .dump();
    });
  }

  // Snapchain: reaction_type is required and parsed as the enum's variant name (Like, Recast);
  // Hubble: optional, the protobuf name (REACTION_TYPE_LIKE) or number; anything else (even
  // "Like") matches nothing it knows, so Hubble filters by no type at all.
  int reaction_filter(const Request& req) const {
    const auto t = req.param("reaction_type");
    if (dialect_ == Dialect::kSnapchain) {
      if (!t) {
        throw BadRequest("Failed to deserialize query string: missing field `reaction_type`");
      }
      if (*t == "Like") {
        return 1;
      }
      if (*t == "Recast") {
        return 2;
      }
      throw BadRequest("Failed to deserialize query string: reaction_type: unknown variant `" +
                       *t + "`, expected one of `None`, `Like`, `Recast`");
    }
    if (!t) {
      return 0;
    }
    if (*t == "REACTION_TYPE_LIKE" || *t == "1") {
      return 1;
    }
    if (*t == "REACTION_TYPE_RECAST" || *t == "2") {
      return 2;
    }
    return 0;
  }

  Response reactions(const Request& req) const {
    const Account* a = account(req);
    const int type = reaction_filter(req);
    const auto items = select(a, &Account::reactions, [type](const fc::Reaction& r) {
      return !r.removed && (type == 0 || r.type == type);
    });
    return page(req, items, [](const fc::Reaction& r) {
      json body = {{"type", r.type == 1 ? "REACTION_TYPE_LIKE" : "REACTION_TYPE_RECAST"}};
      if (r.target_url.empty()) {
        body["targetCastId"] = {{"fid", r.target.fid}, {"hash", r.target.hash}};
      } else {
        body["targetUrl"] = r.target_url;  // the protobuf oneof: one target or the other
      }
      return envelope("MESSAGE_TYPE_REACTION_ADD", r.fid, r.ts, r.hash, "reactionBody",
                      std::move(body))
          .dump();
    });
  }

  Response links(const Request& req) const {
    const Account* a = account(req);
    const auto t = req.param("link_type");
    const bool follows = !t || *t == "follow";
    const auto items =
        select(a, &Account::links, [follows](const fc::Link& l) { return follows && !l.removed; });
    return page(req, items, [](const fc::Link& l) {
      return envelope("MESSAGE_TYPE_LINK_ADD", l.fid, l.ts, l.hash, "linkBody",
                      {{"type", "follow"}, {"targetFid", l.target}})
          .dump();
    });
  }

  Response verifications(const Request& req) const {
    const Account* a = account(req);
    const auto items = select(a, &Account::verifications, kAll);
    const std::uint64_t fid = a != nullptr ? a->fid : 0;
    const bool hubble = dialect_ == Dialect::kHubble;
    return page(req, items, [fid, hubble](const fc::Verification& v) {
      // Hubble's transformHash turns every "address" from base64 into 0x-hex, Solana's too.
      std::string address = v.address;
      if (v.solana && hubble) {
        static const char* d = "0123456789abcdef";
        address = "0x";
        for (unsigned char b : v.raw) {
          address += d[b >> 4];
          address += d[b & 15];
        }
      }
      return envelope("MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS", fid, v.ts, v.hash,
                      "verificationAddAddressBody",
                      {{"address", address},
                       {"claimSignature", base64(std::vector<unsigned char>(65, 0x11))},
                       {"blockHash", v.block_hash},
                       {"type", 0},
                       {"chainId", 0},
                       {"protocol", v.solana ? "PROTOCOL_SOLANA" : "PROTOCOL_ETHEREUM"}})
          .dump();
    });
  }

  Dialect dialect_;
  fc::DataSet data_;
  mutable std::unordered_map<std::string, std::string> cast_text_;  // message hash → serialised JSON
};

}  // namespace

std::unique_ptr<Service> make_farcaster_service(Options& options, std::uint64_t seed) {
  return std::make_unique<FarcasterService>(options, seed);
}

}  // namespace socialai::devnet
