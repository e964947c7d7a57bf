// Fuzzes socialai::parse_config (JSON text -> validated Config, ${VAR} / ${VAR:-default}
// expansion) and redacted_config_json. A ConfigError is the expected answer to bad input;
// any other exception, a crash, a leak or undefined behaviour is a finding. For an accepted
// config it also checks that the redacted document is valid JSON and that re-parsing the
// resolved document (no variables left to expand) gives the same workers.
//
// Input: the config file's text, as is. The environment is a fixed table with hostile values
// (quotes, "${", "$$", invalid UTF-8, a long value) so expansions reach every path.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "fuzz_support.h"

namespace {

std::optional<std::string> lookup(const std::string& name) {
  static const std::map<std::string, std::string> kEnv = {
      {"DATABASE_URL", "postgresql://user:pw@db.example:5432/socialai?sslmode=require"},
      {"EMPTY", ""},
      {"TOKEN", "s3cret-admin-token"},
      {"PORT", "4200"},
      {"LISTEN", "127.0.0.1:4200"},
      {"NUM", "60000"},
      {"NEG", "-5"},
      {"BIG", "99999999999999999999999"},
      {"TRUE", "true"},
      {"QUOTE", "\"},{\"injected\":1"},
      {"DOLLAR", "${TOKEN}"},
      {"DOLLARS", "$$"},
      {"NESTED", "${NESTED}"},
      {"BAD_UTF8", "\xff\xfe\xc3"},
      {"NUL", std::string("a\0b", 3)},
      {"LONG", std::string(4096, 'x')},
  };
  const auto it = kEnv.find(name);
  if (it == kEnv.end()) {
    return std::nullopt;
  }
  return it->second;
}

// Values of the variables above that contain '$': re-parsing the resolved document would
// expand them again, so the round-trip check is skipped when they were used.
bool uses_dollar_values(std::string_view text) {
  return text.find("DOLLAR") != std::string_view::npos ||
         text.find("NESTED") != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = socialai::fuzz::as_view(data, size);
  socialai::Config config;
  try {
    config = socialai::parse_config(text, "fuzz.json", lookup);
  } catch (const socialai::ConfigError& e) {
    FUZZ_CHECK(e.file() == "fuzz.json");
    FUZZ_CHECK(!e.reason().empty());
    return 0;
  }
  // Accepted: the promised invariants of a valid config.
  FUZZ_CHECK(config.log.format == "text" || config.log.format == "json");
  for (const auto& w : config.workers) {
    FUZZ_CHECK(!w.name.empty());
    FUZZ_CHECK(!w.path.empty());
    FUZZ_CHECK(config.find_worker(w.name) != nullptr);
  }
  const std::string redacted = socialai::redacted_config_json(config);
  FUZZ_CHECK(nlohmann::json::accept(redacted));
  if (!uses_dollar_values(text) && config.resolved_json.find('$') == std::string::npos) {
    socialai::Config again = socialai::parse_config(config.resolved_json, "fuzz.json", lookup);
    // The resolved text names no variables any more; all else must be the same.
    for (auto* c : {&again, &config}) {
      for (auto& w : c->workers) {
        w.env_refs.clear();
      }
    }
    FUZZ_CHECK(again.workers == config.workers);
    FUZZ_CHECK(again.healdec == config.healdec);
    FUZZ_CHECK(again.database.url == config.database.url);
    FUZZ_CHECK(again.http.listen == config.http.listen);
  }
  return 0;
}
