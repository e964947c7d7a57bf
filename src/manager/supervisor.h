// Supervisor: one WorkerSlot per configured worker; spawns, restarts under Healdec, stops,
// applies a new configuration by difference, and reports status.
// Every method runs on the io_context's thread (post to it from elsewhere).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "manager/log_router.h"
#include "manager/worker_status.h"

namespace boost::asio {
class io_context;
}

namespace socialai::manager {

// Throws ConfigError for keys this manager accepts in the file format but cannot honour here:
// cpu_max / memory_max (cgroup v2 limits) are refused rather than silently ignored.
void check_supported(const Config& config);

class Supervisor {
 public:
  // `self_dir`: directory of the manager's executable (relative worker paths look there first).
  Supervisor(boost::asio::io_context& ioc, Config config, LogRouter& log, std::string self_dir);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Spawns every enabled worker.
  void start_all();
  // SIGHUP: starts added workers, stops removed ones, restarts changed ones; others untouched.
  void apply_config(Config config);
  // Graceful stop of everything: SIGTERM to each group, SIGKILL after stop_timeout; `done`
  // runs once every child has been reaped.
  void stop_all(std::function<void()> done);

  enum class Control { kStart, kStop, kRestart };
  // Operator action. Returns false for an unknown worker.
  bool control(const std::string& name, Control action);

  // A fresh database view (heartbeats, runs); checks for stale heartbeats.
  void on_db_snapshot(DbSnapshot snapshot);

  std::vector<WorkerStatus> status() const;
  std::vector<std::string> worker_names() const;
  const Config& config() const;

  struct Slot;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace socialai::manager
