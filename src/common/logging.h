// Process-wide logging setup (spdlog): one line per event, text or JSON lines.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace socialai {

enum class LogFormat { kText, kJson };

// Parses "text" / "json"; returns false for anything else.
bool parse_log_format(std::string_view s, LogFormat* out);

// Installs the default spdlog logger writing to stderr (or stdout) in `format`. `name` is the
// worker (or "manager") and appears in every JSON line as "worker". Safe to call again to
// re-configure. A worker's cycles log to stdout, so that its stderr carries only what went
// wrong outside the logger (the manager tags those lines "[name:err]").
void init_logging(const std::string& name, LogFormat format, bool to_stdout = false);

// Appends tp as ISO-8601 UTC with milliseconds ("2026-11-28T13:00:00.123Z").
void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point tp);

// Escapes a string for inclusion inside a JSON string literal (no surrounding quotes).
// A byte that is not part of valid UTF-8 becomes the visible text \xNN (JSON "\\xNN"),
// so nothing is dropped and a real U+00NN stays distinguishable.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace socialai
