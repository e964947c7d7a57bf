// The one JSON configuration shared by the manager and the workers: typed structs, ${VAR}
// expansion, .env loading and strict validation (unknown key -> ConfigError naming it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace socialai {

// Exit status for an invalid configuration (sysexits.h EX_CONFIG).
inline constexpr int kExitConfig = 78;

// An invalid configuration: which file, where in it (JSON path such as
// "workers.search.interval_ms") and what is wrong.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string json_path, std::string reason);
  const std::string& file() const { return file_; }
  const std::string& json_path() const { return json_path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, json_path_, reason_;
};

struct HealdecSettings {
  int max_restarts = 5;
  std::chrono::milliseconds restart_delay{5000};
  std::chrono::milliseconds backoff_max{300000};
  std::chrono::seconds reset_after{600};
  std::chrono::milliseconds stop_timeout{10000};
  std::chrono::seconds heartbeat_timeout{900};
  // A running worker whose last this-many finished cycles all failed is unhealthy (0 = never).
  int failed_cycles_unhealthy = 3;
  bool operator==(const HealdecSettings&) const = default;
};

struct WorkerConfig {
  std::string name;
  bool enabled = true;
  std::string path;  // as written; resolved by the manager
  std::chrono::milliseconds interval{60000};
  // Days of worker_runs and worker_errors rows the worker keeps (it prunes older ones hourly).
  int history_days = 14;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  // Variables the worker may inherit from the manager besides the common ones: those named
  // in env_passthrough, and those its own section references as ${VAR} (env_refs).
  std::vector<std::string> env_passthrough;
  std::vector<std::string> env_refs;
  HealdecSettings healdec;
  std::optional<std::int64_t> max_memory_mb, max_open_files, nice;
  std::optional<std::string> cpu_max, memory_max;
  // A copy of this worker's lines alone (supervisord's per-program log), rotated like log.file.
  std::optional<std::string> log_file;
  // Worker-specific keys (hub_url, rpc_url, subreddits, ...) and the free-form "settings"
  // object, as text: strings as they are, other JSON values serialized. Database settings
  // rows `<name>_<key>` override these at run time.
  std::map<std::string, std::string> settings;
  bool operator==(const WorkerConfig&) const = default;
};

struct Config {
  std::string file;  // path it was loaded from ("" when parsed from memory)
  struct Database {
    std::string url;
    bool migrate_on_start = true;
  } database;
  struct Http {
    std::string listen = "127.0.0.1:4200";
    std::string admin_token;
  } http;
  struct Log {
    std::string format = "text";
    std::optional<std::string> file;
    std::uint64_t max_bytes = 104857600;
    int max_files = 5;
    // Text mode: stamp a child's line with its receive time when it carries no timestamp
    // ("auto"), always, or never.
    std::string timestamps = "auto";
    std::string stderr_tag = ":err";  // stderr lines are "[name:err] …"; "" merges the streams
    // Structured journal entries: "auto" when stdout is the journal (JOURNAL_STREAM), or
    // "always", or "never".
    std::string journal = "auto";
  } log;
  HealdecSettings healdec;
  std::vector<WorkerConfig> workers;  // file order
  std::vector<std::string> common_env_refs;  // ${VAR}s of database and log (every worker's)
  std::string resolved_json;          // the expanded document, for --check-config

  const WorkerConfig* find_worker(std::string_view name) const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Expands ${VAR} and ${VAR:-default} (default used when VAR is unset or empty). An unset
// ${VAR} becomes "". "$$" stands for a literal "$". Throws std::invalid_argument on an
// unterminated "${".
std::string expand_env(std::string_view text, const EnvLookup& lookup);

// Reads the file, loads a .env beside it (and one in the working directory), expands and
// validates. Throws ConfigError. With `only_worker` (a worker reading the file the manager
// already validated) the other workers' sections are neither expanded nor validated: the
// worker's environment does not carry their ${VAR}s, so a typed key written as one (e.g.
// "interval_ms": "${X}") would fail there; they are left out of Config::workers.
Config load_config(const std::string& path, const std::string& only_worker = "");

// Validates an already-read document (tests use this). Throws ConfigError.
Config parse_config(std::string_view json_text, const std::string& file, const EnvLookup& lookup,
                    const std::string& only_worker = "");

// The resolved document with secrets replaced by "***" (tokens, passwords, keys, URL
// credentials and query strings).
std::string redacted_config_json(const Config& config);

// Why `listen` ("HOST:PORT", HOST an IPv4 literal, [IPv6] or localhost, PORT 0-65535) is not a
// usable http.listen value; "" when it is.
std::string listen_address_error(const std::string& listen);

// Whether `key` is a setting worker `worker` reads (settings rows "<worker>_<key>"): always
// true for a worker name we do not know (any executable can be a worker).
bool is_known_setting(const std::string& worker, const std::string& key);

// Default lookup: getenv.
std::optional<std::string> getenv_lookup(const std::string& name);

}  // namespace socialai
