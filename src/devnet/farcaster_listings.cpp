// The Farcaster devnet's per-fid listings (see farcaster_listings.h).
#include "devnet/farcaster_listings.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

namespace socialai::devnet::fc {
namespace {

using json = nlohmann::json;

constexpr std::size_t kDefaultPageSize = 100;
constexpr std::size_t kMaxPageSize = 10000;

// A page token is the key of the last message served: 4-byte timestamp + 20-byte hash, base64,
// like the hubs' opaque tokens (which are store keys).
struct Key {
  std::uint32_t ts = 0;
  std::string hash;
  bool operator<(const Key& o) const { return std::tie(ts, hash) < std::tie(o.ts, o.hash); }
};

std::string encode_token(const Key& k) {
  std::vector<unsigned char> b = {
      static_cast<unsigned char>(k.ts >> 24), static_cast<unsigned char>(k.ts >> 16),
      static_cast<unsigned char>(k.ts >> 8), static_cast<unsigned char>(k.ts)};
  const auto h = hex_bytes(k.hash);
  b.insert(b.end(), h.begin(), h.end());
  return base64(b);
}

Key decode_token(std::string token) {
  std::replace(token.begin(), token.end(), ' ', '+');  // '+' arrives as a space, as on the hubs
  const auto b = fc::unbase64(token);
  if (b.size() != 24) {
    throw std::invalid_argument("invalid pageToken");
  }
  Key k;
  k.ts =
      (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
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

}  // namespace

std::optional<Response> Listings::handle(const Request& req, Dialect dialect) {
  dialect_ = dialect;
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
  return std::nullopt;
}

const Account* Listings::account(const Request& req) const {
  const auto fid = req.param("fid");
  if (!fid || fid->empty()) {
    throw std::invalid_argument(dialect_ == Dialect::kHubble
                                    ? "fid is missing"
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
    throw std::invalid_argument("invalid fid: " + *fid);
  }
  return data_.account(n);  // nullptr: an fid without messages, answered with an empty page
}

bool Listings::reverse(const Request& req) const {
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
  throw std::invalid_argument(
      "Failed to deserialize query string: reverse: provided string was not "
      "`true` or `false`");
}

// One page of `items` (sorted by key ascending), rendered by `render(item)`.
template <typename Item, typename Render>
Response Listings::page(const Request& req, const std::vector<const Item*>& items,
                        Render render) const {
  std::size_t size = kDefaultPageSize;
  const auto ps = req.param("pageSize") ? req.param("pageSize") : req.param("page_size");
  if (ps && !ps->empty()) {
    try {
      size = std::clamp<std::size_t>(std::stoul(*ps), 1, kMaxPageSize);
    } catch (const std::exception&) {
      throw std::invalid_argument("invalid pageSize: " + *ps);
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

Response Listings::casts(const Request& req) const {
  const Account* a = account(req);
  const auto items = select(a, &Account::cast_log, kAll);
  return page(req, items, [this, a](const CastEntry& e) -> const std::string& {
    auto [cached, fresh] = cast_text_.try_emplace(e.hash);
    if (fresh) {
      cached->second = render_cast(a, e).dump();
    }
    return cached->second;
  });
}

json Listings::render_cast(const Account* a, const CastEntry& e) {
  const Cast& c = a->casts[e.cast];
  return e.remove ? cast_remove_message(c) : cast_add_message(c);
}

Response Listings::user_data(const Request& req) const {
  const Account* a = account(req);
  auto items = select(a, &Account::user_data, kAll);
  {
    std::sort(items.begin(), items.end(), [](const auto* x, const auto* y) {
      return Key{x->ts, x->hash} < Key{y->ts, y->hash};
    });
  }
  const std::uint64_t fid = a != nullptr ? a->fid : 0;
  return page(req, items, [fid](const UserData& u) { return user_data_message(fid, u).dump(); });
}

// Snapchain: reaction_type is required and parsed as the enum's variant name (Like, Recast);
// Hubble: optional, the protobuf name (REACTION_TYPE_LIKE) or number; anything else (even
// "Like") matches nothing it knows, so Hubble filters by no type at all.
int Listings::reaction_filter(const Request& req) const {
  const auto t = req.param("reaction_type");
  if (dialect_ == Dialect::kSnapchain) {
    if (!t) {
      throw std::invalid_argument(
          "Failed to deserialize query string: missing field `reaction_type`");
    }
    if (*t == "Like") {
      return 1;
    }
    if (*t == "Recast") {
      return 2;
    }
    throw std::invalid_argument(
        "Failed to deserialize query string: reaction_type: unknown variant `" + *t +
        "`, expected one of `None`, `Like`, `Recast`");
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

Response Listings::reactions(const Request& req) const {
  const Account* a = account(req);
  const int type = reaction_filter(req);
  const auto items = select(a, &Account::reactions, [type](const Reaction& r) {
    return !r.removed && (type == 0 || r.type == type);
  });
  return page(req, items, [](const Reaction& r) { return reaction_message(r).dump(); });
}

Response Listings::links(const Request& req) const {
  const Account* a = account(req);
  const auto t = req.param("link_type");
  const bool follows = !t || *t == "follow";
  const auto items =
      select(a, &Account::links, [follows](const Link& l) { return follows && !l.removed; });
  return page(req, items, [](const Link& l) { return link_message(l).dump(); });
}

Response Listings::verifications(const Request& req) const {
  const Account* a = account(req);
  const auto items = select(a, &Account::verifications, kAll);
  const std::uint64_t fid = a != nullptr ? a->fid : 0;
  const Dialect d = dialect_;
  return page(req, items,
              [fid, d](const Verification& v) { return verification_message(fid, v, d).dump(); });
}

}  // namespace socialai::devnet::fc
