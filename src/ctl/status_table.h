// socialai-ctl status: the rows of GET /api/workers/status as an aligned table, and the verdict
// a script checks. Pure (the time is passed in); fields the manager leaves out or sets to null
// print as "-".
#pragma once

#include <ctime>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace socialai::ctl {

// A header line and one line per worker, columns separated by at least two spaces: NAME STATE
// HEALTHY PID UPTIME RESTARTS LAST-SUCCESS ERR-RATE ITEMS/MIN CPU RSS. Then, per unhealthy
// enabled worker with an error, "NAME: error", and one line when the manager's status poller
// finds the database down. `rows` is the API's array; `now` is Unix time.
std::string render_status_table(const nlohmann::json& rows, std::time_t now);

// True when every worker whose `enabled` is true reports `healthy: true`.
bool all_enabled_healthy(const nlohmann::json& rows);

// "45s", "12m", "3h12m", "2d4h": for uptimes and ages.
std::string human_duration(double seconds);
// 1536 -> "1.5K", 47185920 -> "45.0M" (binary units, like ps and top).
std::string human_bytes(double bytes);
// "2025-01-31T12:00:00Z" (or with fractional seconds / an offset of +00) as Unix time, or -1.
std::time_t parse_utc(const std::string& iso);

}  // namespace socialai::ctl
