// Supervisor benchmarks: restart latency (kill -9 -> replacement running) and aggregated log
// throughput, each beside its physical reference (fork+exec of the same child; `cat` of the
// same child's output into a file), measured in one run. Prints a Markdown table.
// Usage: bench_supervisor [--quick]
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
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "manager_harness.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using socialai::testing::ManagerProcess;
using socialai::testing::read_pids;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Blocks (no busy polling: the machine has 2 cores) until `file` holds more than `count` pids.
bool wait_for_pids(const std::string& file, std::size_t count, std::chrono::milliseconds limit) {
  const int in = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(in, file.c_str(), IN_MODIFY | IN_CLOSE_WRITE);
  const auto t0 = Clock::now();
  bool ok = false;
  while (!(ok = read_pids(file).size() > count) && ms_since(t0) < static_cast<double>(limit.count())) {
    pollfd p{in, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      [[maybe_unused]] auto n = ::read(in, buf, sizeof buf);
    }
  }
  ::close(in);
  return ok;
}

// kill -9 -> the replacement has run its first instruction of main (it appends its pid).
std::vector<double> restart_latencies(int kills, const std::string& dir) {
  const std::string pids = dir + "/pids";
  ManagerProcess m(
      "{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"}, \"healdec\": {\"restart_delay_ms\": 0, "
      "\"max_restarts\": 1000000, \"backoff_max_ms\": 0}, \"workers\": {\"victim\": {\"path\": \"" +
          kFake + "\", \"args\": [\"--pid-file\", \"" + pids + "\"]}}}",
      dir);
  std::vector<double> out;
  m.wait_until([&] { return read_pids(pids).size() == 1; }, 5s);
  for (int i = 0; i < kills; ++i) {
    const auto before = read_pids(pids);
    const auto t0 = Clock::now();
    ::kill(before.back(), SIGKILL);
    if (!wait_for_pids(pids, before.size(), 5s)) {
      std::cerr << "no restart within 5 s\n";
      std::exit(1);
    }
    out.push_back(ms_since(t0));
    std::this_thread::sleep_for(20ms);  // let it settle, as an operator's kill would
  }
  m.signal(SIGTERM);
  m.wait_exit(10s);
  return out;
}

// Reference: fork+exec of the same child, the floor for any supervisor.
std::vector<double> spawn_latencies(int n, const std::string& dir) {
  std::vector<double> out;
  const std::string pids = dir + "/spawn_pids";
  std::ofstream(pids, std::ios::app).flush();  // exists, so inotify can watch it
  for (int i = 0; i < n; ++i) {
    const auto count = read_pids(pids).size();
    const auto t0 = Clock::now();
    const pid_t p = ::fork();
    if (p == 0) {
      ::execl(kFake.c_str(), kFake.c_str(), "--pid-file", pids.c_str(), "--exit-code", "0",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    wait_for_pids(pids, count, 5s);
    out.push_back(ms_since(t0));
    ::waitpid(p, nullptr, 0);
  }
  return out;
}

struct Throughput {
  double seconds = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
};

// One child floods `lines` lines of `width` bytes on stdout and stderr; the manager writes the
// prefixed aggregated log to a file. Timed until the last line is in the file.
Throughput manager_throughput(long lines, int width, const std::string& dir) {
  ManagerProcess m(
      "{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"}, \"healdec\": {\"restart_delay_ms\": 60000},"
      " \"workers\": {}}",
      dir);
  // Start the flood through SIGHUP so manager start-up is not in the measurement.
  m.rewrite_config(
      "{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"}, \"healdec\": {\"restart_delay_ms\": 60000},"
      " \"workers\": {\"flood\": {\"path\": \"" +
      kFake + "\", \"args\": [\"--flood\", \"" + std::to_string(lines) + "\", \"--line-bytes\", \"" +
      std::to_string(width) + "\", \"--exit-code\", \"0\"]}}}");
  const std::string log = dir + "/manager.log";
  const auto t0 = Clock::now();
  m.signal(SIGHUP);
  // Each payload line "out seq N xxx" is `width` + 4 bytes; prefixed with "[flood] ".
  const std::uint64_t expected = static_cast<std::uint64_t>(lines) * 2 * (width + 4 + 8 + 1);
  while (file_size(log) < expected) {
    std::this_thread::sleep_for(200us);
    if (ms_since(t0) > 120000) break;
  }
  Throughput t;
  t.seconds = ms_since(t0) / 1000.0;
  m.signal(SIGTERM);
  m.wait_exit(10s);
  std::ifstream in(log);
  std::string line;
  long out_next = 0, err_next = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.rfind("[flood] ", 0) != 0 || line.find(" seq ") == std::string::npos) continue;
    const bool is_out = line.compare(8, 4, "out ") == 0;
    const long seq = std::atol(line.c_str() + 16);
    long& next = is_out ? out_next : err_next;
    if (seq != next || line.size() != static_cast<std::size_t>(width) + 12) ++bad;
    next = seq + 1;
    t.bytes += line.size() + 1;
    ++t.lines;
  }
  if (bad != 0 || out_next != lines || err_next != lines) {
    std::cerr << "log check failed: bad=" << bad << " out=" << out_next << " err=" << err_next
              << "\n";
    std::exit(1);
  }
  return t;
}

