// Many children logging at once (SPEC §10, issue 14): 7 and 32 children each write N lines of
// exactly 100 bytes on stdout as fast as they can (whole-line writes of at most 64 KiB), timed
// from one start file until every byte is in the log, then every line checked; beside
// supervisord, PM2 and one `cat` per child into a file, in the same run. Then the latency of
// six quiet children's lines (one every 10 ms) while a seventh floods, against the same six
// alone. Last, in-process, what a reader thread's formatting and the file write cost per line
// with and without the receive-time stamp, beside the children's bytes written as they are.
// Prints Markdown tables.
//
// Usage: bench_log_fanin [--quick] [--supervisord PATH] [--pm2 PATH] [--children N]
//        [--rounds N] [--lines N]  (--children: that case alone, without the latency table)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "manager/line_splitter.h"
#include "manager/log_router.h"
#include "manager_harness.h"
#include "supervisors.h"

namespace {

using namespace std::chrono_literals;
using namespace socialai::bench;

constexpr int kWidth = 95;  // fake_worker pads "seq …" to 95: "out " + 95 + "\n" = 100 bytes
constexpr std::uint64_t kLineBytes = 100;
const std::string kDone = "flood done\n";


std::string child_name(int i) {
  return (i < 10 ? "f0" : "f") + std::to_string(i);
}

struct Run {
  // CPU per 100 MB of the children's bytes, and per 100 MB the supervisor wrote (its prefixes
  // and stamps included): the kernel's copy into the page cache costs per byte written.
  double mbps = 0, cpu_per_100mb = 0, cpu_per_100mb_written = 0;
  long bad = 0, missing = 0;
};

// Waits until the files together hold `expected` bytes; false if they stop growing for 5 s.
bool wait_for_bytes(const std::vector<std::string>& files, std::uint64_t expected) {
  std::uint64_t last = 0;
  auto last_change = Clock::now();
  for (;;) {
    std::uint64_t size = 0;
    for (const auto& f : files) size += file_size(f);
    if (size >= expected) return true;
    if (size != last) {
      last = size;
      last_change = Clock::now();
    } else if (ms_since(last_change) > 5000) {
      return false;
    }
    // 2 ms: small beside a run of hundreds of ms, and little CPU taken from the 2 cores.
    std::this_thread::sleep_for(2ms);
  }
}

Run fanin(Supervisor& sup, int children, long lines, const std::string& dir) {
  const std::string go = dir + "/go", pids = dir + "/fanin.pids";
  ::unlink(go.c_str());
  ::unlink(pids.c_str());
  std::vector<Program> programs;
  std::vector<std::string> names;
  for (int i = 0; i < children; ++i) {
    names.push_back(child_name(i));
    programs.push_back({names.back(),
                        {"--pid-file", pids, "--start-file", go, "--flood", std::to_string(lines),
                         "--line-bytes", std::to_string(kWidth), "--flood-streams", "1"},
                        false});
  }
  const auto started = Clock::now();
  sup.start(programs);
  Run r;
  if (!wait_for_pids(pids, static_cast<std::size_t>(children - 1), 30s)) {
    std::cerr << sup.name() << ": the children did not start\n";
    sup.stop();
    r.missing = lines * children;
    return r;
  }
  settle_after_start(started, 500ms);  // start-up lines written, the supervisor idle
  std::vector<std::string> files;
  std::uint64_t expected = 0, written = 0;
  for (const auto& n : names) {
    for (const auto& f : sup.log_files(n)) {
      if (std::find(files.begin(), files.end(), f) == files.end()) {
        files.push_back(f);
        expected += file_size(f);
      }
    }
    const std::uint64_t over = sup.line_overhead(n, false);
    written += static_cast<std::uint64_t>(lines) * (kLineBytes + over) + kDone.size() + over;
  }
  expected += written;
  const double cpu0 = cpu_seconds(sup.own_pids());
  const auto t0 = Clock::now();
  std::ofstream(go).flush();
  const bool done = wait_for_bytes(files, expected);
  const double seconds = ms_since(t0) / 1000.0;
  const double cpu = cpu_seconds(sup.own_pids()) - cpu0;
  sup.stop();
  const FloodCheck c = check_floods(sup, names, lines, kWidth, 1);
  for (const auto& f : files) ::unlink(f.c_str());
  r.bad = c.bad;
  r.missing = c.missing;
  if (done && c.payload_bytes > 0) {
    r.mbps = static_cast<double>(c.payload_bytes) / 1e6 / seconds;
    r.cpu_per_100mb = cpu / (static_cast<double>(c.payload_bytes) / 1e8);
    r.cpu_per_100mb_written = cpu / (static_cast<double>(written) / 1e8);
  }
  return r;
}

// Reference: one `fake_worker | cat > file` per child, started by the same start file.
Run cat_fanin(int children, long lines, const std::string& dir) {
  const std::string go = dir + "/cat_go", pids = dir + "/cat.pids";
  ::unlink(go.c_str());
  ::unlink(pids.c_str());
  std::vector<pid_t> writers, cats;
  std::vector<std::string> files;
  for (int i = 0; i < children; ++i) {
    files.push_back(dir + "/cat_" + child_name(i));
    int p[2];
    if (::pipe(p) != 0) return {};
    const pid_t w = ::fork();
    if (w == 0) {
      ::dup2(p[1], 1);
      ::close(p[0]);
      ::close(p[1]);
      const std::string n = std::to_string(lines), wd = std::to_string(kWidth);
      ::execl(kFakeWorker.c_str(), kFakeWorker.c_str(), "--pid-file", pids.c_str(),
              "--start-file", go.c_str(), "--flood", n.c_str(), "--line-bytes", wd.c_str(),
              "--flood-streams", "1", "--exit-code", "0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const pid_t c = ::fork();
    if (c == 0) {
      ::dup2(p[0], 0);
      const int o = ::open(files.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(o, 1);
      ::close(p[0]);
      ::close(p[1]);
      ::execlp("cat", "cat", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(p[0]);
    ::close(p[1]);
    writers.push_back(w);
    cats.push_back(c);
  }
  wait_for_pids(pids, static_cast<std::size_t>(children - 1), 30s);
  std::this_thread::sleep_for(500ms);
  std::uint64_t expected = 0, written = 0;
  for (const auto& f : files) {
    expected += file_size(f);
    written += lines * kLineBytes + kDone.size();
  }
  expected += written;
  const std::vector<int> cat_pids(cats.begin(), cats.end());
  const double cpu0 = cpu_seconds(cat_pids);
  const auto t0 = Clock::now();
  std::ofstream(go).flush();
  const bool done = wait_for_bytes(files, expected);
  const double seconds = ms_since(t0) / 1000.0;
  for (pid_t w : writers) ::waitpid(w, nullptr, 0);
  // The cats exit at EOF; their /proc/PID/stat stays readable until they are reaped.
  for (pid_t c : cats) {
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(c), &info, WEXITED | WNOWAIT);
  }
  const double cpu = cpu_seconds(cat_pids) - cpu0;
  for (pid_t c : cats) ::waitpid(c, nullptr, 0);
  for (const auto& f : files) ::unlink(f.c_str());
  Run r;
  const double payload = static_cast<double>(children) * static_cast<double>(lines * kLineBytes);
  if (done) {
    r.mbps = payload / 1e6 / seconds;
    r.cpu_per_100mb = cpu / (payload / 1e8);
    r.cpu_per_100mb_written = cpu / (static_cast<double>(written) / 1e8);
  }
  return r;
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Latency {
  std::vector<double> ms;  // per tick line, appended to the log → read by us
  double flood_mbps = 0;   // 0 without a flood
  bool complete = false;
};

// Six quiet children write `ticks` lines each, one every 10 ms ("tick N <CLOCK_MONOTONIC ns>");
// with `flood_lines` > 0 a seventh floods meanwhile. Their files are tailed every 1 ms; a
// tick's latency is from its stamp to our read. Ticks stamped after the flood ended are left
// out of the flood case.
Latency quiet_latency(Supervisor& sup, long flood_lines, int ticks, const std::string& dir) {
  const std::string go = dir + "/lat_go", pids = dir + "/lat.pids";
  ::unlink(go.c_str());
  ::unlink(pids.c_str());
  std::vector<Program> programs;
  std::vector<std::string> quiet;
  for (int i = 0; i < 6; ++i) {
    quiet.push_back("q" + std::to_string(i));
    programs.push_back({quiet.back(),
                        {"--pid-file", pids, "--start-file", go, "--ticks", std::to_string(ticks),
                         "--tick-ms", "10"},
                        false,
                        true});
  }
  if (flood_lines > 0) {
    programs.push_back({"flood",
                        {"--pid-file", pids, "--start-file", go, "--flood",
                         std::to_string(flood_lines), "--line-bytes", std::to_string(kWidth),
                         "--flood-streams", "1"},
                        false});
  }
  const auto started = Clock::now();
  sup.start(programs);
  Latency out;
  if (!wait_for_pids(pids, programs.size() - 1, 30s)) {
    sup.stop();
    return out;
  }
  settle_after_start(started, 500ms);
  struct Tail {
    std::string path;
    std::uint64_t offset = 0;
    std::string partial;
    int seen = 0;
  };
  std::vector<Tail> tails;
  for (const auto& q : quiet) tails.push_back({sup.log_files(q).front(), 0, "", 0});
  for (auto& t : tails) t.offset = file_size(t.path);
  std::vector<std::string> flood_files;
  std::uint64_t flood_expected = 0;
  if (flood_lines > 0) {
    flood_files = sup.log_files("flood");
    for (const auto& f : flood_files) flood_expected += file_size(f);
    flood_expected += static_cast<std::uint64_t>(flood_lines) *
                      (kLineBytes + sup.line_overhead("flood", false));
  }
  std::int64_t flood_end = 0;
  const std::int64_t start = now_ns();
  const auto t0 = Clock::now();
  std::ofstream(go).flush();
  std::vector<std::pair<std::int64_t, double>> samples;  // stamp, latency ms
  char buf[65536];
  while (ms_since(t0) < 60000) {
    bool all = true;
    for (auto& t : tails) {
      const int fd = ::open(t.path.c_str(), O_RDONLY | O_CLOEXEC);
      ssize_t n = 0;
      while (fd >= 0 && (n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(t.offset))) > 0) {
        t.offset += static_cast<std::uint64_t>(n);
        t.partial.append(buf, static_cast<std::size_t>(n));
      }
      if (fd >= 0) ::close(fd);
      const std::int64_t now = now_ns();
      std::size_t pos = 0, nl;
      while ((nl = t.partial.find('\n', pos)) != std::string::npos) {
        std::string_view line(t.partial.data() + pos, nl - pos);
        pos = nl + 1;
        std::string_view program = "";
        const auto body = sup.body_of(line, program);
        long long n_tick = 0, stamp = 0;
        if (body && std::sscanf(std::string(*body).c_str(), "tick %lld %lld", &n_tick, &stamp) == 2) {
          samples.emplace_back(stamp, static_cast<double>(now - stamp) / 1e6);
          ++t.seen;
        }
      }
      t.partial.erase(0, pos);
      all = all && t.seen >= ticks;
    }
    if (flood_lines > 0 && flood_end == 0) {
      std::uint64_t size = 0;
      for (const auto& f : flood_files) size += file_size(f);
      if (size >= flood_expected) flood_end = now_ns();
    }
    if (all) {
      out.complete = true;
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  sup.stop();
  if (flood_lines > 0) {
    const std::int64_t end = flood_end != 0 ? flood_end : now_ns();
    out.flood_mbps = static_cast<double>(flood_lines * static_cast<long>(kLineBytes)) / 1e6 /
                     (static_cast<double>(end - start) / 1e9);
    for (const auto& [stamp, ms] : samples) {
      if (stamp < end) out.ms.push_back(ms);
    }
    for (const auto& f : flood_files) ::unlink(f.c_str());
  } else {
    for (const auto& s : samples) out.ms.push_back(s.second);
  }
  for (const auto& t : tails) ::unlink(t.path.c_str());
  return out;
}

// What a reader thread gets from a full pipe: 1,310 lines of 100 bytes (~128 KiB).
constexpr long kLinesPerRead = 1310;
std::string one_read() {
  const std::string line = "out seq " + std::string(kLineBytes - 9, 'x') + "\n";
  std::string read;
  for (long i = 0; i < kLinesPerRead; ++i) read += line;
  return read;
}

// The formatting and writing part of the manager's work, without pipes, children or a second
// thread: `LogRouter::write_output` on one_read() from 7 streams in turn, into `out`. ns per
// line.
double format_and_write(bool stamps, const std::string& out, long lines) {
  using namespace socialai::manager;
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  LogOutput o;
  o.timestamps = stamps ? LogOutput::Stamp::kAuto : LogOutput::Stamp::kNever;
  constexpr int kStreams = 7;
  const std::string read = one_read();
  const long reads = std::max(1L, lines / kLinesPerRead / kStreams) * kStreams;
  double seconds = 0;
  {
    LogRouter router(socialai::LogFormat::kText, fd, std::nullopt, o);
    std::vector<LineSplitter> splitters(kStreams);
    std::vector<std::string> names;
    for (int i = 0; i < kStreams; ++i) names.push_back(child_name(i));
    auto feed = [&](long n) {
      for (long r = 0; r < n; ++r) {
        router.write_output(names[r % kStreams], Stream::kStdout, splitters[r % kStreams], read);
      }
      router.flush();
    };
    feed(4 * kStreams);  // the router's buffers and the rings filled, as in a running manager
    const auto t0 = Clock::now();
    feed(reads);
    seconds = ms_since(t0) / 1000.0;
  }
  ::close(fd);
  if (out != "/dev/null") ::unlink(out.c_str());
  return seconds * 1e9 / static_cast<double>(reads * kLinesPerRead);
}

// The same lines as the children write them, one_read() per write into a file, as a
// supervisor that copies its children's bytes unchanged writes them. ns per line.
double write_unchanged(const std::string& out, long lines) {
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  std::string buf = one_read();
  const long writes = std::max(1L, lines / kLinesPerRead);
  const auto t0 = Clock::now();
  for (long w = 0; w < writes; ++w) {
    buf[8] = static_cast<char>('a' + w % 26);  // fresh bytes each time, as formatting leaves
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) break;
  }
  const double seconds = ms_since(t0) / 1000.0;
  ::close(fd);
  ::unlink(out.c_str());
  return seconds * 1e9 / static_cast<double>(writes * kLinesPerRead);
}

void stamp_costs(long lines, int rounds, const std::string& dir) {
  const std::string file = dir + "/format.out";
  struct Row {
    const char* title;
    std::function<double()> run;
    std::vector<double> ns;
  };
  std::vector<Row> rows = {
      {"formatting only (to /dev/null), receive-time stamps (131 bytes out per line)",
       [&] { return format_and_write(true, "/dev/null", lines); }, {}},
      {"formatting only (to /dev/null), no stamps (106 bytes)",
       [&] { return format_and_write(false, "/dev/null", lines); }, {}},
      {"formatting and writing to a file, receive-time stamps",
       [&] { return format_and_write(true, file, lines); }, {}},
      {"formatting and writing to a file, no stamps",
       [&] { return format_and_write(false, file, lines); }, {}},
      {"the children's bytes written to a file unchanged (100 bytes per line, what supervisord writes)",
       [&] { return write_unchanged(file, lines); }, {}},
  };
  for (int r = 0; r < rounds; ++r) {  // interleaved, like the columns above
    for (auto& row : rows) row.ns.push_back(row.run());
  }
  std::printf("\nIn-process, one thread: `LogRouter::write_output` on reads of 1,310 lines of 100 "
              "bytes from 7 streams in turn (%ld lines), without pipes or children, median of "
              "%d; 1 ns per line is 0.001 s per 100 MB of the children's bytes\n\n",
              lines, rounds);
  std::printf("| | ns per line | min–max |\n|---|---:|---:|\n");
  for (const auto& row : rows) {
    const auto [lo, hi] = std::minmax_element(row.ns.begin(), row.ns.end());
    std::printf("| %s | %.1f | %.1f–%.1f |\n", row.title, percentile(row.ns, 0.5), *lo, *hi);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parse_supervisor_bench_args(argc, argv, "bench_log_fanin");
  if (!args) {
    return 2;
  }
  const bool quick = args->quick;
  const std::string& supervisord_bin = args->supervisord;
  const std::string& pm2_bin = args->pm2;
  const long lines = args->lines > 0 ? args->lines : quick ? 20000 : 200000;
  const int rounds = args->rounds > 0 ? args->rounds : quick ? 1 : 5;
  const std::string root = socialai::testing::make_temp_dir();
  const auto supervisord = which(supervisord_bin);
  const auto pm2 = which(pm2_bin);

  struct Column {
    std::string title;
    std::function<std::unique_ptr<Supervisor>(const std::string&)> make;
  };
  std::vector<Column> columns = {
      {"socialai-manager, stdout to a file",
       [](const std::string& d) { return make_socialai(d); }},
      {"socialai-manager, stdout to a file, no receive-time stamps",
       [](const std::string& d) {
         SocialaiOptions o;
         o.timestamps = false;
         return make_socialai(d, o);
       }},
      {"socialai-manager, log.file (stdout to /dev/null)",
       [](const std::string& d) {
         SocialaiOptions o;
         o.log_file = d + "/aggregate.log";
         o.stdout_path = "/dev/null";
         return make_socialai(d, o);
       }},
  };
  if (supervisord) {
    columns.push_back({"supervisord", [&](const std::string& d) {
                         return make_supervisord(*supervisord, d);
                       }});
  }
  if (pm2) {
    columns.push_back({"PM2", [&](const std::string& d) { return make_pm2(*pm2, d); }});
  }
  const std::size_t kOurColumns = 3;  // socialai columns, first; supervisord's comes next
  bool ours_ok = true;
  const std::vector<int> cases =
      args->children != 0 ? std::vector<int>{args->children} : std::vector<int>{7, 32};
  for (const int children : cases) {
    const double mb = static_cast<double>(children) * static_cast<double>(lines) * 100 / 1e6;
    std::printf("\n%d children × %ld lines of 100 bytes (%.0f MB), median of %d (min–max)\n\n",
                children, lines, mb, rounds);
    std::printf(
        "| | MB/s | ÷ cat | ÷ supervisord | CPU per 100 MB | CPU per 100 MB written | "
        "lines lost / bad |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
    std::vector<Run> cat;
    for (int r = 0; r < rounds; ++r) cat.push_back(cat_fanin(children, lines, root));
    std::vector<std::vector<Run>> runs(columns.size());
    // Rounds interleaved, each starting one column further on: drift hits every column alike,
    // and no column always follows the same one (or a cat run).
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::size_t c = (i + static_cast<std::size_t>(r)) % columns.size();
        const std::string dir = root + "/c" + std::to_string(c);
        auto sup = columns[c].make(dir);
        std::cerr << "== " << children << " children: " << columns[c].title << " round "
                  << r + 1 << "\n";
        runs[c].push_back(fanin(*sup, children, lines, dir));
      }
    }
    auto median = [](const std::vector<Run>& v, double Run::*field) {
      std::vector<double> x;
      for (const auto& r : v) x.push_back(r.*field);
      return percentile(x, 0.5);
    };
    auto spread = [](const std::vector<Run>& v) {
      double lo = 1e18, hi = 0;
      for (const auto& r : v) lo = std::min(lo, r.mbps), hi = std::max(hi, r.mbps);
      return num("%.0f", lo) + "–" + num("%.0f", hi);
    };
    const double cat_mbps = median(cat, &Run::mbps);
    const double sd_mbps = supervisord ? median(runs[kOurColumns], &Run::mbps) : 0;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      long bad = 0, missing = 0;
      for (const auto& r : runs[c]) bad += r.bad, missing += r.missing;
      const double m = median(runs[c], &Run::mbps);
      std::printf("| %s | %.0f (%s) | %.2f× | %s | %.3f s | %.3f s | %ld / %ld |\n",
                  columns[c].title.c_str(), m, spread(runs[c]).c_str(), m / cat_mbps,
                  sd_mbps > 0 ? num("%.2f×", m / sd_mbps).c_str() : "n/a",
                  median(runs[c], &Run::cpu_per_100mb),
                  median(runs[c], &Run::cpu_per_100mb_written), missing, bad);
      if (c < kOurColumns && (bad != 0 || missing != 0)) ours_ok = false;
    }
    std::printf("| `cat` per child into a file | %.0f (%s) | 1.00× | %s | %.3f s | %.3f s | — |\n",
                cat_mbps, spread(cat).c_str(),
                sd_mbps > 0 ? num("%.2f×", cat_mbps / sd_mbps).c_str() : "n/a",
                median(cat, &Run::cpu_per_100mb), median(cat, &Run::cpu_per_100mb_written));
  }

  if (args->children != 0) {  // one case only (profiling)
    std::system(("rm -rf " + root).c_str());
    return ours_ok ? 0 : 1;
  }
  // Latency of quiet children's lines beside a flooding one.
  const int ticks = quick ? 30 : 100;
  const long flood_lines = quick ? 300000 : 3000000;
  std::printf("\nSix quiet children (a line every 10 ms, %d each) beside one child flooding %ld "
              "lines of 100 bytes; latency from the line's write to its arrival in the quiet "
              "child's log file\n\n",
              ticks, flood_lines);
  std::printf("| | p50 ms | p99 ms | max ms | ticks timed | flood MB/s |\n|---|---:|---:|---:|---:|---:|\n");
  std::vector<Column> lat_columns = {columns[0]};
  if (supervisord) lat_columns.push_back(columns[kOurColumns]);
  for (const auto& col : lat_columns) {
    for (const long flood : {0L, flood_lines}) {
      const std::string dir = root + "/lat";
      auto sup = col.make(dir);
      std::cerr << "== latency: " << col.title << (flood ? " with flood\n" : " alone\n");
      const Latency l = quiet_latency(*sup, flood, ticks, dir);
      std::printf("| %s, %s | %.2f | %.2f | %.2f | %zu%s | %s |\n", col.title.c_str(),
                  flood ? "one child flooding" : "quiet children alone", percentile(l.ms, 0.5),
                  percentile(l.ms, 0.99), percentile(l.ms, 1.0), l.ms.size(),
                  l.complete ? "" : " (incomplete)",
                  flood ? num("%.0f", l.flood_mbps).c_str() : "—");
      if (col.title == columns[0].title && !l.complete) ours_ok = false;
    }
  }
  stamp_costs(quick ? 200000 : 2000000, rounds, root);
  std::printf("\nCores: %u.%s%s\n", std::thread::hardware_concurrency(),
              supervisord ? "" : " supervisord: not installed, skipped.",
              pm2 ? "" : " PM2: not installed, skipped.");
  std::system(("rm -rf " + root).c_str());
  // A reference losing lines is a finding; ours losing one is a bug.
  return ours_ok ? 0 : 1;
}
