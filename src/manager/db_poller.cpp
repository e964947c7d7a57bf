// DbPoller: one query per period over worker_runs / worker_heartbeats / feature_flags.
#include "manager/db_poller.h"

#include <memory>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "common/backoff.h"
#include "common/db.h"

namespace socialai::manager {
namespace {

// The json_agg of a worker's heartbeat rows (see kQuery).
std::vector<Heartbeat> parse_heartbeats(const std::string& text) {
  std::vector<Heartbeat> out;
  const auto rows = nlohmann::json::parse(text, nullptr, false);
  if (!rows.is_array()) {
    return out;
  }
  for (const auto& r : rows) {
    Heartbeat h;
    h.pid = r.value("pid", 0);
    h.age_s = r.value("age", 0.0);
    h.state = r.value("state", "");
    if (r.contains("note") && r["note"].is_string()) {
      h.note = r["note"].get<std::string>();
    }
    if (r.contains("partitions") && r["partitions"].is_string()) {
      h.partitions = r["partitions"].get<std::string>();
    }
    out.push_back(std::move(h));
  }
  return out;
}

// A text[] literal for a parameter: {"a","b"} with quotes and backslashes escaped.
std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) {
      out += ',';
    }
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// A finished run that failed: the cycle raised an error, or every item of it failed.
#define SOCIALAI_FAILED_RUN(r) \
  "(" r ".error IS NOT NULL OR (" r ".items_ok = 0 AND " r ".items_failed > 0))"

constexpr const char* kQuery = R"sql(
SELECT w.name,
  to_char((SELECT r.started_at FROM worker_runs r WHERE r.worker = w.name
           ORDER BY r.started_at DESC LIMIT 1) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  to_char((SELECT r.finished_at FROM worker_runs r WHERE r.worker = w.name
           AND r.error IS NULL AND r.finished_at IS NOT NULL
           ORDER BY r.started_at DESC LIMIT 1) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  coalesce(s.ok, 0), coalesce(s.failed, 0), coalesce(s.ok10, 0),
  (SELECT json_agg(json_build_object('pid', h.pid, 'state', h.state, 'note', h.note,
                   'partitions', h.partitions,
                   'age', extract(epoch FROM now() - h.beat_at)::float8))::text
     FROM worker_heartbeats h WHERE h.worker = w.name AND h.host = $2),
  f.enabled,
  (SELECT extract(epoch FROM r.finished_at)::float8 FROM worker_runs r WHERE r.worker = w.name
     AND r.error IS NULL AND r.finished_at IS NOT NULL ORDER BY r.started_at DESC LIMIT 1),
  (SELECT extract(epoch FROM r.finished_at - r.started_at)::float8 FROM worker_runs r
     WHERE r.worker = w.name AND r.finished_at IS NOT NULL ORDER BY r.started_at DESC LIMIT 1),
  coalesce(s.queries, 0), coalesce(s.ms, 0), coalesce(s.failed_cycles, 0),
  (SELECT count(*) FROM (
     SELECT 1 FROM worker_runs r WHERE r.worker = w.name AND r.finished_at IS NOT NULL
       AND r.started_at > coalesce((SELECT max(g.started_at) FROM worker_runs g
                                    WHERE g.worker = w.name AND g.finished_at IS NOT NULL
                                      AND NOT )sql" SOCIALAI_FAILED_RUN("g") R"sql(), '-infinity')
     LIMIT 1000) c),
  CASE WHEN )sql" SOCIALAI_FAILED_RUN("l") R"sql( THEN
    coalesce(l.error, 'every item failed (' || l.items_failed || ' items)') END,
  to_char(l.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM unnest($1::text[]) AS w(name)
LEFT JOIN LATERAL (
  SELECT sum(items_ok) AS ok, sum(items_failed) AS failed,
         sum(items_ok) FILTER (WHERE started_at > now() - interval '10 minutes') AS ok10,
         sum(db_queries) AS queries, sum(db_ms) AS ms,
         count(*) FILTER (WHERE error IS NOT NULL) AS failed_cycles
  FROM worker_runs WHERE worker = w.name AND started_at > now() - interval '1 hour') s ON true
LEFT JOIN LATERAL (
  SELECT r.error, r.items_ok, r.items_failed, r.finished_at FROM worker_runs r
  WHERE r.worker = w.name AND r.finished_at IS NOT NULL ORDER BY r.started_at DESC LIMIT 1) l ON true
LEFT JOIN feature_flags f ON f.flag_name = w.name || '_enabled'
)sql";

// The newest few errors per worker (the admin console shows them): item errors from
// worker_errors and cycle errors from worker_runs (item_ref NULL).
constexpr const char* kErrorsQuery = R"sql(
SELECT worker, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), item_ref, error
FROM (SELECT worker, created_at, item_ref, error,
             row_number() OVER (PARTITION BY worker ORDER BY created_at DESC, id DESC) AS n
      FROM (SELECT worker, created_at, item_ref, error, id FROM worker_errors
            WHERE worker = ANY($1::text[]) AND created_at > now() - interval '1 day'
            UNION ALL
            SELECT worker, finished_at, NULL, error, id FROM worker_runs
            WHERE worker = ANY($1::text[]) AND error IS NOT NULL
              AND started_at > now() - interval '1 day') u) e
WHERE n <= 5
ORDER BY worker, created_at DESC
)sql";

#undef SOCIALAI_FAILED_RUN

}  // namespace

