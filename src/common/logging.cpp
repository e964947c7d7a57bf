// spdlog setup: text lines ("2026-11-28T13:00:00.123Z info msg") or JSON lines.
#include "common/logging.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace socialai {
void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point tp) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                              tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out.append(buf, static_cast<std::size_t>(n));
}

namespace {

class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(std::string name, LogFormat format) : name_(std::move(name)), format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (format_ == LogFormat::kJson) {
      line += "{\"ts\":\"";
      append_utc_timestamp(line, msg.time);
      line += "\",\"worker\":\"";
      append_json_escaped(line, name_);
      line += "\",\"level\":\"";
      line.append(level.data(), level.size());
      line += "\",\"msg\":\"";
      append_json_escaped(line, text);
      line += "\"}\n";
    } else {
      append_utc_timestamp(line, msg.time);
      line += ' ';
      line.append(level.data(), level.size());
      line += ' ';
      // One event, one line: embedded newlines would split it in the aggregated log.
      for (char c : text) {
        line += (c == '\n' || c == '\r') ? ' ' : c;
      }
      line += '\n';
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(name_, format_);
  }

 private:
  std::string name_;
  LogFormat format_;
};

}  // namespace

bool parse_log_format(std::string_view s, LogFormat* out) {
  if (s == "text") {
    *out = LogFormat::kText;
    return true;
  }
  if (s == "json") {
    *out = LogFormat::kJson;
    return true;
  }
  return false;
}

void init_logging(const std::string& name, LogFormat format, bool to_stdout) {
  spdlog::sink_ptr sink;
  if (to_stdout) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  sink->set_formatter(std::make_unique<LineFormatter>(name, format));
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void append_json_escaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Multi-byte UTF-8: copy a well-formed sequence; escape a stray byte as \u00XX.
    std::size_t len = 0;
    if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
      len = 2;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xc0) == 0x80;
    }
    if (ok && len == 3) {
      const unsigned cp = ((c & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && len == 4) {
      const unsigned cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3fu) << 12);
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (ok) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      // Not UTF-8: keep the byte visible as the text \xNN (a JSON "\\xNN").
      out += "\\\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    }
  }
}

}  // namespace socialai
