// Farcaster hub event stream wire parsing (see hub_events.h).
#include "workers/farcaster/hub_events.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace socialai::farcaster {
namespace {

using json = nlohmann::json;

std::uint64_t unsigned_value(const json& v, const char* what) {
  if (v.is_number_unsigned()) {
    return v.get<std::uint64_t>();
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  if (v.is_string()) {  // 64-bit ids may come quoted
    const auto& s = v.get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos) {
      try {
        return std::stoull(s);
      } catch (const std::out_of_range&) {  // 20 digits above 2^64 - 1
      }
    }
  }
  throw MalformedResponse(std::string(what) + " is not an unsigned integer");
}

const json& object_field(const json& obj, const char* key, const char* what) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) {
    throw MalformedResponse(std::string(what) + " has no " + key + " object");
  }
  return *it;
}

std::uint64_t message_fid(const json& message) {
  const auto d = message.find("data");
  if (d != message.end() && d->is_object() && d->contains("fid")) {
    return unsigned_value((*d)["fid"], "message.data.fid");
  }
  return 0;
}

HubEvent parse_event(const json& e) {
  if (!e.is_object()) {
    throw MalformedResponse("event is not an object");
  }
  HubEvent ev;
  const auto id = e.find("id");
  if (id == e.end()) {
    throw MalformedResponse("event has no id");
  }
  ev.id = unsigned_value(*id, "event.id");
  const auto type = e.find("type");
  if (type == e.end() || !type->is_string()) {
    throw MalformedResponse("event has no type");
  }
  ev.type = type->get<std::string>();
  if (ev.type == "HUB_EVENT_TYPE_MERGE_MESSAGE") {
    const json& body = object_field(e, "mergeMessageBody", "merge event");
    const json& message = object_field(body, "message", "mergeMessageBody");
    ev.fid = message_fid(message);
    parse_message(message, ev.merged);
    if (const auto d = body.find("deletedMessages"); d != body.end() && !d->is_null()) {
      if (!d->is_array()) {
        throw MalformedResponse("deletedMessages is not an array");
      }
      for (const auto& m : *d) {
        parse_message(m, ev.deleted);
      }
    }
  } else if (ev.type == "HUB_EVENT_TYPE_PRUNE_MESSAGE" ||
             ev.type == "HUB_EVENT_TYPE_REVOKE_MESSAGE") {
    const bool prune = ev.type == "HUB_EVENT_TYPE_PRUNE_MESSAGE";
    const json& body = object_field(e, prune ? "pruneMessageBody" : "revokeMessageBody", "event");
    const json& message =
        object_field(body, "message", prune ? "pruneMessageBody" : "revokeMessageBody");
    ev.fid = message_fid(message);
    parse_message(message, ev.deleted);
  }
  return ev;
}

}  // namespace

EventPage parse_events(std::string_view body) {
  const json j = parse_object(body);
  const auto events = j.find("events");
  if (events == j.end() || !events->is_array()) {
    throw MalformedResponse("body has no events array");
  }
  EventPage page;
  for (std::size_t i = 0; i < events->size(); ++i) {
    try {
      page.events.push_back(parse_event((*events)[i]));
    } catch (const std::exception& e) {
      throw MalformedResponse("event " + std::to_string(i) + ": " + e.what());
    }
  }
  if (const auto n = j.find("nextPageEventId"); n != j.end() && !n->is_null()) {
    page.next_page_event_id = unsigned_value(*n, "nextPageEventId");
  } else {
    // The next read starts after the page's highest id, even if a hub lists them out of order
    // (after the last one listed, it would read again what this page held).
    for (const HubEvent& e : page.events) {
      page.next_page_event_id = std::max(page.next_page_event_id, e.id + 1);
    }
  }
  return page;
}

FidPage parse_fids(std::string_view body) {
  const json j = parse_object(body);
  const auto fids = j.find("fids");
  if (fids == j.end() || !fids->is_array()) {
    throw MalformedResponse("body has no fids array");
  }
  FidPage page;
  for (const auto& f : *fids) {
    page.fids.push_back(unsigned_value(f, "fid"));
  }
  if (const auto t = j.find("nextPageToken"); t != j.end() && !t->is_null()) {
    if (!t->is_string()) {
      throw MalformedResponse("nextPageToken is not a string");
    }
    page.next_page_token = t->get<std::string>();
  }
  return page;
}

std::vector<ShardHead> parse_shards(std::string_view info_body) {
  const json j = parse_object(info_body);
  const auto n = j.find("numShards");
  if (n == j.end()) {
    throw MalformedResponse("/v1/info has no numShards");
  }
  const auto shards = unsigned_value(*n, "numShards");
  if (shards == 0 || shards > 1024) {
    throw MalformedResponse("/v1/info numShards out of range");
  }
  std::vector<ShardHead> out;
  for (std::uint64_t s = 1; s <= shards; ++s) {
    out.push_back({static_cast<int>(s), 0});
  }
  if (const auto infos = j.find("shardInfos"); infos != j.end() && infos->is_array()) {
    for (const auto& i : *infos) {
      if (!i.is_object() || !i.contains("shardId") || !i.contains("maxHeight")) {
        throw MalformedResponse("shardInfos entry without shardId/maxHeight");
      }
      const auto id = unsigned_value(i["shardId"], "shardId");
      if (id >= 1 && id <= shards) {
        out[id - 1].max_height = unsigned_value(i["maxHeight"], "maxHeight");
      }
    }
  }
  return out;
}

}  // namespace socialai::farcaster