DbPoller::DbPoller(std::string url, std::chrono::milliseconds period, Deliver deliver)
    : url_(std::move(url)), period_(period), deliver_(std::move(deliver)) {}

DbPoller::~DbPoller() { stop(); }

void DbPoller::start(std::vector<std::string> workers) {
  workers_ = std::move(workers);
  thread_ = std::thread([this] { run(); });
}

void DbPoller::set_workers(std::vector<std::string> workers) {
  std::lock_guard<std::mutex> lock(mu_);
  workers_ = std::move(workers);
}

void DbPoller::poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poke_ = true;
  }
  cv_.notify_all();
}

void DbPoller::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void DbPoller::run() {
  const std::string host = heartbeat_host();
  std::unique_ptr<pqxx::connection> conn;
  unsigned failures = 0;
  const BackoffPolicy backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
  for (;;) {
    std::vector<std::string> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        return;
      }
      workers = workers_;
    }
    DbSnapshot snap;
    try {
      if (!conn) {
        conn = std::make_unique<pqxx::connection>(with_connect_timeout(url_, kConnectTimeoutS));
        if (failures > 0) {
          spdlog::info("status poller: database reachable again");
        }
      }
      pqxx::read_transaction tx(*conn);
      for (const auto& row : tx.exec_params(kQuery, pg_text_array(workers), host)) {
        DbWorkerInfo info;
        if (!row[1].is_null()) info.last_run = row[1].as<std::string>();
        if (!row[2].is_null()) info.last_success = row[2].as<std::string>();
        info.items_ok_hour = row[3].as<std::int64_t>();
        info.items_failed_hour = row[4].as<std::int64_t>();
        info.items_ok_10min = row[5].as<std::int64_t>();
        if (!row[6].is_null()) info.heartbeats = parse_heartbeats(row[6].as<std::string>());
        if (!row[7].is_null()) info.flag_enabled = row[7].as<bool>();
        if (!row[8].is_null()) info.last_success_unix = row[8].as<double>();
        if (!row[9].is_null()) info.last_cycle_seconds = row[9].as<double>();
        info.db_queries_hour = row[10].as<std::int64_t>();
        info.db_ms_hour = row[11].as<double>();
        info.failed_cycles_hour = row[12].as<std::int64_t>();
        info.consecutive_failed_cycles = row[13].as<std::int64_t>();
        if (!row[14].is_null()) info.last_cycle_error = row[14].as<std::string>();
        if (!row[15].is_null()) info.last_cycle_at = row[15].as<std::string>();
        snap.workers[row[0].as<std::string>()] = std::move(info);
      }
      for (const auto& row : tx.exec_params(kErrorsQuery, pg_text_array(workers))) {
        snap.workers[row[0].as<std::string>()].recent_errors.push_back(
            ErrorEntry{row[1].as<std::string>(),
                       row[2].is_null() ? std::nullopt : std::optional(row[2].as<std::string>()),
                       row[3].as<std::string>()});
      }
      snap.ok = true;
      failures = 0;
    } catch (const std::exception& e) {
      conn.reset();
      snap.error = e.what();
      if (failures++ == 0) {
        spdlog::warn("status poller: database unavailable ({}); retrying with backoff",
                     redact_db_url(snap.error));
      }
    }
    deliver_(std::move(snap));
    const auto wait = failures ? jittered_delay(backoff, failures - 1, random_unit()) : period_;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [this] { return stop_ || poke_; });
    poke_ = false;
  }
}

}  // namespace socialai::manager
