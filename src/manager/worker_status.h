// Plain data shared by the supervisor, the database poller and the HTTP API.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace socialai::manager {

struct ErrorEntry {
  std::string at;  // ISO-8601 UTC
  std::optional<std::string> item_ref;  // nullopt: the whole cycle failed (worker_runs.error)
  std::string error;
};

// One worker process's row in worker_heartbeats.
struct Heartbeat {
  int pid = 0;
  double age_s = 0;
  std::string state;
  std::optional<std::string> note;
  std::optional<std::string> partitions;  // held partition leases ("shard:1, shard:2")
};

// What the database says about one worker (from DbPoller).
struct DbWorkerInfo {
  std::optional<std::string> last_run;      // ISO-8601 UTC
  std::optional<std::string> last_success;  // ISO-8601 UTC
  std::int64_t items_ok_hour = 0, items_failed_hour = 0, items_ok_10min = 0;
  // Every process of this worker on this host that wrote a heartbeat (the supervisor picks its
  // child's by pid; another row may be a standby instance run by another manager).
  std::vector<Heartbeat> heartbeats;
  std::optional<bool> flag_enabled;  // feature_flags row, if any
  std::optional<double> last_success_unix;   // seconds since the epoch
  std::optional<double> last_cycle_seconds;  // duration of the last finished cycle
  std::int64_t db_queries_hour = 0;
  double db_ms_hour = 0;
  std::vector<ErrorEntry> recent_errors;  // newest first, at most 5 from the last day
  // Cycles: failed (error) in the last hour; finished ones in a row that failed (an error or
  // every item failed, newest first, capped at 1000); the last finished one's failure, if any.
  std::int64_t failed_cycles_hour = 0;
  std::int64_t consecutive_failed_cycles = 0;
  std::optional<std::string> last_cycle_error;
  std::optional<std::string> last_cycle_at;  // ISO-8601 UTC, when the last cycle finished
};

struct DbSnapshot {
  bool ok = false;
  std::string error;
  std::map<std::string, DbWorkerInfo> workers;
};

// One row of GET /api/workers/status.
struct WorkerStatus {
  std::string name;
  bool healthy = false;
  bool enabled = false;
  std::string state;
  std::optional<int> pid;
  std::optional<std::string> last_run, last_success;
  std::optional<double> error_rate;
  int restart_count = 0;
  int total_restarts = 0;
  double uptime_seconds = 0;
  std::optional<double> items_per_minute;
  std::optional<std::string> last_exit;
  std::optional<std::string> error;  // e.g. executable not found
  std::optional<double> cpu_seconds;
  std::optional<std::uint64_t> rss_bytes;
  std::optional<std::string> heartbeat_state;
  std::optional<std::string> note;  // the worker's standing note (WorkerContext::set_note)
  std::optional<std::string> partitions;  // the partitions its child holds (partition leases)
  // "up" or "down" as the status poller last found PostgreSQL (nullopt: no database or no
  // answer yet); while down, the database-derived fields are the last known values.
  std::optional<std::string> database;
  std::optional<std::string> database_error;  // connection error text, credentials redacted
  DbWorkerInfo db;  // the raw database view (recent errors, hourly figures)
};

std::string status_to_json(const std::vector<WorkerStatus>& rows);

}  // namespace socialai::manager
