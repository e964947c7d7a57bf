// HubSettings: the farcaster worker's settings, read from its config section and `farcaster_*`
// settings rows, checked, with the defaults docs/farcaster.md lists.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/worker_runtime.h"
#include "workers/farcaster/hub_api.h"

namespace socialai::farcaster {

// Settings (keys as read from the worker section / `farcaster_<key>` settings rows):
//   hub_url              base URL, e.g. http://127.0.0.1:3381 (required)
//   hub_dialect          snapchain | hubble | auto (default auto: detected from /v1/info)
//   fids                 JSON array or comma list of fids to sync besides the known ones
//   max_fids             poll mode: at most this many fids per cycle (default 10000)
//   page_size            messages per request (default 1000)
//   requests_per_minute  client-side limit (default 0 = none)
//   api_key              sent as x-api-key when set; never logged
//   mode                 events | poll | auto (default: events when the hub serves /v1/events)
//   poll_ms              pause between event reads once caught up (default 200)
//   tail_ms              length of one event-following cycle (default 10000)
//   rewind_s             seconds of events re-read at each cycle start, for late ones (5)
//   backfill_fids        new fids reconciled per event cycle (default 100)
//   repair_fids          known fids re-reconciled per event cycle (default 2)
//   event_page_size      events per /v1/events request (default 1000)
enum class SyncMode { kAuto, kEvents, kPoll };

struct HubSettings {
  std::string hub_url;
  std::optional<Dialect> dialect;  // nullopt: detect
  std::vector<std::uint64_t> fids;
  bool all_fids = false;  // fids: "all": the whole network (GET /v1/fids), events mode only
  std::int64_t max_fids = 10000;
  int page_size = 1000;
  double requests_per_minute = 0;
  std::string api_key;
  int parse_attempts = 3;  // fetches of one page when bodies come back malformed
  SyncMode mode = SyncMode::kAuto;
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds tail_cycle{10000};
  std::chrono::milliseconds rewind{5000};
  std::int64_t backfill_fids = 100;
  std::int64_t repair_fids = 2;
  int event_page_size = 1000;
};

// Reads and checks the settings; throws std::invalid_argument naming the bad key.
HubSettings read_settings(const WorkerContext& ctx);
// "[1,2,3]" or "1, 2,3" → fids; throws std::invalid_argument on anything else.
std::vector<std::uint64_t> parse_fids(const std::string& text);

}  // namespace socialai::farcaster
