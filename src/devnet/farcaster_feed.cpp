// The Farcaster devnet's network activity and its event and fid listings (see farcaster_feed.h).
#include "devnet/farcaster_feed.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace socialai::devnet::fc {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxCastTimes = 1000000;
constexpr std::uint64_t kMaxEventsPerTick = 50000;

struct Weighted {
  const char* name;
  ChangeKind kind;
  unsigned weight;  // per 100 generated events
};

constexpr Weighted kMix[] = {{"cast_add", ChangeKind::kCastAdd, 40},
                             {"cast_remove", ChangeKind::kCastRemove, 5},
                             {"cast_prune", ChangeKind::kCastPrune, 2},
                             {"reaction_add", ChangeKind::kReactionAdd, 30},
                             {"reaction_remove", ChangeKind::kReactionRemove, 5},
                             {"reaction_revoke", ChangeKind::kReactionRevoke, 2},
                             {"link_add", ChangeKind::kLinkAdd, 8},
                             {"link_remove", ChangeKind::kLinkRemove, 3},
                             {"user_data", ChangeKind::kUserData, 5}};

ChangeKind kind_named(const std::string& name) {
  for (const auto& w : kMix) {
    if (name == w.name) {
      return w.kind;
    }
  }
  throw std::invalid_argument("unknown event kind '" + name + "'");
}

std::uint64_t number(const Request& req, const char* name, std::uint64_t fallback) {
  const auto v = req.param(name);
  if (!v || v->empty()) {
    return fallback;
  }
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || (*v)[0] == '-') {
    throw std::invalid_argument(std::string("invalid ") + name + ": " + *v);
  }
  return n;
}

std::size_t page_size(const Request& req, std::size_t fallback) {
  const auto ps = req.param("pageSize") ? "pageSize" : "page_size";
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(number(req, ps, fallback), 1, 10000));
}

}  // namespace

EventFeed::EventFeed(DataSet& data, Dialect dialect, FeedOptions options, std::uint64_t seed)
    : data_(data),
      options_(options),
      log_(dialect, options.shards, options.retention),
      state_(seed * 0x9e3779b97f4a7c15ULL + 0xfeed),
      rate_start_(Clock::now()) {
  if (options_.actors == 0 || options_.actors > data_.network()) {
    options_.actors = data_.network();
  }
}

std::uint64_t EventFeed::next() {  // splitmix64, apart from the data set's generator
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

ChangeKind EventFeed::pick_kind() {
  unsigned r = static_cast<unsigned>(next() % 100);
  for (const auto& w : kMix) {
    if (r < w.weight) {
      return w.kind;
    }
    r -= w.weight;
  }
  return ChangeKind::kCastAdd;
}

std::uint64_t EventFeed::apply(ChangeKind kind, std::uint64_t fid, Clock::time_point when,
                               std::int64_t late_ms) {
  std::vector<Change> profile;
  auto change = data_.change(kind, fid, &profile);
  for (const Change& c : profile) {
    log_.append(data_, c, when);
  }
  if (!change) {
    change = data_.change(ChangeKind::kCastAdd, fid);
  }
  const std::uint64_t id = log_.append(data_, *change, when, late_ms);
  if (change->kind == ChangeKind::kCastAdd) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
    cast_times_.emplace_back(data_.account(fid)->casts[change->index].hash, ms);
    if (cast_times_.size() > kMaxCastTimes) {
      cast_times_.pop_front();
      ++cast_times_dropped_;
    }
  }
  return id;
}

void EventFeed::tick(Clock::time_point now) {
  if (options_.rate <= 0 || now <= rate_start_) {
    return;
  }
  const double elapsed = std::chrono::duration<double>(now - rate_start_).count();
  const auto due = static_cast<std::uint64_t>(std::floor(elapsed * options_.rate));
  const std::uint64_t limit = std::min(due, rate_generated_ + kMaxEventsPerTick);
  while (rate_generated_ < limit) {
    // Each event carries the time it was due, so freshness is measured from there. The
    // profile events of a fid acting for the first time count towards the rate too.
    const auto when =
        rate_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                          static_cast<double>(rate_generated_ + 1) / options_.rate));
    const bool late = static_cast<double>(next() % 1000000) < options_.late_share * 1e6;
    const std::uint64_t before = log_.appended();
    apply(pick_kind(), 1 + next() % options_.actors, when, late ? options_.late_ms : 0);
    rate_generated_ += log_.appended() - before;
  }
}

Response EventFeed::events(const Request& req) const {
  const std::uint64_t from = number(req, "from_event_id", 0);
  const auto shard =
      log_.dialect() == Dialect::kSnapchain
          ? static_cast<int>(std::min<std::uint64_t>(number(req, "shard_index", 0), 1000))
          : 0;
  Response r;
  r.body = log_.page(shard, from, page_size(req, 1000));
  return r;
}

