// Healdec transitions. Keep in step with docs/healdec.md.
#include "manager/healdec.h"

#include <algorithm>

namespace socialai::manager {

std::string_view to_string(WorkerState s) {
  switch (s) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kRunning: return "running";
    case WorkerState::kBackoff: return "backoff";
    case WorkerState::kStopping: return "stopping";
    case WorkerState::kStopped: return "stopped";
    case WorkerState::kFatal: return "fatal";
    case WorkerState::kDisabled: return "disabled";
    case WorkerState::kStandby: return "standby";
  }
  return "unknown";
}

Healdec::Healdec(HealdecSettings settings, bool enabled)
    : settings_(settings), state_(enabled ? WorkerState::kStarting : WorkerState::kDisabled) {}

void Healdec::on_spawned(TimePoint now) {
  state_ = WorkerState::kRunning;
  started_at_ = now;
  unhealthy_ = false;
}

std::chrono::milliseconds Healdec::next_delay() const {
  // restart_delay * 2^(n-1) for the n-th consecutive failure, capped at backoff_max.
  auto d = settings_.restart_delay;
  const auto cap = std::max(settings_.backoff_max, settings_.restart_delay);
  for (int i = 1; i < consecutive_failures_ && d < cap; ++i) {
    d *= 2;
  }
  return std::min(d, cap);
}

HealdecAction Healdec::on_exit(TimePoint now, bool failed) {
  failed = failed || unhealthy_;
  unhealthy_ = false;
  if (stop_requested_ || state_ == WorkerState::kStopping) {
    state_ = WorkerState::kStopped;
    return {};
  }
  if (!failed) {
    state_ = WorkerState::kStopped;  // a clean exit 0 is not restarted
    consecutive_failures_ = 0;
    return {};
  }
  if (state_ == WorkerState::kRunning && now - started_at_ >= settings_.reset_after) {
    consecutive_failures_ = 0;  // it had been stable: start counting afresh
  }
  ++consecutive_failures_;
  if (consecutive_failures_ > settings_.max_restarts) {
    state_ = WorkerState::kFatal;
    consecutive_failures_ = settings_.max_restarts;
    return {HealdecAction::kGiveUp, {}};
  }
  ++total_restarts_;
  const auto delay = next_delay();
  if (delay.count() == 0) {
    state_ = WorkerState::kStarting;
    return {HealdecAction::kSpawnNow, {}};
  }
  state_ = WorkerState::kBackoff;
  return {HealdecAction::kSpawnAfter, delay};
}

void Healdec::on_unstartable() {
  state_ = WorkerState::kFatal;
  stop_requested_ = false;
}

HealdecAction Healdec::on_delay_elapsed() {
  if (state_ != WorkerState::kBackoff) {
    return {};
  }
  state_ = WorkerState::kStarting;
  return {HealdecAction::kSpawnNow, {}};
}

bool Healdec::on_stop_requested() {
  stop_requested_ = true;
  switch (state_) {
    case WorkerState::kRunning:
    case WorkerState::kStarting:
      state_ = WorkerState::kStopping;
      return true;
    case WorkerState::kStopping:
      return true;
    case WorkerState::kBackoff:
    case WorkerState::kStandby:
      state_ = WorkerState::kStopped;
      return false;
    default:
      return false;
  }
}

HealdecAction Healdec::on_start_requested() {
  stop_requested_ = false;
  unhealthy_ = false;
  consecutive_failures_ = 0;
  switch (state_) {
    case WorkerState::kStopped:
    case WorkerState::kFatal:
    case WorkerState::kDisabled:
    case WorkerState::kBackoff:
      state_ = WorkerState::kStarting;
      return {HealdecAction::kSpawnNow, {}};
    default:
      return {};  // already running or on its way
  }
}

void Healdec::on_unhealthy() {
  if (state_ == WorkerState::kRunning) {
    unhealthy_ = true;
  }
}

void Healdec::tick(TimePoint now) {
  if (state_ == WorkerState::kRunning && consecutive_failures_ > 0 &&
      now - started_at_ >= settings_.reset_after) {
    consecutive_failures_ = 0;
  }
}

}  // namespace socialai::manager
