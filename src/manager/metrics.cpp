// render_metrics: one family at a time, HELP and TYPE first, label values escaped.
#include "manager/metrics.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "socialai/version.h"

namespace socialai::manager {
namespace {

constexpr const char* kStates[] = {"starting", "running", "backoff",  "stopping",
                                   "stopped",  "fatal",   "disabled", "standby"};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// At most `max` bytes of `v`, cut before an incomplete UTF-8 sequence.
std::string utf8_prefix(const std::string& v, std::size_t max) {
  if (v.size() <= max) {
    return v;
  }
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) {
    --n;  // v[n] continues a sequence: cut before the sequence starts
  }
  return v.substr(0, n) + "…";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Writer {
 public:
  // One family: HELP, TYPE, then a sample per worker for which `value` gives a number.
  void family(const char* name, const char* type, const char* help,
              const std::vector<WorkerStatus>& workers,
              const std::function<std::optional<double>(const WorkerStatus&)>& value) {
    header(name, type, help);
    for (const auto& w : workers) {
      if (const auto v = value(w)) {
        sample(name, "worker=\"" + escape_label(w.name) + "\"", *v);
      }
    }
  }
  void header(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const char* name, const std::string& labels, double v) {
    out_ += name;
    if (!labels.empty()) {
      out_ += "{" + labels + "}";
    }
    out_ += " " + number(v) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_metrics(const std::vector<WorkerStatus>& workers,
                           const std::map<std::string, WorkerLogStats>& logs,
                           const ManagerMetrics& manager) {
  Writer w;
  w.header("socialai_build_info", "gauge", "Build information.");
  w.sample("socialai_build_info", "version=\"" SOCIALAI_VERSION "\"", 1);
  w.header("socialai_manager_uptime_seconds", "gauge", "Seconds since the manager started.");
  w.sample("socialai_manager_uptime_seconds", "", manager.uptime_seconds);
  w.header("socialai_manager_database_up", "gauge", "1 if the status poller reaches PostgreSQL.");
  w.sample("socialai_manager_database_up", "", manager.database_up ? 1 : 0);
  w.header("socialai_manager_http_requests_total", "counter", "HTTP requests served.");
  w.sample("socialai_manager_http_requests_total", "", static_cast<double>(manager.http_requests));

  using W = const WorkerStatus&;
  using O = std::optional<double>;
  w.family("socialai_worker_up", "gauge", "1 while the worker's process runs.", workers,
           [](W s) -> O { return s.pid ? 1 : 0; });
  w.family("socialai_worker_healthy", "gauge", "1 when running, heartbeating, reaching the database and its last failed_cycles_unhealthy cycles did not all fail.", workers,
           [](W s) -> O { return s.healthy ? 1 : 0; });
  w.family("socialai_worker_consecutive_failed_cycles", "gauge",
           "Finished cycles in a row that failed (an error, or every item failed).", workers,
           [](W s) -> O { return static_cast<double>(s.db.consecutive_failed_cycles); });
  w.header("socialai_worker_error_info", "gauge",
           "1 while the worker reports an error (the last cycle's, the database's, an exec "
           "failure); the text is the error label, at most 200 bytes.");
  for (const auto& s : workers) {
    if (s.error) {
      w.sample("socialai_worker_error_info",
               "worker=\"" + escape_label(s.name) + "\",error=\"" +
                   escape_label(utf8_prefix(*s.error, 200)) + "\"",
               1);
    }
  }
  w.family("socialai_worker_enabled", "gauge", "1 when enabled in the config and by its flag.",
           workers, [](W s) -> O { return s.enabled ? 1 : 0; });
  w.header("socialai_worker_state", "gauge", "1 for the worker's current Healdec state.");
  for (const auto& s : workers) {
    for (const char* st : kStates) {
      w.sample("socialai_worker_state",
               "worker=\"" + escape_label(s.name) + "\",state=\"" + st + "\"",
               s.state == st ? 1 : 0);
    }
  }
  w.family("socialai_worker_restarts_total", "counter", "Restarts since the manager started.",
           workers, [](W s) -> O { return s.total_restarts; });
  w.family("socialai_worker_consecutive_restarts", "gauge",
           "Restarts in a row (Healdec's restartCount).", workers,
           [](W s) -> O { return s.restart_count; });
  w.family("socialai_worker_uptime_seconds", "gauge", "Seconds the current process has run.",
           workers, [](W s) -> O { return s.uptime_seconds; });
  w.family("socialai_worker_items_processed_last_hour", "gauge",
           "Items processed successfully in the last hour (worker_runs).", workers,
           [](W s) -> O { return static_cast<double>(s.db.items_ok_hour); });
  w.family("socialai_worker_items_failed_last_hour", "gauge",
           "Items that failed in the last hour (worker_runs).", workers,
           [](W s) -> O { return static_cast<double>(s.db.items_failed_hour); });
  w.family("socialai_worker_cycle_duration_seconds", "gauge", "Duration of the last cycle.",
           workers, [](W s) -> O { return s.db.last_cycle_seconds; });
  w.family("socialai_worker_db_queries_last_hour", "gauge",
           "Database statements the worker ran in the last hour.", workers,
           [](W s) -> O { return static_cast<double>(s.db.db_queries_hour); });
  w.family("socialai_worker_db_seconds_last_hour", "gauge",
           "Time the worker spent in database statements in the last hour.", workers,
           [](W s) -> O { return s.db.db_ms_hour / 1000.0; });
  w.family("socialai_worker_last_success_timestamp_seconds", "gauge",
           "Unix time of the end of the last successful cycle.", workers,
           [](W s) -> O { return s.db.last_success_unix; });
  w.family("socialai_worker_cpu_seconds_total", "counter",
           "User+system CPU seconds of the current process.", workers,
           [](W s) -> O { return s.cpu_seconds; });
  w.family("socialai_worker_resident_memory_bytes", "gauge",
           "Resident memory of the current process.", workers, [](W s) -> O {
             return s.rss_bytes ? O(static_cast<double>(*s.rss_bytes)) : std::nullopt;
           });
  w.family("socialai_worker_log_lines_total", "counter", "Log lines aggregated.", workers,
           [&logs](W s) -> O {
             const auto it = logs.find(s.name);
             return it == logs.end() ? 0.0 : static_cast<double>(it->second.lines);
           });
  w.family("socialai_worker_log_bytes_total", "counter", "Log bytes aggregated.", workers,
           [&logs](W s) -> O {
             const auto it = logs.find(s.name);
             return it == logs.end() ? 0.0 : static_cast<double>(it->second.bytes);
           });
  return w.take();
}

}  // namespace socialai::manager
