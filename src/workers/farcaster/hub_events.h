// Farcaster hub event stream wire parsing (pure, no I/O): GET /v1/events pages, GET /v1/fids
// pages, and the shards and heights in Snapchain's /v1/info; plus the event id layouts of the
// two hubs. Message bodies go through hub_api's parse_message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workers/farcaster/hub_api.h"

namespace socialai::farcaster {

// Hubble: id = (ms since the Farcaster epoch << 12) | sequence.
constexpr int kHubbleEventSeqBits = 12;
// Snapchain: id = (block height << 14) | index within the block.
constexpr int kSnapchainEventSeqBits = 14;

struct HubEvent {
  std::uint64_t id = 0;
  std::string type;  // HUB_EVENT_TYPE_MERGE_MESSAGE, ..._PRUNE_MESSAGE, ..._REVOKE_MESSAGE, ...
  std::uint64_t fid = 0;  // the message's fid; 0 for events that carry no message
  // MERGE_MESSAGE: the merged message's rows (adds as rows, removes in removed_*).
  Page merged;
  // Rows that are gone: MERGE_MESSAGE deletedMessages, and the message of PRUNE_MESSAGE and
  // REVOKE_MESSAGE. Adds listed here are to be deleted; removes listed here mean nothing.
  Page deleted;
};

struct EventPage {
  std::vector<HubEvent> events;
  std::uint64_t next_page_event_id = 0;  // where the next read starts
};

// Parses a /v1/events body ({"events": [...], "nextPageEventId": N}). Events of other types
// (BLOCK_CONFIRMED, on-chain events, ...) are kept with their id and nothing else. A missing
// nextPageEventId is taken as the last id + 1 (or 0 for an empty page: the caller keeps its
// position). Throws MalformedResponse naming the cause; nothing partial is returned.
EventPage parse_events(std::string_view body);

struct FidPage {
  std::vector<std::uint64_t> fids;
  std::string next_page_token;  // empty after the last page
};

// Parses a /v1/fids body ({"fids": [...], "nextPageToken": ...}). Throws MalformedResponse.
FidPage parse_fids(std::string_view body);

struct ShardHead {
  int shard = 0;
  std::uint64_t max_height = 0;
};

// Snapchain /v1/info: the user shards (1..numShards; shard 0 only orders blocks) and their
// heights. Throws MalformedResponse.
std::vector<ShardHead> parse_shards(std::string_view info_body);

}  // namespace socialai::farcaster
