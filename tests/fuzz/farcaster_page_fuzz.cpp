// Farcaster hub answers (both dialects): listing pages, event pages, fid pages, /v1/info and
// error bodies. A hostile or
// truncated body may only be rejected with MalformedResponse, never crash or leak another
// exception; an accepted page keeps its own counts consistent.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "workers/farcaster/hub_api.h"
#include "workers/farcaster/hub_events.h"

using namespace socialai::farcaster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = socialai::fuzz::as_view(data, size);
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] {
    const Page page = parse_page(body);
    const std::size_t rows = page.casts.size() + page.removed_casts.size() + page.reactions.size() +
                             page.links.size() + page.wallets.size() + page.user_data.size();
    FUZZ_CHECK(rows <= page.messages);
  });
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] {
    const EventPage page = parse_events(body);
    for (const HubEvent& e : page.events) {
      FUZZ_CHECK(page.next_page_event_id > e.id || page.next_page_event_id == 0 ||
                 body.find("nextPageEventId") != std::string_view::npos);
    }
  });
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] { parse_fids(body); });
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] { parse_shards(body); });
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] { detect_dialect(body); });
  const std::string reason = error_reason(body);
  FUZZ_CHECK(reason.size() <= body.size() + 64);
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] { base64_decode(body); });
  return 0;
}
