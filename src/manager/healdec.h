// Healdec: the per-worker restart policy as a pure state machine (state x event -> state,
// action). Takes `now` from the caller and never reads a clock; docs/healdec.md has the table.
#pragma once

#include <chrono>
#include <string_view>

#include "common/config.h"

namespace socialai::manager {

enum class WorkerState {
  kStarting,  // spawn decided, process not yet confirmed
  kRunning,
  kBackoff,   // failed; waiting for the restart delay
  kStopping,  // SIGTERM sent, waiting for exit
  kStopped,   // exited cleanly or stopped by request; not restarted
  kFatal,     // failed more than max_restarts times in a row; waits for an operator
  kDisabled,  // disabled in the configuration
  kStandby,   // waiting for the cluster-wide lock (SPEC §8)
};

std::string_view to_string(WorkerState s);

using TimePoint = std::chrono::steady_clock::time_point;

// What the caller must do next.
struct HealdecAction {
  enum Kind { kNone, kSpawnNow, kSpawnAfter, kGiveUp } kind = kNone;
  std::chrono::milliseconds delay{0};
};

class Healdec {
 public:
  explicit Healdec(HealdecSettings settings, bool enabled = true);

  // The process is up.
  void on_spawned(TimePoint now);
  // The process exited (or could not be spawned: `failed` with uptime 0). `failed` means a
  // non-zero exit status or a signal.
  HealdecAction on_exit(TimePoint now, bool failed);
  // The executable cannot be started at all (not found): straight to kFatal, no counting.
  void on_unstartable();
  // The restart delay elapsed (REQUIRES: state() == kBackoff).
  HealdecAction on_delay_elapsed();
  // Operator or shutdown asks to stop. Returns true if a live process must be signalled.
  bool on_stop_requested();
  // Operator start/restart: clears fatal and the failure count.
  HealdecAction on_start_requested();
  // The process is alive but unhealthy (stale heartbeat, memory): the caller kills it and
  // the exit that follows counts as a failure.
  void on_unhealthy();
  // Clears the consecutive-failure count once the process has run reset_after (for display).
  void tick(TimePoint now);

  WorkerState state() const { return state_; }
  int restart_count() const { return consecutive_failures_; }
  int total_restarts() const { return total_restarts_; }
  bool unhealthy_kill_pending() const { return unhealthy_; }
  std::chrono::milliseconds next_delay() const;
  const HealdecSettings& settings() const { return settings_; }

 private:
  HealdecSettings settings_;
  WorkerState state_;
  TimePoint started_at_{};
  int consecutive_failures_ = 0;
  int total_restarts_ = 0;
  bool stop_requested_ = false;
  bool unhealthy_ = false;
};

}  // namespace socialai::manager
