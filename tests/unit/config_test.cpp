// Config: ${VAR} expansion, strict keys, typed values, redaction.
#include "common/config.h"

#include "common/db.h"
#include "common/redact.h"

#include <gtest/gtest.h>

#include <map>

namespace socialai {
namespace {

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    const auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ExpandEnv, VariablesAndDefaults) {
  const auto e = env({{"A", "1"}, {"EMPTY", ""}});
  EXPECT_EQ(expand_env("x${A}y", e), "x1y");
  EXPECT_EQ(expand_env("${MISSING}", e), "");
  EXPECT_EQ(expand_env("${MISSING:-dflt}", e), "dflt");
  EXPECT_EQ(expand_env("${EMPTY:-dflt}", e), "dflt");
  EXPECT_EQ(expand_env("${A:-dflt}", e), "1");
  EXPECT_EQ(expand_env("${MISSING:-${A}}", e), "1");
  EXPECT_EQ(expand_env("cost $$5 $x", e), "cost $5 $x");
  EXPECT_THROW(expand_env("${A", e), std::invalid_argument);
}

TEST(Config, ParsesTypedSections) {
  const auto c = parse_config(R"({
    "database": {"url": "${DB:-postgresql:///x}", "migrate_on_start": false},
    "http": {"listen": "127.0.0.1:4201", "admin_token": "${TOKEN}"},
    "healdec": {"max_restarts": 2, "restart_delay_ms": 10},
    "workers": {
      "search": {"interval_ms": 500, "batch_size": 7, "max_restarts": 9},
      "custom": {"path": "/bin/true", "args": ["-x"], "env": {"K": "v"}, "settings": {"a": [1]},
                 "enabled": "${ON:-false}"}
    }})",
                              "c.json", env({{"TOKEN", "s3cret"}}));
  EXPECT_EQ(c.database.url, "postgresql:///x");
  EXPECT_FALSE(c.database.migrate_on_start);
  EXPECT_EQ(c.http.admin_token, "s3cret");
  ASSERT_EQ(c.workers.size(), 2u);
  const auto* s = c.find_worker("search");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->interval, std::chrono::milliseconds(500));
  EXPECT_EQ(s->settings.at("batch_size"), "7");
  EXPECT_EQ(s->healdec.max_restarts, 9);
  EXPECT_EQ(s->healdec.restart_delay, std::chrono::milliseconds(10));  // inherited
  EXPECT_EQ(s->path, "socialai-worker-search");
  const auto* custom = c.find_worker("custom");
  EXPECT_FALSE(custom->enabled);
  EXPECT_EQ(custom->args, std::vector<std::string>{"-x"});
  EXPECT_EQ(custom->env.at("K"), "v");
  EXPECT_EQ(custom->settings.at("a"), "[1]");
}

void expect_error(const std::string& json, const std::string& path, const std::string& reason) {
  try {
    parse_config(json, "bad.json", env({}));
    FAIL() << "no ConfigError for " << json;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "bad.json");
    EXPECT_EQ(e.json_path(), path);
    EXPECT_NE(e.reason().find(reason), std::string::npos) << e.reason();
  }
}

TEST(Config, ErrorsNameTheKey) {
  expect_error(R"({"databse": {}})", "databse", "unknown key");
  expect_error(R"({"workers": {"farcaster": {"hub_ur": "x"}}})", "workers.farcaster.hub_ur",
               "unknown key");
  expect_error(R"({"workers": {"search": {"interval_ms": "soon"}}})", "workers.search.interval_ms",
               "integer");
  expect_error(R"({"workers": {"search": {"interval_ms": 1}}})", "workers.search.interval_ms",
               "between");
  expect_error(R"({"healdec": {"max_restarts": -1}})", "healdec.max_restarts", "between");
  expect_error(R"({"log": {"format": "xml"}})", "log.format", "text");
  expect_error(R"({"http": {"listen": "nowhere"}})", "http.listen", "HOST:PORT");
  expect_error(R"({"workers": [1]})", "workers", "object");
  expect_error(R"({"workers": {)", "", "invalid JSON");
  expect_error(R"({"workers": {"x": {"args": "no"}}})", "workers.x.args", "array");
  // Found by fuzzing: a number beyond double made nlohmann throw out_of_range, not parse_error.
  expect_error(R"({"log": {"max_bytes": 2e9910}})", "", "invalid JSON");
}

