// The supervisors the benchmarks compare (socialai-manager, supervisord 4.2, PM2), each driving
// the same static fake_worker children, plus the /proc readings and flood checks they share.
// Used by bench_supervisor (idle, restarts, one flooding child) and bench_log_fanin (many
// children at once, latency of quiet children beside a flood).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::bench {

extern const std::string kFakeWorker;     // the fake_worker binary (static)
extern const std::string kFakeWorkerDyn;  // the same, dynamically linked

// Flags both supervisor benchmarks take: [--quick] [--supervisord PATH] [--pm2 PATH].
struct SupervisorBenchArgs {
  bool quick = false;
  std::string supervisord = "supervisord", pm2 = "pm2";
  // For profiling one case (bench_log_fanin): only this many children (0: every case, and the
  // latency table), this many rounds and lines per child (0: the defaults).
  int children = 0, rounds = 0;
  long lines = 0;
};
// nullopt (after a usage line naming `program` on stderr) for anything else.
std::optional<SupervisorBenchArgs> parse_supervisor_bench_args(int argc, char** argv,
                                                               const char* program);
// printf-style formatting of one number.
std::string num(const char* format, double v);

std::uint64_t file_size(const std::string& path);
// `name` on PATH (or as given when it holds a '/'), if executable.
std::optional<std::string> which(const std::string& name);
// Blocks (inotify, no busy polling) until `file` holds more than `count` pids. `seen`, if
// given, gets the moment they were read: closing the inotify instance afterwards waits for an
// RCU grace period (0-20 ms on some guests), which a timed caller must not count.
bool wait_for_pids(const std::string& file, std::size_t count, std::chrono::milliseconds limit,
                   std::chrono::steady_clock::time_point* seen = nullptr);
// Start-up is not timed: returns when `idle` has passed and `started` (just before the
// supervisor was started) is 1.5 s past: socialai-manager drops its start-up pages 1 s after it
// starts (memory_trim.h), a one-time cost that a short flood would otherwise include.
void settle_after_start(std::chrono::steady_clock::time_point started,
                        std::chrono::milliseconds idle);
// PSS and RSS (kB) of one process from /proc/PID/smaps_rollup.
std::pair<long, long> pss_rss_kb(int pid);
// CPU seconds the processes' threads have run, to the nanosecond: the sum of
// /proc/PID/task/*/schedstat (utime + stime in /proc/PID/stat count 10 ms ticks, a fifth of a
// 7-children run's supervisor CPU). Threads that ended are not counted; the supervisors
// measured keep theirs.
double cpu_seconds(const std::vector<int>& pids);

struct Program {
  std::string name;
  std::vector<std::string> args;  // fake_worker's
  bool autorestart = true;
  // socialai: also copy its lines to a file of its own (workers.<name>.log_file), which is
  // then what log_files() names; supervisord and PM2 always keep a file per program.
  bool own_log_file = false;
  std::string exe = kFakeWorker;
};

// One supervisor under test.
class Supervisor {
 public:
  virtual ~Supervisor() = default;
  virtual std::string name() const = 0;
  virtual void start(const std::vector<Program>& programs) = 0;
  // The supervisor's own processes (not the children): memory and CPU are summed over them.
  virtual std::vector<int> own_pids() const = 0;
  virtual void stop() = 0;
  // Files that receive the program's stdout/stderr lines.
  virtual std::vector<std::string> log_files(const std::string& program) const = 0;
  // What the supervisor adds around a line of `program` in its files (prefix, stamp): bytes
  // per line, so a benchmark knows how big the files are once every line is in.
  virtual std::size_t line_overhead(const std::string& program, bool is_stderr) const = 0;
  // The line as the child wrote it, without what the supervisor added; `program` names the
  // file's program on entry (a per-program file) and is set from the line in an aggregated
  // log. nullopt for a line that is not a child's (the supervisor's own messages).
  virtual std::optional<std::string_view> body_of(std::string_view file_line,
                                                  std::string_view& program) const = 0;
  // The smallest restart delay the supervisor allows, as configured.
  virtual std::string restart_setting() const = 0;
};

// socialai-manager options (the `log` section's defaults unless changed) and where its stdout
// goes (a file in `dir`, or e.g. /dev/null when only log.file is measured).
struct SocialaiOptions {
  bool timestamps = true;           // log.timestamps "auto" (the default), else "never"
  std::string stderr_tag = ":err";  // log.stderr_tag
  std::string log_file;             // log.file; empty: none, the lines are read from stdout
  std::string stdout_path;          // empty: <dir>/manager.log
};

std::unique_ptr<Supervisor> make_socialai(const std::string& dir, SocialaiOptions options = {});
std::unique_ptr<Supervisor> make_supervisord(const std::string& bin, const std::string& dir);
std::unique_ptr<Supervisor> make_pm2(const std::string& bin, const std::string& dir);

// Flood lines checked in a supervisor's files: fake_worker --flood writes "out seq N xxx…" and
// "err seq N xxx…" of `width` + 4 bytes each, numbered from 0 per stream.
struct FloodCheck {
  long ok = 0, bad = 0, missing = 0;  // bad: out of order or not whole
  std::uint64_t payload_bytes = 0;    // the children's bytes in good lines, newlines included
};
// Every program's lines, reading each file once. REQUIRES: `streams` is 1 (stdout only) or 2.
FloodCheck check_floods(const Supervisor& sup, const std::vector<std::string>& programs,
                        long lines, int width, int streams);

}  // namespace socialai::bench
