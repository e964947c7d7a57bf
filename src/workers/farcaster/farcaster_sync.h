// FarcasterSync: the farcaster worker (SPEC §7): Hub HTTP API → external_posts, profiles,
// reactions, follows and wallets, for the configured fids plus every fid already known.
// HubSync is the per-fid logic without the runtime, so tests and the benchmark can drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/db.h"
#include "common/http_client.h"
#include "common/rate_limiter.h"
#include "common/worker_runtime.h"
#include "workers/farcaster/farcaster_store.h"
#include "workers/farcaster/hub_api.h"
#include "workers/farcaster/hub_settings.h"

namespace socialai::farcaster {

// A hub answer with a non-2xx status after the retries (4xx are not retried).
class HubStatusError : public std::runtime_error {
 public:
  HubStatusError(long http_status, const std::string& message)
      : std::runtime_error(message), status(http_status) {}
  long status;
};

struct FidResult {
  std::int64_t casts = 0;          // cast adds received
  std::int64_t casts_written = 0;  // rows inserted or changed
  std::int64_t casts_removed = 0;  // rows deleted by CAST_REMOVE
  std::int64_t pages = 0;
};

// Not thread-safe: one HubSync per thread (it owns an HttpClient and uses one Db).
class HubSync {
 public:
  HubSync(Db& db, std::string worker, HubSettings settings,
          std::function<bool()> stopping = nullptr);

  // The dialect in use: the configured one, else GET /v1/info once. Throws on failure.
  Dialect dialect();
  // Configured fids, then known farcaster profiles, deduplicated, at most `limit` (poll mode:
  // max_fids per cycle; events mode tracks them all).
  std::vector<std::uint64_t> fids_to_sync() { return fids_to_sync(settings_.max_fids); }
  std::vector<std::uint64_t> fids_to_sync(std::int64_t limit);
  // Profile, reactions, follows and wallets (one transaction), then casts from the stored
  // cursor, one transaction per page with its cursor. Throws (with the cause) on a failure
  // that outlasted the retries; what was committed before stays consistent.
  FidResult sync_fid(std::uint64_t fid);

  // GET hub_url + path_query; `parse` reads the body and throws MalformedResponse if it is not
  // what the API promises, which is logged and fetched again (parse_attempts). A final non-2xx
  // throws HubStatusError, a transport failure std::runtime_error; `what` names the request.
  void get(const std::string& what, const std::string& path_query,
           const std::function<void(std::string_view)>& parse) {
    get(http_, what, path_query, parse);
  }
  // The same on the second client, for a read ahead on another thread while the caller's
  // thread writes (one such request at a time; never while sync_fid runs).
  void get_ahead(const std::string& what, const std::string& path_query,
                 const std::function<void(std::string_view)>& parse) {
    get(cast_http_, what, path_query, parse);
  }
  const HubSettings& settings() const { return settings_; }
  // True once the worker is asked to stop (SIGTERM): finish the current page and return.
  bool stopping() const { return stopping_ && stopping_(); }
  Db& db() { return db_; }
  FarcasterStore& store() { return store_; }
  const std::string& worker() const { return worker_; }

 private:
  void get(HttpClient& client, const std::string& what, const std::string& path_query,
           const std::function<void(std::string_view)>& parse);
  Page fetch(HttpClient& client, const std::string& what, const std::string& path_query);
  Page fetch(const std::string& what, const std::string& path_query) {
    return fetch(http_, what, path_query);
  }
  // Every page of a listing (snapshot kinds are small).
  Page fetch_all(const std::string& what, const std::string& path_query);
  void sync_snapshot(std::uint64_t fid);
  void sync_casts(std::uint64_t fid, FidResult& result);

  Db& db_;
  std::string worker_;
  HubSettings settings_;
  std::function<bool()> stopping_;
  std::unique_ptr<RateLimiter> limiter_;
  HttpClient http_;
  HttpClient cast_http_;  // used by the prefetching tasks only, one request at a time
  FarcasterStore store_;
  std::optional<Dialect> dialect_;
};

class EventFollower;

class FarcasterSync : public Worker {
 public:
  FarcasterSync();
  ~FarcasterSync() override;
  // Runs once per database (SPEC §8): other instances stand by on the advisory lease.
  bool exclusive() const override { return true; }
  // Reads the settings and checks the hub answers /v1/info (DependencyError otherwise).
  void validate(WorkerContext& ctx) override;
  // Events mode (docs/farcaster.md): backfills new fids, repairs a few, then follows the hub's
  // event stream for tail_ms. Poll mode: syncs every fid in isolation. A failed fid is
  // recorded (item_failed) and the cycle goes on.
  void run_cycle(WorkerContext& ctx) override;
  // Events mode on Snapchain: one partition per shard ("shard:1", ...), so that several
  // instances split the shards (SPEC §8 partition leases). Otherwise one lease.
  std::vector<std::string> partitions(WorkerContext& ctx) override;
  // In events mode cycles follow one another at once (the cycle itself paces its reads).
  bool continuous() const override { return follower_ != nullptr; }

 private:
  void poll_cycle(WorkerContext& ctx);

  std::unique_ptr<HubSync> hub_;
  std::unique_ptr<EventFollower> follower_;
};

}  // namespace socialai::farcaster
