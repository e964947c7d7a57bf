// DevnetProcess: runs the real socialai-devnet binary on a free loopback port for integration,
// system and benchmark tests.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::testing {

class DevnetProcess {
 public:
  // Starts `socialai-devnet --listen 127.0.0.1:0 --seed <seed> <extra_args...>` and waits until
  // it prints its port. Throws std::runtime_error (with its stderr) if it does not come up.
  explicit DevnetProcess(const std::vector<std::string>& extra_args = {}, std::uint64_t seed = 1);
  ~DevnetProcess();  // SIGTERM, then SIGKILL after 2 s
  DevnetProcess(const DevnetProcess&) = delete;
  DevnetProcess& operator=(const DevnetProcess&) = delete;

  int port() const { return port_; }
  int pid() const { return pid_; }
  // "http://127.0.0.1:<port>" + path, e.g. url("/farcaster").
  std::string url(const std::string& path = "") const;
  // GET/POST against the devnet without retries; throws on a transport error or a non-2xx.
  nlohmann::json get(const std::string& path) const;
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const;
  // POST /_devnet/faults: {"service": service, "rate": rate, "kinds": kinds}.
  void set_faults(const std::string& service, double rate,
                  const std::vector<std::string>& kinds = {"429", "5xx", "truncate", "malformed"});
  std::string stderr_text() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace socialai::testing
