// The status table: each cell from one field of the status JSON, then column widths.
#include "ctl/status_table.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::ctl {
namespace {

using nlohmann::json;

const char* const kHeader[] = {"NAME",     "STATE",        "HEALTHY",  "PID",
                               "UPTIME",   "RESTARTS",     "LAST SUCCESS", "ERR RATE",
                               "ITEMS/MIN", "CPU",         "RSS"};
constexpr std::size_t kColumns = sizeof kHeader / sizeof kHeader[0];

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

bool has_number(const json& w, const char* key) {
  return w.is_object() && w.contains(key) && w[key].is_number();
}

std::string text(const json& w, const char* key) {
  return w.is_object() && w.contains(key) && w[key].is_string() ? w[key].get<std::string>() : "";
}

std::string or_dash(std::string s) { return s.empty() ? "-" : s; }

bool flag(const json& w, const char* key) {
  return w.is_object() && w.contains(key) && w[key].is_boolean() && w[key].get<bool>();
}

std::vector<std::string> cells(const json& w, std::time_t now) {
  const bool running = has_number(w, "pid");
  std::string last = "-";
  if (const std::string iso = text(w, "lastSuccess"); !iso.empty()) {
    const std::time_t t = parse_utc(iso);
    last = t < 0 ? iso : human_duration(static_cast<double>(std::max<std::time_t>(now - t, 0))) + " ago";
  }
  return {
      or_dash(text(w, "name")),
      or_dash(text(w, "state")),
      !flag(w, "enabled") ? "-" : (flag(w, "healthy") ? "yes" : "no"),
      running ? std::to_string(w["pid"].get<long long>()) : "-",
      running && has_number(w, "uptimeSeconds") ? human_duration(w["uptimeSeconds"].get<double>())
                                                : "-",
      has_number(w, "totalRestarts") ? std::to_string(w["totalRestarts"].get<long long>()) : "-",
      last,
      has_number(w, "errorRate") ? fmt("%.1f%%", 100.0 * w["errorRate"].get<double>()) : "-",
      has_number(w, "itemsPerMinute") ? fmt("%.1f", w["itemsPerMinute"].get<double>()) : "-",
      has_number(w, "cpuSeconds") ? fmt("%.1fs", w["cpuSeconds"].get<double>()) : "-",
      has_number(w, "rssBytes") ? human_bytes(w["rssBytes"].get<double>()) : "-",
  };
}

}  // namespace

std::string human_duration(double seconds) {
  const auto s = static_cast<long long>(seconds < 0 ? 0 : seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) {
    return std::to_string(s / 3600) + "h" + (s % 3600 >= 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  }
  return std::to_string(s / 86400) + "d" + (s % 86400 >= 3600 ? std::to_string(s % 86400 / 3600) + "h" : "");
}

std::string human_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "K", "M", "G", "T"};
  std::size_t u = 0;
  while (bytes >= 1024 && u + 1 < sizeof kUnits / sizeof kUnits[0]) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt("%.0f", bytes) + "B" : fmt("%.1f", bytes) + kUnits[u];
}

std::time_t parse_utc(const std::string& iso) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return -1;
  }
  std::string rest = iso.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {  // fractional seconds
    rest.erase(0, std::min(rest.find_first_not_of("0123456789", 1), rest.size()));
  }
  if (rest != "Z" && rest != "+00" && rest != "+00:00" && !rest.empty()) {
    return -1;  // only UTC, which is what the manager sends
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return ::timegm(&tm);
}

std::string render_status_table(const json& rows, std::time_t now) {
  std::vector<std::vector<std::string>> table;
  table.emplace_back(std::begin(kHeader), std::end(kHeader));
  std::string notes;
  std::string database;
  for (const auto& w : rows.is_array() ? rows : json::array()) {
    table.push_back(cells(w, now));
    if (flag(w, "enabled") && !flag(w, "healthy")) {
      const std::string why = !text(w, "error").empty() ? text(w, "error") : text(w, "lastExit");
      if (!why.empty()) {
        notes += text(w, "name") + ": " + why + "\n";
      }
    }
    if (database.empty() && text(w, "database") == "down") {
      database = "database: down" +
                 (text(w, "databaseError").empty() ? "" : " (" + text(w, "databaseError") + ")") +
                 "; figures from the database are the last known\n";
    }
  }
  std::size_t width[kColumns] = {};
  for (const auto& row : table) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : table) {
    std::string line;
    for (std::size_t c = 0; c < kColumns; ++c) {
      line += row[c];
      if (c + 1 < kColumns) {
        line.append(width[c] - row[c].size() + 2, ' ');
      }
    }
    out += line + "\n";
  }
  return out + notes + database;
}

bool all_enabled_healthy(const json& rows) {
  if (!rows.is_array()) {
    return false;
  }
  return std::all_of(rows.begin(), rows.end(),
                     [](const json& w) { return !flag(w, "enabled") || flag(w, "healthy"); });
}

}  // namespace socialai::ctl
