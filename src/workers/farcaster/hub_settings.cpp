// HubSettings: reading and checking the farcaster worker's settings (see hub_settings.h).
#include "workers/farcaster/hub_settings.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace socialai::farcaster {

using json = nlohmann::json;

std::vector<std::uint64_t> parse_fids(const std::string& text) {
  std::vector<std::uint64_t> out;
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) {
    return out;
  }
  if (text[first] == '[') {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
      throw std::invalid_argument("fids: not a JSON array: " + text);
    }
    for (const auto& v : j) {
      if (v.is_number_unsigned()) {
        out.push_back(v.get<std::uint64_t>());
      } else if (v.is_string()) {
        const auto more = parse_fids(v.get<std::string>());
        out.insert(out.end(), more.begin(), more.end());
      } else {
        throw std::invalid_argument("fids: not a fid: " + v.dump());
      }
    }
    return out;
  }
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t\n"));
    item.erase(item.find_last_not_of(" \t\n") + 1);
    if (!item.empty()) {
      if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 18) {
        throw std::invalid_argument("fids: not a fid: '" + item + "'");
      }
      out.push_back(std::stoull(item));
    }
    pos = comma + 1;
  }
  return out;
}

HubSettings read_settings(const WorkerContext& ctx) {
  HubSettings s;
  s.hub_url = ctx.setting_or("hub_url", "");
  while (!s.hub_url.empty() && s.hub_url.back() == '/') {
    s.hub_url.pop_back();
  }
  if (s.hub_url.empty()) {
    throw std::invalid_argument("hub_url is not set");
  }
  const std::string d = ctx.setting_or("hub_dialect", "auto");
  if (d != "auto" && d != "") {
    s.dialect = parse_dialect(d);
    if (!s.dialect) {
      throw std::invalid_argument("hub_dialect must be snapchain, hubble or auto, got " + d);
    }
  }
  const std::string fids = ctx.setting_or("fids", "");
  if (fids == "all" || fids == "\"all\"") {
    s.all_fids = true;
  } else {
    s.fids = parse_fids(fids);
  }
  s.max_fids = std::clamp<std::int64_t>(ctx.setting_int("max_fids", s.max_fids), 1, 10000000);
  s.page_size =
      static_cast<int>(std::clamp<std::int64_t>(ctx.setting_int("page_size", 1000), 1, 10000));
  s.requests_per_minute =
      static_cast<double>(std::max<std::int64_t>(ctx.setting_int("requests_per_minute", 0), 0));
  s.api_key = ctx.setting_or("api_key", "");
  const std::string mode = ctx.setting_or("mode", "auto");
  if (mode == "events") {
    s.mode = SyncMode::kEvents;
  } else if (mode == "poll") {
    s.mode = SyncMode::kPoll;
  } else if (mode != "auto") {
    throw std::invalid_argument("mode must be events, poll or auto, got " + mode);
  }
  if (s.all_fids && s.mode == SyncMode::kPoll) {
    throw std::invalid_argument(
        "fids \"all\" needs mode events (polling every fid of the "
        "network is what the event stream avoids)");
  }
  using std::chrono::milliseconds;
  s.poll_interval =
      milliseconds(std::clamp<std::int64_t>(ctx.setting_int("poll_ms", 200), 10, 60000));
  s.tail_cycle =
      milliseconds(std::clamp<std::int64_t>(ctx.setting_int("tail_ms", 10000), 100, 600000));
  s.rewind = milliseconds(1000 * std::clamp<std::int64_t>(ctx.setting_int("rewind_s", 5), 0, 3600));
  s.backfill_fids = std::clamp<std::int64_t>(ctx.setting_int("backfill_fids", 100), 1, 1000000);
  s.repair_fids = std::clamp<std::int64_t>(ctx.setting_int("repair_fids", 2), 0, 1000000);
  s.event_page_size = static_cast<int>(
      std::clamp<std::int64_t>(ctx.setting_int("event_page_size", 1000), 1, 10000));
  return s;
}

}  // namespace socialai::farcaster
