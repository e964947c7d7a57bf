// Config loading: read, expand ${VAR}, validate every key against what we know, build structs.
#include "common/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/dotenv.h"
#include "common/redact.h"

namespace socialai {

// ordered_json keeps the file's key order, so workers are listed as the operator wrote them.
using json = nlohmann::ordered_json;

ConfigError::ConfigError(std::string file, std::string json_path, std::string reason)
    : std::runtime_error(file + ": " + (json_path.empty() ? std::string("(root)") : json_path) +
                         ": " + reason),
      file_(std::move(file)),
      json_path_(std::move(json_path)),
      reason_(std::move(reason)) {}

const WorkerConfig* Config::find_worker(std::string_view name) const {
  for (const auto& w : workers) {
    if (w.name == name) {
      return &w;
    }
  }
  return nullptr;
}

std::optional<std::string> getenv_lookup(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

std::string expand_env(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      continue;
    }
    // Find the matching '}' (defaults may nest: ${A:-${B}}).
    std::size_t close = std::string_view::npos;
    for (std::size_t k = i + 2, depth = 1; k < text.size(); ++k) {
      if (text[k] == '$' && k + 1 < text.size() && text[k + 1] == '{') {
        ++depth;
        ++k;
      } else if (text[k] == '}' && --depth == 0) {
        close = k;
        break;
      }
    }
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unterminated ${ in \"" + std::string(text) + "\"");
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string name(inner);
    std::optional<std::string> fallback;
    if (const auto sep = inner.find(":-"); sep != std::string_view::npos) {
      name = std::string(inner.substr(0, sep));
      fallback = std::string(inner.substr(sep + 2));
    }
    if (name.empty()) {
      throw std::invalid_argument("empty variable name in \"" + std::string(text) + "\"");
    }
    const auto value = lookup(name);
    if (value && !value->empty()) {
      out += *value;
    } else if (fallback) {
      out += expand_env(*fallback, lookup);
    }
    i = close;
  }
  return out;
}

std::string listen_address_error(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return "must be HOST:PORT, got \"" + listen + "\"";
  }
  const std::string port = listen.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) {
        return ch >= '0' && ch <= '9';
      }) || std::stoul(port) > 65535) {
    return "port must be a number from 0 to 65535, got \"" + port + "\"";
  }
  std::string host = listen.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "localhost") {
    return "";
  }
  unsigned char buf[sizeof(in6_addr)];
  const bool v4 = !bracketed && ::inet_pton(AF_INET, host.c_str(), buf) == 1;
  const bool v6 = bracketed && ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
  if (!v4 && !v6) {
    return "host must be an IPv4 address, [IPv6 address] or localhost, got \"" + host + "\"";
  }
  return "";
}