// Found by fuzzing (tests/fuzz/corpus/config/regress_env_invalid_utf8.json): an environment
// value that is not UTF-8 made parse_config throw nlohmann's type_error, not a ConfigError.
TEST(Config, EnvValueWithInvalidUtf8IsAConfigError) {
  try {
    parse_config(R"({"workers": {"reddit": {"subreddits": ["${BAD}"]}}})", "bad.json",
                 env({{"BAD", "\xff\xfe"}}));
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "workers.reddit.subreddits[0]");
    EXPECT_NE(e.reason().find("UTF-8"), std::string::npos) << e.reason();
  }
}

TEST(Config, RedactsSecrets) {
  const auto c = parse_config(R"({
    "database": {"url": "postgresql://u:pw@db/x"},
    "http": {"admin_token": "tok"},
    "workers": {"ethereum": {"rpc_url": "https://eth.example/v2/abcdefghijklmnopqrstuvwxyz123",
                             "env": {"API_KEY": "k"}},
                "ai": {"base_url": "https://api.example/v1?key=zzz"}}})",
                              "c.json", env({}));
  const std::string out = redacted_config_json(c);
  for (const char* secret : {"pw@", "\"tok\"", "abcdefghijklmnopqrstuvwxyz123", "\"k\"", "zzz"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " in " << out;
  }
  EXPECT_NE(out.find("eth.example"), std::string::npos);
}

}  // namespace
}  // namespace socialai

namespace socialai {
namespace {

TEST(Config, ListenAddressIsValidated) {
  EXPECT_EQ(listen_address_error("127.0.0.1:4200"), "");
  EXPECT_EQ(listen_address_error("0.0.0.0:0"), "");
  EXPECT_EQ(listen_address_error("localhost:65535"), "");
  EXPECT_EQ(listen_address_error("[::1]:80"), "");
  EXPECT_NE(listen_address_error("127.0.0.1:99999").find("port"), std::string::npos);
  EXPECT_NE(listen_address_error("127.0.0.1:-1").find("port"), std::string::npos);
  EXPECT_NE(listen_address_error("127.0.0.1:80x"), "");
  EXPECT_NE(listen_address_error("300.1.1.1:80").find("host"), std::string::npos);
  EXPECT_NE(listen_address_error("db.example:80"), "");
  EXPECT_NE(listen_address_error("::1:80"), "");  // IPv6 needs brackets
  EXPECT_NE(listen_address_error("4200"), "");
  try {
    parse_config(R"({"http": {"listen": "127.0.0.1:99999"}})", "f.json", env({}));
    FAIL() << "accepted port 99999";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "http.listen");
  }
}

TEST(Config, EachWorkerRecordsTheVariablesItsSectionNames) {
  const auto c = parse_config(R"({
    "database": {"url": "${DATABASE_URL:-postgresql:///x}"},
    "http": {"admin_token": "${ADMIN}", "listen": "${LISTEN_HOST:-127.0.0.1}:4200"},
    "healdec": {"max_restarts": "${MAX_RESTARTS:-3}"},
    "workers": {
      "a": {"path": "/bin/true", "env": {"U": "${A_URL}"}, "settings": {"k": "${A_KEY:-${A_FALLBACK}}"}},
      "b": {"path": "/bin/true", "env_passthrough": ["HTTPS_PROXY"], "args": ["${B_ARG}"]}
    }})",
                              "f.json", env({}));
  // Workers re-read the whole file: what its common parts name goes to all; never the token.
  EXPECT_EQ(c.common_env_refs,
            (std::vector<std::string>{"DATABASE_URL", "LISTEN_HOST", "MAX_RESTARTS"}));
  ASSERT_EQ(c.workers.size(), 2u);
  EXPECT_EQ(c.workers[0].env_refs, (std::vector<std::string>{"A_FALLBACK", "A_KEY", "A_URL"}));
  EXPECT_EQ(c.workers[1].env_refs, std::vector<std::string>{"B_ARG"});
  EXPECT_EQ(c.workers[1].env_passthrough, std::vector<std::string>{"HTTPS_PROXY"});
  EXPECT_THROW(parse_config(R"({"workers": {"a": {"env_passthrough": ["A=B"]}}})", "f",
                            env({})),
               ConfigError);
  EXPECT_THROW(parse_config(R"({"workers": {"a": {"env_passthrough": "A"}}})", "f", env({})),
               ConfigError);
}

