// The Farcaster Hub HTTP API simulator (mount /farcaster), in the Snapchain or the Hubble
// dialect: routing, /v1/info, errors and the test controls; the per-fid listings are in
// farcaster_listings.cpp, the event stream and fid listing in farcaster_feed.cpp, and
// docs/farcaster.md lists the details in which the two hubs differ and how sure each one is.
#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"
#include "devnet/farcaster_data.h"
#include "devnet/farcaster_feed.h"
#include "devnet/farcaster_listings.h"
#include "devnet/farcaster_messages.h"

namespace socialai::devnet {
namespace {

using json = nlohmann::json;
using fc::Account;

using fc::Dialect;

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
      if (auto listing = listings_.handle(req, dialect_)) {
        return std::move(*listing);
      }
      return not_found(req);
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

  Dialect dialect_;
  fc::DataSet data_;
  fc::EventFeed feed_;
  bool no_events_;
  fc::Listings listings_{data_};
  std::map<std::string, std::uint64_t> requests_;  // per route, for GET /_devnet/farcaster/stats
};

}  // namespace

std::unique_ptr<Service> make_farcaster_service(Options& options, std::uint64_t seed) {
  return std::make_unique<FarcasterService>(options, seed);
}

}  // namespace socialai::devnet
