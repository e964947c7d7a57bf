// The worker lifecycle shared by every socialai-worker-* binary (SPEC §5): flags, config,
// database connection with reconnects, feature flag and settings with LISTEN/NOTIFY,
// periodic cycles recorded in worker_runs, per-item errors in worker_errors, heartbeats and
// graceful SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/db.h"

namespace socialai {

// Raised by Worker::validate when an external dependency is wrong (RPC unreachable, chain id
// mismatch). The runtime logs it and retries after the interval; it never crash-loops.
class DependencyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by work abandoned because the worker is stopping (SIGTERM arrived mid-request): the
// runtime records the cycle as interrupted, not failed. What was committed stays consistent.
class StopRequested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a Worker sees of the runtime during validate/run_cycle. Only the worker's thread.
class WorkerContext {
 public:
  virtual ~WorkerContext() = default;
  virtual const std::string& name() const = 0;
  virtual const Config& config() const = 0;
  virtual Db& db() = 0;
  // Merged settings: the config file's worker section, overridden by `settings` rows
  // `<name>_<key>` (key without the prefix).
  virtual std::optional<std::string> setting(const std::string& key) const = 0;
  // The config file's value alone (before settings rows), for falling back on a bad row.
  virtual std::optional<std::string> file_setting(const std::string&) const { return std::nullopt; }
  std::string setting_or(const std::string& key, const std::string& fallback) const;
  // The merged value as an integer. A value that is not one (a bad settings row) is warned
  // about once and replaced by the file's value if that parses, else by `fallback`.
  std::int64_t setting_int(const std::string& key, std::int64_t fallback) const;
  // True once SIGTERM/SIGINT arrived: finish the current item, commit, return.
  virtual bool stopping() const = 0;
  // For a worker that paces itself inside a cycle (Worker::continuous): waits up to `d` and
  // returns true, or returns false early when the cycle should end: SIGTERM, or a settings or
  // flag change for the runtime to apply, or partitions to take over or hand on. (This default
  // sleeps, watching stopping().) REQUIRES: no transaction open on db() (the runtime may write
  // a heartbeat or balance its partition leases on that connection).
  virtual bool pause(std::chrono::milliseconds d);
  // True under --once: a continuous worker returns once caught up instead of pausing.
  virtual bool once() const { return false; }
  // Per-item accounting for worker_runs. item_failed also writes a worker_errors row (in its
  // own short transaction, outside any open one).
  virtual void item_ok(std::int64_t n = 1) = 0;
  virtual void item_failed(const std::string& item_ref, const std::string& error) = 0;
  // A short note for operators (e.g. "daily budget reached; spending paused"), published with
  // the heartbeat at once and shown as `note` in /api/workers/status and the admin console.
  // An empty note clears it. Log the event yourself as well; this is the standing state.
  virtual void set_note(const std::string& note) { note_ = note; }
  const std::string& note() const { return note_; }
  // For a worker with Worker::partitions: the partitions this instance holds now, in the
  // order listed. A cycle works on these only; the set changes only between cycles.
  virtual std::vector<std::string> held_partitions() const { return {}; }

 private:
  std::string note_;
  mutable std::set<std::string> warned_;  // "key=value" pairs already warned about
};

class Worker {
 public:
  virtual ~Worker() = default;
  // Checks dependencies before the first cycle (and after settings change).
  // Throws DependencyError with a clear message.
  virtual void validate(WorkerContext&) {}
  // True for workers that must run once per database (the sync workers, SPEC §8): the runtime
  // then holds a PostgreSQL advisory lock named after the worker (and the schema) on its
  // connection while it works; another instance waits in state "standby" and takes over within
  // about a second of the holder's process or connection dying. Queue workers (ai, search)
  // share work with SKIP LOCKED instead and return false.
  virtual bool exclusive() const { return false; }
  // For an exclusive worker whose work splits into partitions (e.g. "shard:1", "shard:2"):
  // asked after validate (again after every re-validation). Non-empty: instead of the one
  // lease, the runtime shares the partitions among the live instances with a lock per
  // partition (common/partition_leases.h), so N instances split the work and take over a dead
  // one's partitions within about a second; an instance stands by only when none is free.
  // Empty (the default): one lease for the whole worker.
  virtual std::vector<std::string> partitions(WorkerContext&) { return {}; }
  // One cycle. A thrown exception fails the cycle (worker_runs.error); pqxx::broken_connection
  // makes the runtime reconnect.
  virtual void run_cycle(WorkerContext& ctx) = 0;
  // True for a worker whose cycle paces itself (e.g. follows an event stream for a while,
  // pausing with WorkerContext::pause): after a successful cycle the next one starts at once
  // instead of interval_ms later (a failed one still waits the interval). Asked after each
  // cycle, so it may follow the settings.
  virtual bool continuous() const { return false; }
  // Extra flags taking a value (e.g. "query" for --query TEXT), for run_command.
  virtual std::vector<std::string> extra_flags() const { return {}; }
  virtual std::string extra_usage() const { return {}; }
  // Called when one of extra_flags() was given, after connecting; returns the exit status.
  virtual int run_command(WorkerContext&, const std::map<std::string, std::string>&) { return 2; }
};

using WorkerFactory = std::function<std::unique_ptr<Worker>()>;

// Runs the whole lifecycle. `default_name` is used when WORKER_NAME is unset and the binary
// name gives none. Returns the process exit status (0, 1 for a failed --once, 2 usage,
// 78 config).
int run_worker(int argc, char** argv, const WorkerFactory& factory, std::string_view default_name);

template <typename W>
int run_worker(int argc, char** argv, std::string_view default_name) {
  return run_worker(
      argc, argv, [] { return std::make_unique<W>(); }, default_name);
}

}  // namespace socialai
