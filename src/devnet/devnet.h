// socialai-devnet: one loopback HTTP server that simulates the external services the workers
// talk to (SPEC §9). Each simulated service is a Service mounted under a path prefix
// ("/farcaster", "/reddit", "/evm", "/solana", "/openai"); the server strips the prefix, applies
// the fault injection configured for that service and hands the request over.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace socialai::devnet {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received, with the mount prefix and query
  std::string path;    // without the mount prefix and query, e.g. "/v1/castsByFid"
  std::map<std::string, std::string> query;    // percent-decoded; last value wins
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> param(const std::string& name) const;
  std::string header(const std::string& lower_name) const;  // "" when absent
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body);
};

// Flags of the form --key value, consumed by whoever reads them; main() rejects flags no one
// read, so a typo in a service flag is an error instead of a silently ignored setting.
class Options {
 public:
  void set(const std::string& key, const std::string& value) { values_[key] = value; }
  std::string str(const std::string& key, const std::string& fallback);
  std::int64_t integer(const std::string& key, std::int64_t fallback);
  double real(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);
  std::vector<std::string> unused() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

class Service {
 public:
  virtual ~Service() = default;
  // Short name: fault scoping, stats and control routes (/_devnet/<name>/...).
  virtual std::string name() const = 0;
  // Path prefix the service is mounted under, e.g. "/farcaster". Longest prefix wins.
  virtual std::string mount() const = 0;
  // Handles one request. The server calls every service under one lock, so services need no
  // locking of their own and, given the same request order, answer deterministically.
  virtual Response handle(const Request& request) = 0;
  // /_devnet/<name>/<path>: test and demo controls (truth data, reorg injection, ...).
  virtual Response control(const Request& request);
};

enum class Fault { kTooManyRequests, kServerError, kTruncated, kMalformed };

struct FaultConfig {
  double rate = 0.0;  // share of requests that get one of `kinds`
  std::vector<Fault> kinds{Fault::kTooManyRequests, Fault::kServerError, Fault::kTruncated,
                           Fault::kMalformed};
  int retry_after_s = 1;  // Retry-After of injected 429s
  int latency_ms = 0;     // added before every answer
};

// "429,5xx,truncate,malformed" (also "500"); throws std::invalid_argument naming a bad kind.
std::vector<Fault> parse_fault_kinds(const std::string& list);
std::string fault_name(Fault f);

// Factories, one per simulated service (each in its own source file). They read their flags
// from `options` (prefixed with the service name, e.g. --farcaster-users) and derive all data
// from `seed`.
std::unique_ptr<Service> make_farcaster_service(Options& options, std::uint64_t seed);
std::unique_ptr<Service> make_reddit_service(Options& options, std::uint64_t seed);
std::unique_ptr<Service> make_evm_service(Options& options, std::uint64_t seed);
std::unique_ptr<Service> make_solana_service(Options& options, std::uint64_t seed);
std::unique_ptr<Service> make_openai_service(Options& options, std::uint64_t seed);

class Server {
 public:
  // Binds at once (port 0 picks a free one); throws std::runtime_error on failure.
  Server(const std::string& host, int port, std::uint64_t seed, FaultConfig defaults);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void add(std::unique_ptr<Service> service);
  int port() const;
  // Serves until stop() (from a signal handler thread or another thread).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace socialai::devnet
