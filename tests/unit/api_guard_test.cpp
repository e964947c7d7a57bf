// The API's request guards (pure): Host on a loopback listener, same-origin mutations, bearer
// tokens, and check_supported's refusal of cgroup keys.
#include <gtest/gtest.h>

#include "common/config.h"
#include "manager/api_routes.h"
#include "manager/supervisor.h"

namespace socialai::manager {
namespace {

ApiRequest loopback_request() {
  ApiRequest r;
  r.method = "POST";
  r.path = "/api/workers/w/stop";
  r.peer = "127.0.0.1";
  r.peer_loopback = true;
  r.listener_loopback = true;
  r.host = "127.0.0.1:4200";
  return r;
}

TEST(ApiGuard, LoopbackListenerAnswersOnlyLoopbackHostNames) {
  ApiRequest r = loopback_request();
  for (const char* ok : {"127.0.0.1:4200", "localhost:4200", "LocalHost", "[::1]:4200",
                         "127.1.2.3:8080", ""}) {
    r.host = ok;
    EXPECT_FALSE(check_host(r)) << ok;
  }
  for (const char* bad : {"evil.example", "evil.example:4200", "127.0.0.1.evil.example:4200",
                          "localhost.evil.example", "[::2]:4200", "10.0.0.1:4200"}) {
    r.host = bad;
    const auto denied = check_host(r);
    ASSERT_TRUE(denied) << bad;
    EXPECT_EQ(denied->status, 403);
  }
  r.listener_loopback = false;  // a public listener has its own names
  EXPECT_FALSE(check_host(r));
}

TEST(ApiGuard, MutationsFromAnotherOriginAreRefused) {
  ApiRequest r = loopback_request();
  EXPECT_FALSE(check_same_origin(r));  // curl, socialai-ctl: no Origin
  r.origin = "http://127.0.0.1:4200";
  r.fetch_site = "same-origin";
  EXPECT_FALSE(check_same_origin(r));
  r.origin = "HTTP://127.0.0.1:4200";
  EXPECT_FALSE(check_same_origin(r));
  for (const char* bad : {"http://evil.example", "null", "http://127.0.0.1:4201",
                          "https://127.0.0.1:4200", "http://localhost:4200"}) {
    r.origin = bad;
    EXPECT_TRUE(check_same_origin(r)) << bad;
  }
  r.origin.clear();
  for (const char* site : {"cross-site", "same-site"}) {
    r.fetch_site = site;
    EXPECT_TRUE(check_same_origin(r)) << site;
  }
  r.fetch_site = "none";  // typed into the address bar
  EXPECT_FALSE(check_same_origin(r));
  // guard_mutation applies it even with a valid token.
  r.fetch_site = "cross-site";
  r.authorization = "Bearer tok";
  EXPECT_TRUE(guard_mutation(r, "tok"));
}

TEST(ApiGuard, BearerSchemeIsCaseInsensitive) {
  ApiRequest r = loopback_request();
  for (const char* ok : {"Bearer tok", "bearer tok", "BEARER tok", "Bearer   tok"}) {
    r.authorization = ok;
    EXPECT_FALSE(check_admin(r, "tok")) << ok;
  }
  for (const char* bad : {"Bearer tok2", "Bearer to", "Basic tok", "Bearertok", "tok", "Bearer "}) {
    r.authorization = bad;
    EXPECT_TRUE(check_admin(r, "tok")) << bad;
  }
}

TEST(ApiGuard, CgroupKeysAreRefused) {
  const Config ok = parse_config(R"({"workers": {"w": {"path": "/bin/true", "nice": 5}}})", "f",
                                 getenv_lookup);
  EXPECT_NO_THROW(check_supported(ok));
  const Config cpu = parse_config(
      R"({"workers": {"w": {"path": "/bin/true", "cpu_max": "50000 100000"}}})", "f",
      getenv_lookup);
  try {
    check_supported(cpu);
    FAIL() << "cpu_max accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "workers.w.cpu_max");
  }
}

}  // namespace
}  // namespace socialai::manager
