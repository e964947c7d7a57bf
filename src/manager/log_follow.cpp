// The logs route: a tail, a cursor read, or a long poll woken by LogRouter::subscribe.
#include "manager/log_follow.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "manager/log_router.h"

namespace socialai::manager {
namespace {

// Decimal digits only (no sign, no spaces), up to 18 of them.
std::optional<std::uint64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 18 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(s);
}

// Random per manager process, so a follower can tell that the numbering started over.
const std::string& instance_id() {
  static const std::string id = [] {
    std::random_device rd;
    const std::uint64_t v = (std::uint64_t{rd()} << 32) | rd();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int shift = 60; shift >= 0; shift -= 4) {
      out += kHex[(v >> shift) & 15];
    }
    return out;
  }();
  return id;
}

ApiReply slice_reply(const std::string& worker, const LogRouter::Slice& s) {
  ApiReply r;
  r.body = nlohmann::json{{"worker", worker},
                          {"lines", s.lines},
                          {"next", s.next},
                          {"skipped", s.skipped},
                          {"instance", instance_id()}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace

ApiReply logs_reply(LogRouter& log, const std::string& worker,
                    const std::map<std::string, std::string>& query) {
  bool bad = false;
  auto number = [&query, &bad](const char* key, std::uint64_t absent) {
    const auto it = query.find(key);
    if (it == query.end()) {
      return absent;
    }
    const auto v = parse_count(it->second);
    bad = bad || !v;
    return v.value_or(absent);
  };
  const bool has_cursor = query.find("after") != query.end();
  const std::uint64_t lines = number("lines", has_cursor ? LogRouter::kRingLines : 100);
  const std::uint64_t cursor = number("after", 0);
  const std::uint64_t seconds = std::min<std::uint64_t>(number("wait", 0), kMaxLogWaitSeconds);
  if (bad) {
    return json_error(400, "lines, after and wait must be non-negative integers");
  }
  const std::size_t max =
      static_cast<std::size_t>(std::min<std::uint64_t>(lines, LogRouter::kRingLines));
  if (!has_cursor) {
    return slice_reply(worker, log.tail(worker, max));
  }
  if (seconds == 0) {
    return slice_reply(worker, log.since(worker, cursor, max));
  }
  // The session polls once right after subscribing: lines already there are answered at once.
  ApiReply r;
  r.wait = std::make_shared<ApiWait>();
  r.wait->timeout = std::chrono::seconds(seconds);
  r.wait->watch = [&log, worker](std::function<void()> wake) {
    return log.subscribe(worker, std::move(wake));
  };
  r.wait->poll = [&log, worker, cursor, max](bool final) -> std::optional<ApiReply> {
    auto s = log.since(worker, cursor, max);
    if (!final && s.lines.empty() && s.skipped == 0 && s.next == cursor) {
      return std::nullopt;
    }
    return slice_reply(worker, s);
  };
  return r;
}

}  // namespace socialai::manager