// Reference: the same child's two streams piped through `cat` into a file, the physical limit
// of any log collector (same generator, one pipe hop, one file write).
double cat_seconds(long lines, int width, const std::string& dir) {
  const std::string dst = dir + "/cat_dst";
  const std::string cmd = kFake + " --flood " + std::to_string(lines) + " --line-bytes " +
                          std::to_string(width) + " --exit-code 0 2>&1 | cat > " + dst;
  const auto t0 = Clock::now();
  const int rc = std::system(cmd.c_str());
  const double s = ms_since(t0) / 1000.0;
  ::unlink(dst.c_str());
  return rc == 0 ? s : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int kills = quick ? 10 : 50;
  const long lines = quick ? 100000 : 2000000;
  const int width = 100;
  const std::string dir = socialai::testing::make_temp_dir();

  const auto restart = restart_latencies(kills, dir);
  const auto spawn = spawn_latencies(kills, dir);
  std::vector<double> mbps, cat_mbps;
  Throughput last;
  for (int round = 0; round < (quick ? 1 : 3); ++round) {
    last = manager_throughput(lines, width, dir + "");
    mbps.push_back(static_cast<double>(last.bytes) / 1e6 / last.seconds);
    cat_mbps.push_back(static_cast<double>(last.bytes) / 1e6 / cat_seconds(lines, width, dir));
  }
  std::system(("rm -rf " + dir).c_str());

  const auto med = [](std::vector<double> v) { return percentile(std::move(v), 0.5); };
  std::printf("| figure | socialai-manager | reference | ratio |\n|---|---|---|---|\n");
  std::printf("| restart latency, median of %d kill -9 (delay 0) | %.2f ms | fork+exec %.2f ms | %.2fx |\n",
              kills, med(restart), med(spawn), med(restart) / med(spawn));
  std::printf("| restart latency p95 | %.2f ms | fork+exec %.2f ms | %.2fx |\n",
              percentile(restart, 0.95), percentile(spawn, 0.95),
              percentile(restart, 0.95) / percentile(spawn, 0.95));
  std::printf("| aggregated log, %lu lines of %d B, 2 streams (median of %zu; min-max) | %.0f MB/s (%.0f-%.0f) | cat %.0f MB/s (%.0f-%.0f) | %.2fx |\n",
              static_cast<unsigned long>(last.lines), width + 12, mbps.size(), med(mbps),
              *std::min_element(mbps.begin(), mbps.end()), *std::max_element(mbps.begin(), mbps.end()),
              med(cat_mbps), *std::min_element(cat_mbps.begin(), cat_mbps.end()),
              *std::max_element(cat_mbps.begin(), cat_mbps.end()), med(mbps) / med(cat_mbps));
  std::printf("\nlines lost, split or out of order: 0 (checked line by line); cores: %u\n",
              std::thread::hardware_concurrency());
  return 0;
}
