// The Farcaster Hub HTTP API simulator (mount /farcaster), in the Snapchain or the Hubble
// dialect: per-fid listings with pageSize/pageToken/reverse, the event stream and fid listing
// (farcaster_feed.cpp), and the details in which the two hubs differ (docs/farcaster.md lists
// them and how sure each one is).
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"
#include "devnet/farcaster_data.h"
#include "devnet/farcaster_feed.h"
#include "devnet/farcaster_messages.h"

namespace socialai::devnet {
namespace {

using json = nlohmann::json;
using fc::Account;

using fc::base64;
using fc::Dialect;
using fc::hex_bytes;

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

class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FarcasterService : public Service {
 public:
  FarcasterService(Options& options, std::uint64_t seed)
      : dialect_(fc::parse_dialect(options.str("farcaster-dialect", "snapchain"))),
        data_(sizes(options), seed),
        feed_(data_, dialect_, feed_options(options), seed),
        // An older hub without the event stream's HTTP route: /v1/events answers 404.
        no_events_(options.boolean("farcaster-no-events", false)) {}

  std::string name() const override { return "farcaster"; }
  std::string mount() const override { return "/farcaster"; }

  Response handle(const Request& req) override {
    ++requests_[req.path];
    try {
      feed_.tick(fc::EventFeed::Clock::now());
      if (req.method != "GET") {
        return not_found(req);
      }
      if (req.path == "/v1/info") {
        return Response::json(200, info());
      }
      if (req.path == "/v1/events" && !no_events_) {
        return feed_.events(req);
      }
      if (req.path == "/v1/fids") {
        return feed_.fids(req);
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
      feed_.tick(fc::EventFeed::Clock::now());
      if (req.path == "/truth") {
        const auto full = req.param("full");
        const auto only = req.param("fids");
        std::vector<std::uint64_t> fids;
        if (only && !only->empty()) {
          fids = json::parse("[" + *only + "]").get<std::vector<std::uint64_t>>();
        }
        json t = data_.truth(full.has_value() && *full != "0" && *full != "false", fids);
        t["dialect"] = fc::dialect_name(dialect_);
        t["users"] = data_.users();
        t["network"] = data_.network();
        return Response::json(200, t);
      }
      if (req.path == "/dialect") {
        if (req.method == "POST") {
          const json body = json::parse(req.body);
          const Dialect d = fc::parse_dialect(body.at("dialect").get<std::string>());
          if (d != dialect_) {
            feed_.reset(d);
          }
          dialect_ = d;
        }
        return Response::json(200, {{"dialect", fc::dialect_name(dialect_)}});
      }
      if (req.path == "/grow" && req.method == "POST") {
        return grow(req.body.empty() ? json::object() : json::parse(req.body));
      }
      if (req.path == "/stats") {
        return Response::json(200, {{"requests", requests_}});
      }
      if (req.path.rfind("/events", 0) == 0) {
        return feed_.control(req);
      }
    } catch (const std::exception& e) {
      return Response::json(400, {{"error", e.what()}});
    }
    return Response::json(404, {{"error",
                                 "farcaster controls: GET truth[?full=1&fids=1,2], "
                                 "GET|POST dialect, POST grow, GET stats, "
                                 "GET|POST events, POST events/rate, "
                                 "GET events/times"}});
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
    s.network = o.integer("farcaster-network", s.network);
    return s;
  }

  static fc::FeedOptions feed_options(Options& o) {
    fc::FeedOptions f;
    f.rate = o.real("farcaster-event-rate", f.rate);
    f.late_share = o.real("farcaster-late-share", f.late_share);
    f.late_ms = o.integer("farcaster-late-ms", f.late_ms);
    f.shards = static_cast<int>(o.integer("farcaster-shards", f.shards));
    f.actors = static_cast<std::uint64_t>(o.integer("farcaster-event-fids", 0));
    f.retention = static_cast<std::size_t>(
        o.integer("farcaster-event-retention", static_cast<std::int64_t>(f.retention)));
    if (f.rate < 0 || f.late_share < 0 || f.late_share > 1 || f.late_ms < 0 || f.shards < 1 ||
        f.shards > 64) {
      throw std::invalid_argument("farcaster: bad event flags");
    }
    return f;
  }

  // {"casts": n, "removes": k, "fids": [...]}: removes the k oldest live casts and appends n
  // casts for each fid (all when absent), each change recorded in the event stream too.
  Response grow(const json& body) {
    auto fids = body.value("fids", std::vector<std::uint64_t>{});
    if (fids.empty()) {
      for (std::uint64_t f = 1; f <= data_.users(); ++f) {
        fids.push_back(f);
      }
    }
    const auto casts = body.value("casts", std::int64_t{1});
    const auto removes = body.value("removes", std::int64_t{0});
    std::int64_t added = 0, removed = 0;
    const auto now = fc::EventFeed::Clock::now();
    for (std::uint64_t f : fids) {
      if (data_.account(f) == nullptr) {
        throw std::invalid_argument("grow: unknown fid " + std::to_string(f));
      }
      for (std::int64_t i = 0; i < removes; ++i) {
        const fc::Account* a = data_.account(f);
        const bool any = std::any_of(a->casts.begin(), a->casts.end(),
                                     [](const fc::Cast& c) { return !c.removed && !c.pruned; });
        if (any) {
          feed_.apply(fc::ChangeKind::kCastRemove, f, now);
          ++removed;
        }
      }
      for (std::int64_t i = 0; i < casts; ++i) {
        feed_.apply(fc::ChangeKind::kCastAdd, f, now);
        ++added;
      }
    }
    return Response::json(200, {{"added", added}, {"removed", removed}});
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
    return Response::json(400,
                          {{"error", "bad_request.validation_failure"}, {"errorDetail", message}});
  }

  Response not_found(const Request& req) const {
    if (dialect_ == Dialect::kHubble) {  // fastify's default 404
      return Response::json(404,
                            {{"message", "Route " + req.method + ":" + req.path + " not found"},
                             {"error", "Not Found"},
                             {"statusCode", 404}});
    }
    return Response::json(404, {{"error", "not_found"}, {"errorDetail", "no route " + req.path}});
  }

  json info() const {
    std::size_t messages = 0;
    for (std::uint64_t f = 1; f <= data_.network(); ++f) {
      if (const Account* a = data_.account(f)) {
        messages += a->cast_log.size() + a->reactions.size() + a->links.size() +
                    a->user_data.size() + a->verifications.size();
      }
    }
    const json stats = {{"numMessages", messages},
                        {"numFidRegistrations", data_.network()},
                        {"approxSize", messages * 200}};
    if (dialect_ == Dialect::kHubble) {
      return {{"version", "1.19.2"}, {"isSyncing", false}, {"nickname", "socialai-devnet"},
              {"rootHash", "0x00"},  {"dbStats", stats},   {"peerId", "12D3KooWDevnetHubble"},
              {"hubOperatorFid", 1}};
    }
    const json shards = feed_.shard_infos(messages);
    return {{"dbStats", stats},
            {"numShards", shards.size() - 1},  // shard 0 orders the others' blocks
            {"shardInfos", shards},
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
    throw BadRequest(
        "Failed to deserialize query string: reverse: provided string was not "
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
    return e.remove ? fc::cast_remove_message(c) : fc::cast_add_message(c);
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
    return page(req, items,
                [fid](const fc::UserData& u) { return fc::user_data_message(fid, u).dump(); });
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
      throw BadRequest("Failed to deserialize query string: reaction_type: unknown variant `" + *t +
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

  Response reactions(const Request& req) const {
    const Account* a = account(req);
    const int type = reaction_filter(req);
    const auto items = select(a, &Account::reactions, [type](const fc::Reaction& r) {
      return !r.removed && (type == 0 || r.type == type);
    });
    return page(req, items, [](const fc::Reaction& r) { return fc::reaction_message(r).dump(); });
  }

  Response links(const Request& req) const {
    const Account* a = account(req);
    const auto t = req.param("link_type");
    const bool follows = !t || *t == "follow";
    const auto items =
        select(a, &Account::links, [follows](const fc::Link& l) { return follows && !l.removed; });
    return page(req, items, [](const fc::Link& l) { return fc::link_message(l).dump(); });
  }

  Response verifications(const Request& req) const {
    const Account* a = account(req);
    const auto items = select(a, &Account::verifications, kAll);
    const std::uint64_t fid = a != nullptr ? a->fid : 0;
    const Dialect d = dialect_;
    return page(req, items, [fid, d](const fc::Verification& v) {
      return fc::verification_message(fid, v, d).dump();
    });
  }

  Dialect dialect_;
  fc::DataSet data_;
  fc::EventFeed feed_;
  bool no_events_;
  std::map<std::string, std::uint64_t> requests_;  // per route, for GET /_devnet/farcaster/stats
  mutable std::unordered_map<std::string, std::string>
      cast_text_;  // message hash → serialised JSON
};

}  // namespace

std::unique_ptr<Service> make_farcaster_service(Options& options, std::uint64_t seed) {
  return std::make_unique<FarcasterService>(options, seed);
}

}  // namespace socialai::devnet
