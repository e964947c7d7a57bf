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

#include <functional>
#include <unordered_map>
#include <vector>

namespace socialai::manager {

// Finds the manager's children among all processes without reading every process's
// /proc/PID/stat on each sweep (a host runs hundreds of processes; a sweep runs every 10 s
// and after each worker exit).
// Only the manager's descendants can be re-parented to it (it is their nearest subreaper), and
// a process that is not a descendant when first seen never becomes one, so such a process is
// remembered and skipped while it lives; descendants are read on every sweep. A process is
// known by its pid and the inode number of its /proc directory, which procfs gives each new
// process, so a pid reused between two sweeps is read as the new process it is. As a fallback
// for a kernel that kept inode numbers, everything is read again every kRefreshEvery sweeps.
class ChildScan {
 public:
  static constexpr int kRefreshEvery = 150;
  struct Proc {
    pid_t pid;
    ino_t ino;  // of /proc/PID (dirent d_ino)
  };
  // `procs`: the processes now, in /proc's order (ascending pids, apart from wrap-around);
  // `ppid_of(pid)`: its parent from /proc/PID/stat, or -1 when it is gone; `known(pid)`: a
  // child the caller knows (a tracked worker, the sentinel): a descendant, not read, not
  // returned. Returns the other children of `self`.
  std::vector<pid_t> children(pid_t self, const std::vector<Proc>& procs,
                              const std::function<pid_t(pid_t)>& ppid_of,
                              const std::function<bool(pid_t)>& known);

 private:
  struct Seen {
    ino_t ino;
    bool descendant;  // of the manager
  };
  std::unordered_map<pid_t, Seen> seen_, next_;
  std::vector<Proc> unread_;
  int sweeps_ = 0;
};

class OrphanGuard {
 public:
  // Becomes a subreaper and forks the sentinel. Call once, early in main, before threads
  // start. Failures are logged to stderr and leave the guard off (the manager still runs).
  static void start();
  // A worker started with process group `pgid` (its pid) / its group was killed after exit.
  static void track(pid_t pgid) noexcept;
  static void untrack(pid_t pgid) noexcept;
  // Kills (SIGKILL) and reaps every child of the manager that is neither a tracked worker nor
  // the sentinel: descendants adopted after their parent died (their worker, or a process of a
  // live worker: a daemon's double fork). Returns how many it reaped.
  static int reap_adopted() noexcept;
  static pid_t sentinel_pid() noexcept;
};

}  // namespace socialai::manager