namespace {

// Worker-specific keys we know, per well-known worker name (typo safety). Any worker may also
// carry a free-form "settings" object.
const std::map<std::string, std::set<std::string>>& known_worker_keys() {
  // The two EVM workers (ethereum, base) run one implementation and take the same keys.
  static const std::set<std::string> kEvmKeys = {
      "rpc_url",
      "chain_id",
      "tokens",
      "collections",
      "wallets",
      "confirmations",
      "ens_registry",
      "ens",
      "requests_per_minute",
      "batch_size",
      "start_block",
      "max_block_range",
      "multicall_address",
      "nft_backfill_from_block",
  };
  // One key per line, so that changes to different workers merge cleanly.
  static const std::map<std::string, std::set<std::string>> kKeys = {
      {"farcaster",
       {
           "hub_url",
           "hub_dialect",
           "fids",
           "max_fids",
           "page_size",
           "requests_per_minute",
           "api_key",
           "mode",
           "poll_ms",
           "tail_ms",
           "rewind_s",
           "backfill_fids",
           "repair_fids",
           "event_page_size",
       }},
      {"reddit",
       {
           "subreddits",
           "client_id",
           "client_secret",
           "base_url",
           "auth_url",
           "user_agent",
           "username",
           "requests_per_minute",
           "comments",
           "limit",
           "max_pages",
           "trees",
           "refresh_max_age_hours",
           "tree_requests",
       }},
      {"ethereum", kEvmKeys},
      {"base", kEvmKeys},
      {"solana",
       {
           "rpc_url",
           "wallets",
           "requests_per_minute",
           "batch_size",
           "signatures_limit",
           "commitment",
       }},
      {"ai",
       {
           "provider",
           "batch_size",
           "base_url",
           "api_key",
           "model",
           "embedding_model",
           "chat_model",
           "dimensions",
           "daily_budget_usd",
           "prices",
           "requests_per_minute",
           "topics_k",
           "recluster_after",
           "index_path",
           "exact_threshold",
       }},
      {"search",
       {
           "batch_size",
           "parallelism",
           "max_cycle_seconds",
           "index_work_mem_mb",
           "query_limit",
       }},
  };
  return kKeys;
}

const std::set<std::string>& healdec_keys() {
  static const std::set<std::string> kKeys = {"max_restarts",  "restart_delay_ms",
                                              "backoff_max_ms", "reset_after_s",
                                              "stop_timeout_ms", "heartbeat_timeout_s",
                                              "failed_cycles_unhealthy"};
  return kKeys;
}

class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& reason) const {
    throw ConfigError(file_, path, reason);
  }

  void expect_object(const json& j, const std::string& path) const {
    if (!j.is_object()) {
      fail(path, "must be an object, got " + std::string(j.type_name()));
    }
  }

  void only_keys(const json& j, const std::string& path, const std::set<std::string>& allowed,
                 const std::set<std::string>& also = {}) const {
    for (const auto& [k, v] : j.items()) {
      if (!allowed.count(k) && !also.count(k)) {
        fail(join(path, k), "unknown key \"" + k + "\"");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  std::string get_string(const json& j, const std::string& path, const std::string& key,
                         const std::string& fallback) const {
    if (!j.contains(key) || j[key].is_null()) {
      return fallback;
    }
    if (!j[key].is_string()) {
      fail(join(path, key), "must be a string");
    }
    return j[key].get<std::string>();
  }

  bool get_bool(const json& j, const std::string& path, const std::string& key,
                bool fallback) const {
    if (!j.contains(key)) {
      return fallback;
    }
    const json& v = j[key];
    if (v.is_boolean()) {
      return v.get<bool>();
    }
    if (v.is_string()) {  // "${X:-true}" expands to a string
      const auto s = v.get<std::string>();
      if (s == "true" || s == "1") {
        return true;
      }
      if (s == "false" || s == "0") {
        return false;
      }
    }
    fail(join(path, key), "must be true or false");
  }

  std::int64_t get_int(const json& j, const std::string& path, const std::string& key,
                       std::int64_t fallback, std::int64_t min, std::int64_t max) const {
    if (!j.contains(key)) {
      return fallback;
    }
    const json& v = j[key];
    std::int64_t n = 0;
    if (v.is_number_integer()) {
      n = v.get<std::int64_t>();
    } else if (v.is_string()) {
      const auto s = v.get<std::string>();
      std::size_t used = 0;
      try {
        n = std::stoll(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != s.size()) {
        fail(join(path, key), "must be an integer, got \"" + s + "\"");
      }
    } else {
      fail(join(path, key), "must be an integer");
    }
    if (n < min || n > max) {
      fail(join(path, key), "must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + ", got " + std::to_string(n));
    }
    return n;
  }

  HealdecSettings healdec(const json& j, const std::string& path, HealdecSettings h) const {
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    constexpr std::int64_t kDay = 86400;
    h.max_restarts = static_cast<int>(get_int(j, path, "max_restarts", h.max_restarts, 0, 1000000));
    h.restart_delay = milliseconds(
        get_int(j, path, "restart_delay_ms", h.restart_delay.count(), 0, kDay * 1000));
    h.backoff_max =
        milliseconds(get_int(j, path, "backoff_max_ms", h.backoff_max.count(), 0, kDay * 1000));
    h.reset_after = seconds(get_int(j, path, "reset_after_s", h.reset_after.count(), 0, kDay));
    h.stop_timeout =
        milliseconds(get_int(j, path, "stop_timeout_ms", h.stop_timeout.count(), 0, 3600000));
    h.heartbeat_timeout = seconds(
        get_int(j, path, "heartbeat_timeout_s", h.heartbeat_timeout.count(), 0, 30 * kDay));
    h.failed_cycles_unhealthy = static_cast<int>(
        get_int(j, path, "failed_cycles_unhealthy", h.failed_cycles_unhealthy, 0, 1000));
    return h;
  }

 private:
  std::string file_;
};

// `lookup`, noting every name it is asked for in `names`.
EnvLookup recording(const EnvLookup& lookup, std::set<std::string>& names) {
  return [&lookup, &names](const std::string& name) {
    names.insert(name);
    return lookup(name);
  };
}

void expand_all(json& j, const EnvLookup& lookup, const Validator& v, const std::string& path) {
  if (j.is_string()) {
    try {
      j = expand_env(j.get<std::string>(), lookup);
      // The file is UTF-8 (the parser checked it), an environment value need not be; every
      // later dump() would throw json::type_error on it.
      static_cast<void>(j.dump());
    } catch (const std::invalid_argument& e) {
      v.fail(path, e.what());
    } catch (const json::type_error&) {
      v.fail(path, "expands to invalid UTF-8 (check the environment variables it uses)");
    }
  } else if (j.is_object()) {
    for (auto& [k, child] : j.items()) {
      expand_all(child, lookup, v, Validator::join(path, k));
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      expand_all(j[i], lookup, v, path + "[" + std::to_string(i) + "]");
    }
  }
}

std::string as_setting_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

WorkerConfig parse_worker(const Validator& v, const std::string& name, const json& j,
                          const HealdecSettings& defaults) {
  const std::string path = "workers." + name;
  v.expect_object(j, path);
  static const std::set<std::string> kCommon = {
      "enabled", "path",    "interval_ms",    "args",     "env",        "max_memory_mb",
      "nice",    "cpu_max", "max_open_files", "settings", "memory_max", "env_passthrough",
      "log_file", "history_days"};
  const auto& known = known_worker_keys();
  const auto it = known.find(name);
  std::set<std::string> specific = it == known.end() ? std::set<std::string>{} : it->second;
  for (const auto& k : healdec_keys()) {
    specific.insert(k);
  }
  v.only_keys(j, path, kCommon, specific);

  WorkerConfig w;
  w.name = name;
  w.enabled = v.get_bool(j, path, "enabled", true);
  w.path = v.get_string(j, path, "path", "socialai-worker-" + name);
  if (w.path.empty()) {
    v.fail(path + ".path", "must not be empty");
  }
  w.interval = std::chrono::milliseconds(
      v.get_int(j, path, "interval_ms", 60000, 10, std::int64_t{7} * 86400 * 1000));
  w.history_days = static_cast<int>(v.get_int(j, path, "history_days", 14, 1, 3650));
  if (j.contains("args")) {
    if (!j["args"].is_array()) {
      v.fail(path + ".args", "must be an array of strings");
    }
    for (const auto& a : j["args"]) {
      if (!a.is_string()) {
        v.fail(path + ".args", "must be an array of strings");
      }
      w.args.push_back(a.get<std::string>());
    }
  }
  if (j.contains("env")) {
    v.expect_object(j["env"], path + ".env");
    for (const auto& [k, val] : j["env"].items()) {
      if (!val.is_string()) {
        v.fail(path + ".env." + k, "must be a string");
      }
      w.env[k] = val.get<std::string>();
    }
  }
  if (j.contains("log_file") && !j["log_file"].is_null()) {
    w.log_file = v.get_string(j, path, "log_file", "");
    if (w.log_file->empty()) {
      w.log_file.reset();
    }
  }
  if (j.contains("env_passthrough")) {
    const json& p = j["env_passthrough"];
    if (!p.is_array()) {
      v.fail(path + ".env_passthrough", "must be an array of variable names");
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::string var = p[i].is_string() ? p[i].get<std::string>() : std::string();
      if (var.empty() || var.find('=') != std::string::npos) {
        v.fail(path + ".env_passthrough[" + std::to_string(i) + "]",
               "must be a variable name");
      }
      w.env_passthrough.push_back(var);
    }
  }
  w.healdec = v.healdec(j, path, defaults);
  if (j.contains("max_memory_mb")) {
    w.max_memory_mb = v.get_int(j, path, "max_memory_mb", 0, 1, 1 << 24);
  }
  if (j.contains("max_open_files")) {
    w.max_open_files = v.get_int(j, path, "max_open_files", 0, 16, 1 << 24);
  }
  if (j.contains("nice")) {
    w.nice = v.get_int(j, path, "nice", 0, -20, 19);
  }
  if (j.contains("cpu_max")) {
    w.cpu_max = v.get_string(j, path, "cpu_max", "");
  }
  if (j.contains("memory_max")) {
    w.memory_max = v.get_string(j, path, "memory_max", "");
  }
  for (const auto& key : specific) {
    if (j.contains(key) && !healdec_keys().count(key)) {
      w.settings[key] = as_setting_text(j[key]);
    }
  }
  if (j.contains("settings")) {
    v.expect_object(j["settings"], path + ".settings");
    for (const auto& [k, val] : j["settings"].items()) {
      w.settings[k] = as_setting_text(val);
    }
  }
  return w;
}

}  // namespace

Config parse_config(std::string_view json_text, const std::string& file,
                    const EnvLookup& lookup, const std::string& only_worker) {
  const Validator v(file);
  json doc;
  try {
    doc = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/true,
                      /*ignore_comments=*/true);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    v.fail("", std::string("invalid JSON: ") + e.what());
  }
  v.expect_object(doc, "");
  v.only_keys(doc, "", {"database", "http", "log", "healdec", "workers"});
  // Which variables each part of the file names: a worker's environment carries only those of
  // its own section and of the parts every worker parses again (database, log, healdec, http
  // but its admin_token), never the manager's secret or another worker's. A worker re-reads
  // the whole file, so it needs the common parts' variables to validate it as the manager did.
  std::map<std::string, std::set<std::string>> refs;  // "" = common, else worker name
  const auto skipped = [&only_worker](const std::string& name) {
    return !only_worker.empty() && name != only_worker;
  };
  for (auto& [section, value] : doc.items()) {
    if (section == "workers" && value.is_object()) {
      for (auto& [name, wj] : value.items()) {
        if (skipped(name)) {
          continue;
        }
        auto& mine = refs[name];
        expand_all(wj, recording(lookup, mine), v, "workers." + name);
      }
    } else if (section == "http" && value.is_object()) {
      for (auto& [key, hv] : value.items()) {
        expand_all(hv, key == "admin_token" ? lookup : recording(lookup, refs[""]), v,
                   "http." + key);
      }
    } else {
      expand_all(value, recording(lookup, refs[""]), v, section);
    }
  }

  Config c;
  c.file = file;
  if (doc.contains("database")) {
    const json& d = doc["database"];
    v.expect_object(d, "database");
    v.only_keys(d, "database", {"url", "migrate_on_start"});
    c.database.url = v.get_string(d, "database", "url", "");
    c.database.migrate_on_start = v.get_bool(d, "database", "migrate_on_start", true);
  }
  if (doc.contains("http")) {
    const json& h = doc["http"];
    v.expect_object(h, "http");
    v.only_keys(h, "http", {"listen", "admin_token"});
    c.http.listen = v.get_string(h, "http", "listen", c.http.listen);
    c.http.admin_token = v.get_string(h, "http", "admin_token", "");
    if (const std::string why = listen_address_error(c.http.listen); !why.empty()) {
      v.fail("http.listen", why);
    }
  }
  if (doc.contains("log")) {
    const json& l = doc["log"];
    v.expect_object(l, "log");
    v.only_keys(l, "log",
                {"format", "file", "max_bytes", "max_files", "timestamps", "stderr_tag", "journal"});
    c.log.format = v.get_string(l, "log", "format", "text");
    if (c.log.format != "text" && c.log.format != "json") {
      v.fail("log.format", "must be \"text\" or \"json\", got \"" + c.log.format + "\"");
    }
    if (l.contains("file") && !l["file"].is_null()) {
      c.log.file = v.get_string(l, "log", "file", "");
      if (c.log.file->empty()) {
        c.log.file.reset();
      }
    }
    c.log.max_bytes = static_cast<std::uint64_t>(
        v.get_int(l, "log", "max_bytes", 104857600, 4096, std::int64_t{1} << 40));
    c.log.max_files = static_cast<int>(v.get_int(l, "log", "max_files", 5, 1, 1000));
    for (auto [key, field] : {std::pair{"timestamps", &c.log.timestamps},
                              std::pair{"journal", &c.log.journal}}) {
      *field = v.get_string(l, "log", key, *field);
      if (*field != "auto" && *field != "always" && *field != "never") {
        v.fail(std::string("log.") + key,
               "must be \"auto\", \"always\" or \"never\", got \"" + *field + "\"");
      }
    }
    c.log.stderr_tag = v.get_string(l, "log", "stderr_tag", c.log.stderr_tag);
    if (c.log.stderr_tag.find_first_of("[]\n\r") != std::string::npos ||
        c.log.stderr_tag.size() > 16) {
      v.fail("log.stderr_tag", "at most 16 characters, no brackets or line breaks");
    }
  }
  if (doc.contains("healdec")) {
    v.expect_object(doc["healdec"], "healdec");
    v.only_keys(doc["healdec"], "healdec", healdec_keys());
    c.healdec = v.healdec(doc["healdec"], "healdec", c.healdec);
  }
  if (doc.contains("workers")) {
    v.expect_object(doc["workers"], "workers");
    for (const auto& [name, section] : doc["workers"].items()) {
      if (skipped(name)) {
        continue;
      }
      if (name.empty() || name.find_first_of("/ \t") != std::string::npos) {
        v.fail("workers." + name, "invalid worker name");
      }
      c.workers.push_back(parse_worker(v, name, section, c.healdec));
      const auto& mine = refs[name];
      c.workers.back().env_refs.assign(mine.begin(), mine.end());
    }
  }
  c.common_env_refs.assign(refs[""].begin(), refs[""].end());
  c.resolved_json = doc.dump(2);
  return c;
}

Config load_config(const std::string& path, const std::string& only_worker) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path, "", "cannot open file");
  }
  const auto dir = std::filesystem::path(path).parent_path();
  load_dotenv((dir.empty() ? std::filesystem::path(".") : dir) / ".env");
  load_dotenv(".env");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, getenv_lookup, only_worker);
}

