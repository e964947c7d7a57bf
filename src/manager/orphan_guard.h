// OrphanGuard: no descendant of a worker outlives the manager, however the manager ends.
//
// Each worker runs in its own process group. The manager is a child subreaper
// (PR_SET_CHILD_SUBREAPER), so a worker's descendant that outlives the worker is re-parented
// to the manager, which kills and reaps it (reap_adopted). A small sentinel process, forked at
// start, holds the set of live worker process groups (told over a pipe); when the manager's end
// of the pipe closes (the manager exited, even by SIGKILL), the sentinel SIGKILLs every group
// still listed, then exits. Direct children also die by PDEATHSIG (child_process.cpp).
// Not covered without a cgroup: a descendant that left its worker's process group (setsid)
// while the manager was SIGKILLed; under systemd the unit's cgroup takes it (KillMode=mixed).
// All functions are for the manager's event-loop thread.
#pragma once

#include <sys/types.h>

namespace socialai::manager {

class OrphanGuard {
 public:
  // Becomes a subreaper and forks the sentinel. Call once, early in main, before threads
  // start. Failures are logged to stderr and leave the guard off (the manager still runs).
  static void start();
  // A worker started with process group `pgid` (its pid) / its group was killed after exit.
  static void track(pid_t pgid) noexcept;
  static void untrack(pid_t pgid) noexcept;
  // Kills (SIGKILL) and reaps every child of the manager that is neither a tracked worker nor
  // the sentinel: descendants adopted after their worker died. Returns how many it reaped.
  static int reap_adopted() noexcept;
  static pid_t sentinel_pid() noexcept;
};

}  // namespace socialai::manager
