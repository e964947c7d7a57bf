// OrphanGuard: subreaper sweep of adopted descendants, and the sentinel that kills the worker
// process groups when the manager dies.
#include "manager/orphan_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>

#include "manager/memory_trim.h"

namespace socialai::manager {
namespace {

int g_pipe = -1;        // the manager's write end; -1 when the guard is off
pid_t g_sentinel = -1;  // the sentinel's pid
std::set<pid_t>* g_live = nullptr;  // tracked worker groups, in the manager

void send(std::int32_t v) noexcept {
  if (g_pipe < 0) {
    return;
  }
  // 4 bytes are written atomically. Non-blocking: a stopped sentinel must never stall the
  // event loop; an entry it misses only weakens the guard for that one group.
  if (::write(g_pipe, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) {
    static bool warned = false;
    if (!warned) {
      warned = true;
      std::fprintf(stderr, "socialai-manager: orphan sentinel unreachable (%s)\n",
                   std::strerror(errno));
    }
  }
}

// The sentinel: reads +pgid / -pgid until EOF (the manager is gone), then kills what is left.
[[noreturn]] void sentinel_main(int fd) {
  ::prctl(PR_SET_NAME, "socialai-sentry");
  // Not the target of a terminal's ^C or of a group signal meant for the manager: it must
  // outlive the manager to do its job, and exits on its own right after.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE}) {
    ::signal(sig, SIG_IGN);
  }
  const int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);  // holding the manager's stdout open would delay readers' EOF
  }
  if (fd != 3) {
    ::dup2(fd, 3);
    fd = 3;
  }
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  trim_resident_memory();  // it needs a loop and kill(2), not the manager's start-up pages
  std::set<std::int32_t> groups;
  std::int32_t v = 0;
  for (;;) {
    const ssize_t n = ::read(fd, &v, sizeof v);
    if (n == static_cast<ssize_t>(sizeof v)) {
      if (v > 0) {
        groups.insert(v);
      } else if (v < 0) {
        groups.erase(-v);
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EOF: the manager exited
    }
  }
  for (const std::int32_t g : groups) {
    ::kill(-g, SIGKILL);
  }
  ::_exit(0);
}

pid_t parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) {
    return -1;
  }
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
  const char* close = std::strrchr(buf, ')');
  if (close == nullptr) {
    return -1;
  }
  char state = 0;
  int ppid = -1;
  return std::sscanf(close + 1, " %c %d", &state, &ppid) == 2 ? ppid : -1;
}

}  // namespace

std::vector<pid_t> ChildScan::children(pid_t self, const std::vector<Proc>& procs,
                                       const std::function<pid_t(pid_t)>& ppid_of,
                                       const std::function<bool(pid_t)>& known) {
  if (sweeps_++ % kRefreshEvery == 0) {
    seen_.clear();
  }
  next_.clear();
  unread_.clear();
  // First what needs no read (known children, processes seen before that are no
  // descendants), so that the parents of the others are found whatever the order.
  for (const Proc& p : procs) {
    if (known(p.pid)) {
      next_[p.pid] = {p.ino, true};
    } else if (const auto it = seen_.find(p.pid);
               it != seen_.end() && it->second.ino == p.ino && !it->second.descendant) {
      next_[p.pid] = it->second;
    } else {
      unread_.push_back(p);
    }
  }
  // A parent not known yet (new in this sweep and listed later, or gone) counts as a
  // descendant: the child is then read again next sweep, when its parent is known.
  const auto descends = [&](pid_t parent) {
    if (parent == self || parent <= 0) {
      return parent == self;
    }
    const auto it = next_.find(parent);
    return it == next_.end() || it->second.descendant;
  };
  std::vector<pid_t> out;
  for (const Proc& p : unread_) {
    const pid_t parent = ppid_of(p.pid);
    if (parent < 0) {
      continue;  // gone
    }
    next_[p.pid] = {p.ino, descends(parent)};
    if (parent == self) {
      out.push_back(p.pid);
    }
  }
  seen_.swap(next_);
  return out;
}

void OrphanGuard::start() {
  static std::set<pid_t> live;
  g_live = &live;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::fprintf(stderr, "socialai-manager: cannot become a child subreaper: %s\n",
                 std::strerror(errno));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "socialai-manager: orphan sentinel not started: %s\n",
                 std::strerror(errno));
    return;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "socialai-manager: orphan sentinel not started: %s\n",
                 std::strerror(errno));
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(fds[1]);
    sentinel_main(fds[0]);
  }
  ::close(fds[0]);
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  g_pipe = fds[1];
  g_sentinel = pid;
}

void OrphanGuard::track(pid_t pgid) noexcept {
  if (g_live != nullptr) {
    try {
      g_live->insert(pgid);
    } catch (...) {
    }
  }
  send(static_cast<std::int32_t>(pgid));
}

void OrphanGuard::untrack(pid_t pgid) noexcept {
  if (g_live != nullptr) {
    g_live->erase(pgid);
  }
  send(-static_cast<std::int32_t>(pgid));
}

int OrphanGuard::reap_adopted() noexcept {
  if (g_live == nullptr) {
    return 0;
  }
  if (g_sentinel > 0 && ::waitpid(g_sentinel, nullptr, WNOHANG) == g_sentinel) {
    std::fprintf(stderr, "socialai-manager: the orphan sentinel exited; guard off\n");
    g_sentinel = -1;
    ::close(g_pipe);
    g_pipe = -1;
  }
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    return 0;
  }
  static std::vector<ChildScan::Proc> procs;  // kept: its capacity serves the next sweep
  static ChildScan scan;
  procs.clear();
  int reaped = 0;
  try {
    while (const dirent* e = ::readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(e->d_name, &end, 10);
      if (end != e->d_name && *end == '\0' && pid > 0) {
        procs.push_back({static_cast<pid_t>(pid), e->d_ino});
      }
    }
    ::closedir(proc);
    proc = nullptr;
    const auto adopted = scan.children(::getpid(), procs, parent_of, [](pid_t p) {
      return p == g_sentinel || g_live->count(p) > 0;
    });
    for (const pid_t p : adopted) {
      // Adopted: its parent died, and nothing a worker started may run unsupervised.
      ::kill(p, SIGKILL);
      if (::waitpid(p, nullptr, WNOHANG) == p) {
        ++reaped;
      }
    }
  } catch (const std::bad_alloc&) {
    // Out of memory: this sweep is skipped; the next one tries again.
    if (proc != nullptr) {
      ::closedir(proc);
    }
  }
  return reaped;
}

pid_t OrphanGuard::sentinel_pid() noexcept { return g_sentinel; }

}  // namespace socialai::manager
