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

pid_t parent_of(const char* pid_dir) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid_dir);
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
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    return 0;
  }
  int reaped = 0;
  while (const dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) {
      continue;
    }
    const auto p = static_cast<pid_t>(pid);
    if (p == g_sentinel || g_live->count(p) > 0 || parent_of(e->d_name) != self) {
      continue;
    }
    ::kill(p, SIGKILL);  // an orphan of a worker that is gone: nothing may outlive its worker
    if (::waitpid(p, nullptr, WNOHANG) == p) {
      ++reaped;
    }
  }
  ::closedir(proc);
  return reaped;
}

pid_t OrphanGuard::sentinel_pid() noexcept { return g_sentinel; }

}  // namespace socialai::manager
