// Healdec: the restart policy table (docs/healdec.md), driven with a fake clock.
#include "manager/healdec.h"

#include <gtest/gtest.h>

namespace socialai::manager {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

HealdecSettings settings() {
  HealdecSettings s;
  s.max_restarts = 3;
  s.restart_delay = milliseconds(100);
  s.backoff_max = milliseconds(300);
  s.reset_after = seconds(60);
  return s;
}

TEST(Healdec, BackoffDoublesUpToCapThenFatal) {
  Healdec h(settings());
  TimePoint t{};
  h.on_spawned(t);
  auto a = h.on_exit(t + seconds(1), true);
  EXPECT_EQ(a.kind, HealdecAction::kSpawnAfter);
  EXPECT_EQ(a.delay, milliseconds(100));
  EXPECT_EQ(h.state(), WorkerState::kBackoff);
  EXPECT_EQ(h.restart_count(), 1);
  EXPECT_EQ(h.on_delay_elapsed().kind, HealdecAction::kSpawnNow);
  h.on_spawned(t + seconds(2));
  EXPECT_EQ(h.on_exit(t + seconds(3), true).delay, milliseconds(200));
  h.on_delay_elapsed();
  h.on_spawned(t + seconds(4));
  EXPECT_EQ(h.on_exit(t + seconds(5), true).delay, milliseconds(300));  // capped (not 400)
  EXPECT_EQ(h.restart_count(), 3);
  h.on_delay_elapsed();
  h.on_spawned(t + seconds(6));
  // restartCount reached max_restarts; one more failure is fatal.
  EXPECT_EQ(h.on_exit(t + seconds(7), true).kind, HealdecAction::kGiveUp);
  EXPECT_EQ(h.state(), WorkerState::kFatal);
  EXPECT_EQ(h.restart_count(), 3);
  EXPECT_EQ(h.total_restarts(), 3);
}

TEST(Healdec, CleanExitIsNotRestarted) {
  Healdec h(settings());
  h.on_spawned(TimePoint{});
  EXPECT_EQ(h.on_exit(TimePoint{} + seconds(1), false).kind, HealdecAction::kNone);
  EXPECT_EQ(h.state(), WorkerState::kStopped);
}

TEST(Healdec, StableRunResetsFailureCount) {
  Healdec h(settings());
  TimePoint t{};
  h.on_spawned(t);
  h.on_exit(t + seconds(1), true);
  h.on_delay_elapsed();
  h.on_spawned(t + seconds(2));
  h.on_exit(t + seconds(3), true);
  EXPECT_EQ(h.restart_count(), 2);
  h.on_delay_elapsed();
  h.on_spawned(t + seconds(4));
  // Ran 100 s > reset_after: this failure counts as the first again.
  const auto a = h.on_exit(t + seconds(104), true);
  EXPECT_EQ(h.restart_count(), 1);
  EXPECT_EQ(a.delay, milliseconds(100));
}

TEST(Healdec, TickClearsCountWhileRunning) {
  Healdec h(settings());
  TimePoint t{};
  h.on_spawned(t);
  h.on_exit(t + seconds(1), true);
  h.on_delay_elapsed();
  h.on_spawned(t + seconds(2));
  h.tick(t + seconds(30));
  EXPECT_EQ(h.restart_count(), 1);
  h.tick(t + seconds(62));
  EXPECT_EQ(h.restart_count(), 0);
}

TEST(Healdec, ZeroDelayRestartsImmediately) {
  auto s = settings();
  s.restart_delay = milliseconds(0);
  Healdec h(s);
  h.on_spawned(TimePoint{});
  EXPECT_EQ(h.on_exit(TimePoint{}, true).kind, HealdecAction::kSpawnNow);
  EXPECT_EQ(h.state(), WorkerState::kStarting);
}

TEST(Healdec, StopRequestedExitIsStopped) {
  Healdec h(settings());
  h.on_spawned(TimePoint{});
  EXPECT_TRUE(h.on_stop_requested());
  EXPECT_EQ(h.state(), WorkerState::kStopping);
  EXPECT_EQ(h.on_exit(TimePoint{}, true).kind, HealdecAction::kNone);  // SIGTERM death is fine
  EXPECT_EQ(h.state(), WorkerState::kStopped);
}

TEST(Healdec, StopDuringBackoffCancelsRestart) {
  Healdec h(settings());
  h.on_spawned(TimePoint{});
  h.on_exit(TimePoint{}, true);
  EXPECT_FALSE(h.on_stop_requested());
  EXPECT_EQ(h.state(), WorkerState::kStopped);
  EXPECT_EQ(h.on_delay_elapsed().kind, HealdecAction::kNone);
}

TEST(Healdec, ManualStartClearsFatal) {
  auto s = settings();
  s.max_restarts = 0;
  Healdec h(s);
  h.on_spawned(TimePoint{});
  EXPECT_EQ(h.on_exit(TimePoint{}, true).kind, HealdecAction::kGiveUp);
  EXPECT_EQ(h.state(), WorkerState::kFatal);
  EXPECT_EQ(h.on_start_requested().kind, HealdecAction::kSpawnNow);
  EXPECT_EQ(h.state(), WorkerState::kStarting);
  EXPECT_EQ(h.restart_count(), 0);
}

TEST(Healdec, UnhealthyExitCountsAsFailureEvenIfClean) {
  Healdec h(settings());
  h.on_spawned(TimePoint{});
  h.on_unhealthy();
  EXPECT_TRUE(h.unhealthy_kill_pending());
  EXPECT_EQ(h.on_exit(TimePoint{}, false).kind, HealdecAction::kSpawnAfter);
}

TEST(Healdec, UnstartableIsFatalWithoutCountingRestarts) {
  Healdec h(settings());
  h.on_unstartable();
  EXPECT_EQ(h.state(), WorkerState::kFatal);
  EXPECT_EQ(h.restart_count(), 0);
  EXPECT_EQ(h.on_start_requested().kind, HealdecAction::kSpawnNow);
}

TEST(Healdec, DisabledStartsDisabled) {
  Healdec h(settings(), /*enabled=*/false);
  EXPECT_EQ(h.state(), WorkerState::kDisabled);
  EXPECT_EQ(to_string(h.state()), "disabled");
}

}  // namespace
}  // namespace socialai::manager
