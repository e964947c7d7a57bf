// fake_worker: a controllable child for the manager's system tests and benchmarks.
//   --exit-code N      exit with N after --run-ms (default: run until SIGTERM)
//   --run-ms N         how long to run before exiting (with --exit-code)
//   --flood N          write N numbered lines to stdout AND stderr (interleaved), then idle
//   --line-bytes N     pad each flood line to N bytes
//   --flood-streams N  1: flood stdout only; 2 (default): stdout and stderr
//   --write-bytes N    flood in writes of whole lines of at most N bytes (default 60000)
//   --ticks N          after the start file, write N lines "tick <n> <CLOCK_MONOTONIC ns>",
//   --tick-ms N        one every N ms (default 10): latency probes for the benchmarks
//   --long-line N      write one line of N bytes to stdout
//   --partial-line S   write S without a newline to stdout, then exit 0
//   --invalid-utf8     write a line with invalid UTF-8 bytes
//   --ignore-sigterm   ignore SIGTERM (the manager must SIGKILL after its timeout)
//   --spawn-grandchild start a sleeping grandchild in the same process group; it prints
//                      "grandchild <pid>"
//   --detach-grandchild with --spawn-grandchild: the grandchild leaves the group (setsid)
//   --daemon-grandchild with --spawn-grandchild: a daemon's double fork: a child leaves the
//                      group (setsid), starts the grandchild and exits, while this worker
//                      runs on (the grandchild is adopted by the nearest subreaper)
//   --pid-file F       append "<pid>\n" to F at start
//   --list-fds         print "fds: 0 1 2 ..." (its open descriptors) at start
//   --start-file F     before flooding, wait until F exists (benchmarks start every
//                      supervisor's flood at the same instant, without its start-up cost)
//   --usr1-lines       print "usr1 <n>" for the n-th SIGUSR1 (a line on the test's cue)
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t g_term = 0;
volatile sig_atomic_t g_usr1 = 0;
void on_term(int) { g_term = 1; }
void on_usr1(int) { g_usr1 = g_usr1 + 1; }

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = -1;
  long run_ms = 0, flood = 0, line_bytes = 0, long_line = 0, ticks = 0, tick_ms = 10;
  long flood_streams = 2, write_bytes = 60000;
  bool ignore_term = false, grandchild = false, invalid_utf8 = false, list_fds = false;
  bool detach = false, double_fork = false, usr1_lines = false;
  const char* partial = nullptr;
  const char* pid_file = nullptr;
  const char* start_file = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--exit-code") exit_code = std::atoi(next());
    else if (a == "--run-ms") run_ms = std::atol(next());
    else if (a == "--flood") flood = std::atol(next());
    else if (a == "--line-bytes") line_bytes = std::atol(next());
    else if (a == "--flood-streams") flood_streams = std::atol(next());
    else if (a == "--write-bytes") write_bytes = std::atol(next());
    else if (a == "--ticks") ticks = std::atol(next());
    else if (a == "--tick-ms") tick_ms = std::atol(next());
    else if (a == "--long-line") long_line = std::atol(next());
    else if (a == "--partial-line") partial = next();
    else if (a == "--invalid-utf8") invalid_utf8 = true;
    else if (a == "--ignore-sigterm") ignore_term = true;
    else if (a == "--spawn-grandchild") grandchild = true;
    else if (a == "--detach-grandchild") detach = true;
    else if (a == "--daemon-grandchild") double_fork = true;
    else if (a == "--pid-file") pid_file = next();
    else if (a == "--list-fds") list_fds = true;
    else if (a == "--start-file") start_file = next();
    else if (a == "--usr1-lines") usr1_lines = true;
    else {
      std::fprintf(stderr, "fake_worker: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  signal(SIGTERM, ignore_term ? SIG_IGN : on_term);
  if (pid_file) {
    if (FILE* f = std::fopen(pid_file, "a")) {
      std::fprintf(f, "%d\n", static_cast<int>(getpid()));
      std::fclose(f);
    }
  }
  if (grandchild) {
    // The sleeping grandchild, started by whichever process calls this; prints its pid.
    const auto start_grandchild = [](bool leave_group) {
      const pid_t g = fork();
      if (g == 0) {
        signal(SIGTERM, SIG_IGN);  // only the group SIGKILL (or the manager's sweep) removes it
        if (leave_group) {
          setsid();
        }
        for (;;) pause();
      }
      write_all(1, "grandchild " + std::to_string(g) + "\n");
    };
    if (double_fork) {
      const pid_t mid = fork();
      if (mid == 0) {
        setsid();
        start_grandchild(false);
        _exit(0);
      }
      waitpid(mid, nullptr, 0);
    } else {
      start_grandchild(detach);
    }
  }
  if (list_fds) {
    std::string fds = "fds:";
    for (int fd = 0; fd < 1024; ++fd) {
      if (fcntl(fd, F_GETFD) != -1) {
        fds += " " + std::to_string(fd);
      }
    }
    write_all(1, fds + "\n");
  }
  const char* name = std::getenv("WORKER_NAME");
  write_all(1, std::string("fake_worker ") + (name ? name : "?") + " up pid " +
                   std::to_string(getpid()) + "\n");
  if (start_file != nullptr) {
    while (access(start_file, F_OK) != 0) {
      usleep(500);
    }
  }
  if (flood > 0) {
    // Cheap to produce, so the benchmarks time the supervisor, not this loop: each line is a
    // template ("out seq 000000000042 xxx…\n", exactly line_bytes + 5 bytes) with its number
    // written in place.
    const bool both = flood_streams != 1;
    std::string tmpl = "seq 000000000000";
    if (line_bytes > static_cast<long>(tmpl.size()) + 1) {
      tmpl += ' ';
      tmpl.append(static_cast<std::size_t>(line_bytes) - tmpl.size(), 'x');
    }
    const std::size_t len = tmpl.size() + 5;  // "out " + line + "\n"
    const std::size_t per_write =
        std::max<std::size_t>(1, static_cast<std::size_t>(write_bytes) / len);
    std::string out, err;
    out.reserve(per_write * len);
    err.reserve(per_write * len);
    auto append = [&](std::string& buf, const char* tag, long n) {
      const std::size_t at = buf.size();
      buf.append(tag).append(tmpl).push_back('\n');
      for (std::size_t d = at + 4 + 15; n > 0; --d, n /= 10) {  // last of the 12 digits
        buf[d] = static_cast<char>('0' + n % 10);
      }
    };
    for (long n = 0; n < flood; ++n) {
      if (out.size() + len > per_write * len) {  // whole lines, at most write_bytes a write
        write_all(1, out);
        out.clear();
        if (both) {
          write_all(2, err);
          err.clear();
        }
      }
      append(out, "out ", n);
      if (both) {
        append(err, "err ", n);
      }
    }
    write_all(1, out);
    write_all(2, err);
    write_all(1, "flood done\n");
  }
  for (long n = 0; n < ticks; ++n) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto ns = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    write_all(1, "tick " + std::to_string(n) + " " + std::to_string(ns) + "\n");
    usleep(static_cast<useconds_t>(tick_ms * 1000));
  }
  if (long_line > 0) {
    write_all(1, "L" + std::string(static_cast<std::size_t>(long_line) - 1, 'y') + "\n");
  }
  if (invalid_utf8) {
    write_all(1, std::string("bad \xff\xfe utf8 \xc3\xa9 ok\n"));
  }
  if (partial) {
    write_all(1, partial);
    return 0;
  }
  if (exit_code >= 0) {
    usleep(static_cast<useconds_t>(run_ms * 1000));
    return exit_code;
  }
  // SIGUSR1 and SIGTERM blocked but inside sigsuspend, so none is missed between the check
  // and the wait.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &old);
  if (usr1_lines) {
    signal(SIGUSR1, on_usr1);
  }
  long printed = 0;
  while (!g_term) {
    while (printed < g_usr1) {
      write_all(1, "usr1 " + std::to_string(++printed) + "\n");
    }
    sigsuspend(&old);
  }
  write_all(1, "fake_worker got SIGTERM\n");
  return 0;
}