// A worker's environment carries only its own section's variables (and the common ones), so
// when it reads the file it must not expand or validate the other workers' sections: another
// worker's typed key written as a variable would fail its parse, and looking the variables up
// would be looking for secrets that are not its own.
TEST(Config, AWorkerReadsOnlyItsOwnSection) {
  const std::string text = R"({
    "database": {"url": "${DATABASE_URL:-postgresql:///x}"},
    "workers": {
      "a": {"path": "/bin/true", "interval_ms": "${A_INTERVAL:-500}"},
      "b": {"path": "/bin/true", "interval_ms": "${B_INTERVAL}", "env": {"K": "${B_SECRET}"}}
    }})";
  std::vector<std::string> looked_up;
  const EnvLookup recording = [&](const std::string& k) -> std::optional<std::string> {
    looked_up.push_back(k);
    return std::nullopt;
  };
  EXPECT_THROW(parse_config(text, "f.json", recording), ConfigError);  // b's "" is no number
  looked_up.clear();
  const Config a = parse_config(text, "f.json", recording, "a");
  ASSERT_EQ(a.workers.size(), 1u);
  EXPECT_EQ(a.workers[0].name, "a");
  EXPECT_EQ(a.workers[0].interval.count(), 500);
  for (const auto& k : looked_up) {
    EXPECT_EQ(k.rfind("B_", 0), std::string::npos) << k;
  }
  // Its own section is still checked.
  EXPECT_THROW(parse_config(R"({"workers": {"a": {"intervall_ms": 5}, "b": {}}})", "f", env({}),
                            "a"),
               ConfigError);
}

TEST(Config, KeywordFormDatabasePasswordsAreRedacted) {
  for (const std::string url :
       {"host=h user=u password=hunter2 dbname=d", "host=h password = 'hun ter\\' 2' dbname=d",
        "password=hunter2", "postgresql://u:hunter2@h/d", "postgresql://u@h/d?password=hunter2",
        "postgres://u@h/d?sslmode=disable&sslpassword=hunter2#x"}) {
    const auto c = parse_config(R"({"database": {"url": "${U}"}})", "f", env({{"U", url}}));
    const std::string out = redacted_config_json(c);
    EXPECT_EQ(out.find("hunter2"), std::string::npos) << url << " -> " << out;
    EXPECT_EQ(out.find("hun"), std::string::npos) << out;
    EXPECT_NE(out.find("***"), std::string::npos) << out;
  }
  // Free text that quotes a connection string (an error message) is masked as well, up to
  // the next space (a password may hold quotes).
  EXPECT_EQ(redact_db_url("connect \"host=h password=hunter2\" failed"),
            "connect \"host=h password=*** failed");
  EXPECT_EQ(redact_db_url("host=h user=u dbname=d"), "host=h user=u dbname=d");
}

TEST(Config, KnownSettingNames) {
  EXPECT_TRUE(is_known_setting("farcaster", "hub_url"));
  EXPECT_TRUE(is_known_setting("farcaster", "interval_ms"));
  EXPECT_FALSE(is_known_setting("farcaster", "hub_ulr"));
  EXPECT_TRUE(is_known_setting("my-custom-worker", "anything"));  // unknown workers: no check
}

TEST(Db, ConnectTimeoutIsAddedUnlessSet) {
  EXPECT_EQ(with_connect_timeout("postgresql:///x", 10), "postgresql:///x?connect_timeout=10");
  EXPECT_EQ(with_connect_timeout("postgresql://h/x?host=/run&port=5", 10),
            "postgresql://h/x?host=/run&port=5&connect_timeout=10");
  EXPECT_EQ(with_connect_timeout("host=h dbname=x", 3), "host=h dbname=x connect_timeout=3");
  EXPECT_EQ(with_connect_timeout("", 3), "connect_timeout=3");
  EXPECT_EQ(with_connect_timeout("host=h connect_timeout=1", 3), "host=h connect_timeout=1");
}

}  // namespace
}  // namespace socialai
