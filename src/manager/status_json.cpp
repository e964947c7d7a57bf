// JSON rendering of the worker status rows (GET /api/workers/status).
#include <nlohmann/json.hpp>

#include "manager/worker_status.h"

namespace socialai::manager {

namespace {
template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
nlohmann::json errors(const std::vector<ErrorEntry>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : list) {
    out.push_back({{"at", e.at},
                   {"kind", e.item_ref ? "item" : "cycle"},
                   {"itemRef", opt(e.item_ref)},
                   {"error", e.error}});
  }
  return out;
}
}  // namespace

std::string status_to_json(const std::vector<WorkerStatus>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& s : rows) {
    arr.push_back({{"name", s.name},
                   {"healthy", s.healthy},
                   {"enabled", s.enabled},
                   {"state", s.state},
                   {"pid", opt(s.pid)},
                   {"lastRun", opt(s.last_run)},
                   {"lastSuccess", opt(s.last_success)},
                   {"errorRate", opt(s.error_rate)},
                   {"consecutiveFailedCycles", s.db.consecutive_failed_cycles},
                   {"lastCycleError", opt(s.db.last_cycle_error)},
                   {"restartCount", s.restart_count},
                   {"totalRestarts", s.total_restarts},
                   {"uptimeSeconds", s.uptime_seconds},
                   {"itemsPerMinute", opt(s.items_per_minute)},
                   {"lastExit", opt(s.last_exit)},
                   {"error", opt(s.error)},
                   {"cpuSeconds", opt(s.cpu_seconds)},
                   {"rssBytes", opt(s.rss_bytes)},
                   {"heartbeatState", opt(s.heartbeat_state)},
                   {"note", opt(s.note)},
                   {"partitions", opt(s.partitions)},
                   {"database", opt(s.database)},
                   {"databaseError", opt(s.database_error)},
                   {"recentErrors", errors(s.db.recent_errors)}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace socialai::manager
