// Supervisors side by side (SPEC §10): socialai-manager, supervisord and PM2 supervising the
// same static children, in one run, each beside the physical references (fork+exec of the same
// child; `cat` of the same output into a file):
//   - idle memory (PSS and RSS of the supervisor's own processes) and idle CPU with 7 children;
//   - restart latency after kill -9 with the smallest delay each allows;
//   - log throughput with per-line sequence checks and the supervisor's CPU per 100 MB.
// Prints a Markdown table. supervisord and pm2 are found on PATH or given by flags; a missing
// one is reported as such and skipped (scripts/bench.sh installs both).
//
// Usage: bench_supervisor [--quick] [--supervisord PATH] [--pm2 PATH]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "manager_harness.h"
#include "supervisors.h"

namespace {

using namespace std::chrono_literals;
using socialai::bench::Clock;
using socialai::bench::ms_since;
using socialai::bench::percentile;
using json = nlohmann::json;
using socialai::testing::read_pids;
using namespace socialai::bench;
const std::string& kFake = kFakeWorker;

struct Idle {
  long pss_kb = 0, rss_kb = 0;
  double cpu_s = 0;
};

Idle measure_idle(Supervisor& sup, const std::string& dir, std::chrono::seconds window,
                  const std::string& exe) {
  const std::string pids = dir + "/idle.pids";
  std::vector<Program> programs;
  for (const char* n : {"farcaster", "reddit", "ethereum", "base", "solana", "ai", "search"}) {
    programs.push_back({n, {"--pid-file", pids}, true, false, exe});
  }
  sup.start(programs);
  if (!wait_for_pids(pids, 6, 20s)) {
    std::cerr << sup.name() << ": the 7 children did not start\n";
  }
  std::this_thread::sleep_for(2s);  // settle (first log writes, lazy allocations)
  Idle r;
  const double t0 = cpu_seconds(sup.own_pids());
  std::this_thread::sleep_for(window);
  const double t1 = cpu_seconds(sup.own_pids());
  for (int pid : sup.own_pids()) {
    const auto [pss, rss] = pss_rss_kb(pid);
    r.pss_kb += pss;
    r.rss_kb += rss;
  }
  r.cpu_s = t1 - t0;
  sup.stop();
  return r;
}

// kill -9 -> the replacement has run its first instruction of main (it appends its pid).
std::vector<double> restart_latencies(Supervisor& sup, int kills, const std::string& dir) {
  const std::string pids = dir + "/victim.pids";
  sup.start({{"victim", {"--pid-file", pids}}});
  std::vector<double> out;
  if (!wait_for_pids(pids, 0, 20s)) {
    std::cerr << sup.name() << ": victim did not start\n";
    sup.stop();
    return out;
  }
  for (int i = 0; i < kills; ++i) {
    const auto before = read_pids(pids);
    const auto t0 = Clock::now();
    ::kill(before.back(), SIGKILL);
    Clock::time_point seen;
    if (!wait_for_pids(pids, before.size(), 10s, &seen)) {
      std::cerr << sup.name() << ": no restart within 10 s\n";
      break;
    }
    out.push_back(ms_between(t0, seen));
    std::this_thread::sleep_for(50ms);  // let it settle, as an operator's kill would
  }
  sup.stop();
  return out;
}

// Reference: fork+exec of the same child, the floor for any supervisor.
std::vector<double> spawn_latencies(int n, const std::string& dir) {
  std::vector<double> out;
  const std::string pids = dir + "/spawn.pids";
  for (int i = 0; i < n; ++i) {
    const auto count = read_pids(pids).size();
    const auto t0 = Clock::now();
    const pid_t p = ::fork();
    if (p == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::execl(kFake.c_str(), kFake.c_str(), "--pid-file", pids.c_str(), "--exit-code", "0",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    Clock::time_point seen;
    wait_for_pids(pids, count, 5s, &seen);
    out.push_back(ms_between(t0, seen));
    ::waitpid(p, nullptr, 0);
  }
  return out;
}

struct Throughput {
  double seconds = 0;
  std::uint64_t payload_bytes = 0;
  long lines_ok = 0, bad = 0, missing = 0;
  double cpu_s = 0;
  bool done = false;
};

Throughput log_throughput(Supervisor& sup, long lines, int width, const std::string& dir) {
  const std::string go = dir + "/go", pids = dir + "/flood.pids";
  ::unlink(go.c_str());
  const auto started = Clock::now();
  sup.start({{"flood",
              {"--pid-file", pids, "--start-file", go, "--flood", std::to_string(lines),
               "--line-bytes", std::to_string(width)},
              false}});
  Throughput t;
  if (!wait_for_pids(pids, 0, 20s)) {
    std::cerr << sup.name() << ": flood child did not start\n";
    sup.stop();
    return t;
  }
  settle_after_start(started, 300ms);  // its start-up lines are written, the supervisor idles
  const auto files = sup.log_files("flood");
  std::uint64_t base = 0;
  for (const auto& f : files) base += file_size(f);
  const std::uint64_t line = static_cast<std::uint64_t>(width) + 4 + 1;
  const std::uint64_t expected =
      base + static_cast<std::uint64_t>(lines) * (2 * line + sup.line_overhead("flood", false) +
                                                  sup.line_overhead("flood", true));
  const double cpu0 = cpu_seconds(sup.own_pids());
  const auto t0 = Clock::now();
  std::ofstream(go).flush();
  std::uint64_t size = 0, last_size = 0;
  auto last_change = Clock::now();
  for (;;) {
    size = 0;
    for (const auto& f : files) size += file_size(f);
    if (size >= expected) {
      t.done = true;
      break;
    }
    if (size != last_size) {
      last_size = size;
      last_change = Clock::now();
    } else if (ms_since(last_change) > 5000) {
      break;  // stalled: lines were lost
    }
    std::this_thread::sleep_for(200us);
  }
  t.seconds = ms_since(t0) / 1000.0;
  t.cpu_s = cpu_seconds(sup.own_pids()) - cpu0;
  sup.stop();
  const FloodCheck c = check_floods(sup, {"flood"}, lines, width, 2);
  t.lines_ok = c.ok;
  t.bad = c.bad;
  t.missing = c.missing;
  t.payload_bytes = c.payload_bytes;
  for (const auto& f : files) ::unlink(f.c_str());
  return t;
}

// Reference: the same child's two streams piped through `cat` into a file, started by the same
// start file as the supervisors' floods, so process start-up is outside the timing too.
double cat_seconds(long lines, int width, const std::string& dir) {
  const std::string dst = dir + "/cat_dst", go = dir + "/cat_go", pids = dir + "/cat.pids";
  ::unlink(go.c_str());
  const std::string cmd = kFake + " --pid-file " + pids + " --start-file " + go + " --flood " +
                          std::to_string(lines) + " --line-bytes " + std::to_string(width) +
                          " --exit-code 0 2>&1 | cat > " + dst;
  const auto before = read_pids(pids).size();
  const pid_t sh = ::fork();
  if (sh == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  wait_for_pids(pids, before, 10s);
  std::this_thread::sleep_for(300ms);
  const std::uint64_t expected = file_size(dst) + static_cast<std::uint64_t>(lines) * 2 * (width + 5);
  const auto t0 = Clock::now();
  std::ofstream(go).flush();
  while (file_size(dst) < expected && ms_since(t0) < 60000) {
    std::this_thread::sleep_for(200us);
  }
  const double s = ms_since(t0) / 1000.0;
  ::waitpid(sh, nullptr, 0);
  ::unlink(dst.c_str());
  return s;
}


}  // namespace

int main(int argc, char** argv) {
  const auto args = parse_supervisor_bench_args(argc, argv, "bench_supervisor");
  if (!args) {
    return 2;
  }
  const bool quick = args->quick;
  const std::string& supervisord_bin = args->supervisord;
  const std::string& pm2_bin = args->pm2;
  const int kills = quick ? 5 : 30;
  const long lines = quick ? 50000 : 1000000;
  const int width = 100, rounds = quick ? 1 : 3;
  const auto idle_window = quick ? 3s : 20s;
  const std::string root = socialai::testing::make_temp_dir();

  struct Entry {
    std::unique_ptr<Supervisor> sup;
    Idle idle, idle_dyn;
    std::vector<double> restart, mbps, cpu_per_100mb;
    long bad = 0, missing = 0;
  };
  std::vector<Entry> entries;
  auto make = [&](const std::string& kind, const std::string& dir) -> std::unique_ptr<Supervisor> {
    if (kind == "socialai") return make_socialai(dir);
    if (kind == "supervisord") return make_supervisord(*which(supervisord_bin), dir);
    return make_pm2(*which(pm2_bin), dir);
  };
  std::vector<std::string> kinds = {"socialai"};
  std::vector<std::string> missing_tools;
  if (which(supervisord_bin)) kinds.push_back("supervisord");
  else missing_tools.push_back("supervisord");
  if (which(pm2_bin)) kinds.push_back("pm2");
  else missing_tools.push_back("pm2");

  for (const auto& kind : kinds) {
    Entry e;
    const std::string dir = root + "/" + kind;
    e.sup = make(kind, dir);
    std::cerr << "== " << e.sup->name() << ": idle\n";
    e.idle = measure_idle(*e.sup, dir, idle_window, kFakeWorker);
    std::cerr << "== " << e.sup->name() << ": idle, dynamically linked children\n";
    e.idle_dyn = measure_idle(*e.sup, dir, idle_window, kFakeWorkerDyn);
    std::cerr << "== " << e.sup->name() << ": restarts\n";
    e.restart = restart_latencies(*e.sup, kills, dir);
    entries.push_back(std::move(e));
  }
  // Rounds interleaved, each starting one supervisor further on, then cat: drift hits every
  // column alike, and no supervisor always runs first.
  std::vector<double> cat_mbps;
  const double payload = static_cast<double>(lines) * 2 * (width + 5);
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::size_t k = (i + static_cast<std::size_t>(r)) % entries.size();
      Entry& e = entries[k];
      std::cerr << "== " << e.sup->name() << ": log throughput round " << r + 1 << "\n";
      const auto t = log_throughput(*e.sup, lines, width, root + "/" + kinds[k]);
      e.bad += t.bad;
      e.missing += t.missing;
      if (t.seconds > 0 && t.payload_bytes > 0) {
        e.mbps.push_back(static_cast<double>(t.payload_bytes) / 1e6 / t.seconds);
        e.cpu_per_100mb.push_back(t.cpu_s / (static_cast<double>(t.payload_bytes) / 1e8));
      }
    }
    cat_mbps.push_back(payload / 1e6 / cat_seconds(lines, width, root));
  }
  const auto spawn = spawn_latencies(kills, root);
  std::system(("rm -rf " + root).c_str());

  const auto med = [](const std::vector<double>& v) { return percentile(v, 0.5); };
  const auto spread = [](const std::vector<double>& v, const char* f) {
    if (v.empty()) return std::string("n/a");
    return num(f, *std::min_element(v.begin(), v.end())) + "–" +
           num(f, *std::max_element(v.begin(), v.end()));
  };
  const Entry& us = entries.front();
  auto row = [&](const std::string& figure, const std::function<std::string(const Entry&)>& cell,
                 const std::string& reference) {
    std::printf("| %s |", figure.c_str());
    for (const auto& e : entries) std::printf(" %s |", cell(e).c_str());
    std::printf(" %s |\n", reference.c_str());
  };
  std::printf("| figure |");
  for (const auto& e : entries) std::printf(" %s |", e.sup->name().c_str());
  std::printf(" reference |\n|---|");
  for (std::size_t i = 0; i <= entries.size(); ++i) std::printf("---|");
  std::printf("\n");
  row("idle PSS, supervisor processes, 7 static children", [](const Entry& e) {
    return num("%.1f MB", static_cast<double>(e.idle.pss_kb) / 1024.0);
  }, "");
  row("idle PSS, 7 dynamically linked children", [](const Entry& e) {
    return num("%.1f MB", static_cast<double>(e.idle_dyn.pss_kb) / 1024.0);
  }, "");
  row("idle RSS", [](const Entry& e) {
    return num("%.1f MB", static_cast<double>(e.idle.rss_kb) / 1024.0);
  }, "");
  row("idle CPU over " + std::to_string(idle_window.count()) + " s", [](const Entry& e) {
    return num("%.1f ms", e.idle.cpu_s * 1000.0);
  }, "");
  row("restart after kill -9, median of " + std::to_string(kills), [&](const Entry& e) {
    return e.restart.empty() ? std::string("failed") : num("%.2f ms", med(e.restart));
  }, "fork+exec " + num("%.2f ms", med(spawn)));
  row("restart p95 (min–max)", [&](const Entry& e) {
    return e.restart.empty() ? std::string("failed")
                             : num("%.2f ms", percentile(e.restart, 0.95)) + " (" +
                                   spread(e.restart, "%.1f") + ")";
  }, "fork+exec " + num("%.2f ms", percentile(spawn, 0.95)));
  row("log throughput, " + std::to_string(lines) + " lines × 2 streams, median of " +
          std::to_string(rounds) + " (min–max)",
      [&](const Entry& e) {
        return e.mbps.empty() ? std::string("failed")
                              : num("%.0f MB/s", med(e.mbps)) + " (" + spread(e.mbps, "%.0f") + ")";
      },
      "cat " + num("%.0f MB/s", med(cat_mbps)) + " (" + spread(cat_mbps, "%.0f") + ")");
  row("lines lost / split or out of order", [](const Entry& e) {
    return std::to_string(e.missing) + " / " + std::to_string(e.bad);
  }, "");
  row("supervisor CPU per 100 MB of logs", [&](const Entry& e) {
    return e.cpu_per_100mb.empty() ? std::string("n/a") : num("%.2f s", med(e.cpu_per_100mb));
  }, "");
  std::printf("\nRatios (socialai-manager ÷ reference, same run):");
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    std::printf(" PSS %.2f× %s (dynamically linked children %.2f×);",
                static_cast<double>(us.idle.pss_kb) / static_cast<double>(std::max(1L, e.idle.pss_kb)),
                e.sup->name().c_str(),
                static_cast<double>(us.idle_dyn.pss_kb) /
                    static_cast<double>(std::max(1L, e.idle_dyn.pss_kb)));
    if (e.idle.cpu_s > 0) {
      std::printf(" idle CPU %.2f× %s;", us.idle.cpu_s / e.idle.cpu_s, e.sup->name().c_str());
    }
    if (!e.restart.empty() && !us.restart.empty()) {
      std::printf(" restart %.3f× %s;", med(us.restart) / med(e.restart), e.sup->name().c_str());
    }
    if (!e.mbps.empty() && !us.mbps.empty()) {
      std::printf(" log throughput %.2f× %s;", med(us.mbps) / med(e.mbps), e.sup->name().c_str());
    }
  }
  if (!us.restart.empty()) std::printf(" restart %.2f× fork+exec;", med(us.restart) / med(spawn));
  if (!us.mbps.empty()) std::printf(" log throughput %.2f× cat.", med(us.mbps) / med(cat_mbps));
  std::printf("\n\nCores: %u.", std::thread::hardware_concurrency());
  for (const auto& t : missing_tools) std::printf(" %s: not installed, skipped.", t.c_str());
  std::printf("\n");
  // A supervisor losing lines is a finding, not a harness failure; ours losing one is a bug.
  return us.missing == 0 && us.bad == 0 && !us.restart.empty() ? 0 : 1;
}
