// Reddit answers: token bodies, post (t3) and comment (t1) Listings, base-36 ids. Rejections
// only as MalformedResponse; accepted items carry the kind asked for.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "workers/reddit/reddit_api.h"

using namespace socialai::reddit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = socialai::fuzz::as_view(data, size);
  socialai::fuzz::only_declared_errors<MalformedResponse>([&] { parse_token(body); });
  for (const char* kind : {"t3", "t1"}) {
    socialai::fuzz::only_declared_errors<MalformedResponse>([&] {
      const Listing listing = parse_listing(body, kind);
      for (const auto& item : listing.items) {
        FUZZ_CHECK(item.kind == kind);
        FUZZ_CHECK(item.fullname.rfind(std::string(kind) + "_", 0) == 0);
      }
    });
  }
  parse_base36(body.substr(0, 16));
  return 0;
}