namespace {

bool is_secret_key(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), ::tolower);
  for (const char* s : {"token", "secret", "password", "api_key", "apikey", "key"}) {
    if (key.find(s) != std::string::npos) {
      return true;
    }
  }
  return false;
}

void redact(json& j, const std::string& key) {
  if (j.is_string()) {
    const std::string text = j.get<std::string>();
    if (!key.empty() && is_secret_key(key) && !text.empty()) {
      j = "***";
    } else if (key == "url" || text.find("password") != std::string::npos) {
      j = redact_db_url(text);  // database.url (URL or key=value form): hide the password
    } else if (text.find("://") != std::string::npos) {
      j = redact_url(text);
    }
  } else if (j.is_object()) {
    for (auto& [k, child] : j.items()) {
      redact(child, k);
    }
  } else if (j.is_array()) {
    for (auto& child : j) {
      redact(child, "");
    }
  }
}

}  // namespace

bool is_known_setting(const std::string& worker, const std::string& key) {
  const auto& known = known_worker_keys();
  const auto it = known.find(worker);
  return it == known.end() || key == "interval_ms" || it->second.count(key) > 0;
}

std::string redacted_config_json(const Config& config) {
  json doc = json::parse(config.resolved_json);
  redact(doc, "");
  return doc.dump(2);
}

}  // namespace socialai