Response EventFeed::fids(const Request& req) const {
  // Snapchain lists one shard's fids (shard_id); Hubble every fid. The page token is the last
  // fid served, base64 of its decimal digits (opaque to clients, as the hubs' tokens are).
  const bool snapchain = log_.dialect() == Dialect::kSnapchain;
  const auto shard =
      static_cast<int>(number(req, req.param("shard_index") ? "shard_index" : "shard_id", 0));
  if (snapchain && (shard < 1 || shard > log_.shards())) {
    throw std::invalid_argument("shard_id must be 1.." + std::to_string(log_.shards()));
  }
  const std::size_t size = page_size(req, 100);
  std::uint64_t after = 0;
  const auto tok = req.param("pageToken") ? req.param("pageToken") : req.param("page_token");
  if (tok && !tok->empty()) {
    std::string t = *tok;
    std::replace(t.begin(), t.end(), ' ', '+');  // '+' arrives as a space, as on the hubs
    const auto bytes = unbase64(t);
    const std::string digits(bytes.begin(), bytes.end());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw std::invalid_argument("invalid pageToken");
    }
    after = std::stoull(digits);
  }
  json fids = json::array();
  std::uint64_t last = 0;
  for (std::uint64_t f = after + 1; f <= data_.network() && fids.size() < size; ++f) {
    if (!snapchain || log_.shard_of(f) == shard) {
      fids.push_back(f);
      last = f;
    }
  }
  json body = {{"fids", fids}};
  if (fids.size() == size) {
    const std::string d = std::to_string(last);
    body["nextPageToken"] = base64(std::vector<unsigned char>(d.begin(), d.end()));
  } else if (!snapchain) {
    body["nextPageToken"] = "";
  }
  return Response::json(200, body);
}

json EventFeed::shard_infos(std::size_t messages) const {
  json infos = json::array();
  const std::uint64_t h = log_.height(Clock::now());
  for (int s = 0; s <= log_.shards(); ++s) {
    infos.push_back(
        {{"shardId", s},
         {"maxHeight", h},
         {"numMessages", s == 0 ? 0 : messages / static_cast<std::size_t>(log_.shards())},
         {"numFidRegistrations",
          s == 0 ? 0 : data_.network() / static_cast<std::uint64_t>(log_.shards())},
         {"approxSize", messages * 200},
         {"blockDelay", 0},
         {"mempoolSize", 0}});
  }
  return infos;
}

Response EventFeed::control(const Request& req) {
  const json body = req.body.empty() ? json::object() : json::parse(req.body);
  const auto now = Clock::now();
  if (req.path == "/events/rate" && req.method == "POST") {
    tick(now);
    options_.rate = std::max(0.0, body.value("rate", options_.rate));
    options_.late_share = std::clamp(body.value("late_share", options_.late_share), 0.0, 1.0);
    rate_start_ = now;
    rate_generated_ = 0;
    return Response::json(200, {{"rate", options_.rate}, {"late_share", options_.late_share}});
  }
  if (req.path == "/events/times") {  // cast adds and when they were appended, from `since`
    const std::uint64_t since = number(req, "since", 0);
    json casts = json::array();
    for (std::uint64_t i = std::max(since, cast_times_dropped_);
         i < cast_times_dropped_ + cast_times_.size(); ++i) {
      const auto& [hash, ms] = cast_times_[i - cast_times_dropped_];
      casts.push_back({hash, ms});
    }
    return Response::json(200,
                          {{"casts", casts}, {"next", cast_times_dropped_ + cast_times_.size()}});
  }
  if (req.path == "/events" && req.method == "POST") {
    // {"count": N, "fids": [...], "kinds": ["cast_add", ...], "late": k, "late_ms": ms}: N
    // events now, by those fids in turn (default 1..actors), of those kinds in turn (default
    // the usual mix); the last k of them late.
    const auto count = body.value("count", std::uint64_t{1});
    const auto fids = body.value("fids", std::vector<std::uint64_t>{});
    const auto kinds = body.value("kinds", std::vector<std::string>{});
    const auto late = body.value("late", std::uint64_t{0});
    const auto late_ms = body.value("late_ms", options_.late_ms);
    tick(now);
    json ids = json::array();
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t fid = fids.empty() ? 1 + next() % options_.actors : fids[i % fids.size()];
      const ChangeKind kind = kinds.empty() ? pick_kind() : kind_named(kinds[i % kinds.size()]);
      ids.push_back(apply(kind, fid, now, i + late >= count ? late_ms : 0));
    }
    return Response::json(200, {{"ids", ids}, {"appended", log_.appended()}});
  }
  if (req.path == "/events") {
    tick(now);
    return Response::json(200, {{"appended", log_.appended()},
                                {"late", log_.late()},
                                {"rate", options_.rate},
                                {"shards", log_.shards()},
                                {"height", log_.height(now)}});
  }
  return Response::json(404, {{"error",
                               "farcaster event controls: GET|POST events, "
                               "POST events/rate, GET events/times?since=N"}});
}

}  // namespace socialai::devnet::fc
