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

namespace {

using namespace std::chrono_literals;
using socialai::bench::Clock;
using socialai::bench::ms_since;
using socialai::bench::percentile;
using json = nlohmann::json;
using socialai::testing::ManagerProcess;
using socialai::testing::read_pids;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::optional<std::string> which(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? std::optional<std::string>(name) : std::nullopt;
  }
  std::stringstream path(std::getenv("PATH") ? std::getenv("PATH") : "");
  std::string dir;
  while (std::getline(path, dir, ':')) {
    const std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) {
      return p;
    }
  }
  return std::nullopt;
}

// Blocks (no busy polling: the machine has 2 cores) until `file` holds more than `count` pids.
bool wait_for_pids(const std::string& file, std::size_t count, std::chrono::milliseconds limit) {
  std::ofstream(file, std::ios::app).flush();  // exists, so inotify can watch it
  const int in = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(in, file.c_str(), IN_MODIFY | IN_CLOSE_WRITE);
  const auto t0 = Clock::now();
  bool ok = false;
  while (!(ok = read_pids(file).size() > count) &&
         ms_since(t0) < static_cast<double>(limit.count())) {
    pollfd p{in, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      [[maybe_unused]] auto n = ::read(in, buf, sizeof buf);
    }
  }
  ::close(in);
  return ok;
}

// PSS and RSS (kB) of one process from /proc/PID/smaps_rollup.
std::pair<long, long> pss_rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  long pss = 0, rss = 0;
  while (std::getline(in, line)) {  // the first line is the address range header
    if (line.rfind("Pss:", 0) == 0) pss = std::atol(line.c_str() + 4);
    if (line.rfind("Rss:", 0) == 0) rss = std::atol(line.c_str() + 4);
  }
  return {pss, rss};
}

// utime + stime of one process, in clock ticks.
long cpu_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(in, content);
  const auto close = content.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream rest(content.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) f.push_back(tok);
  return f.size() > 12 ? std::stol(f[11]) + std::stol(f[12]) : 0;
}

struct Program {
  std::string name;
  std::vector<std::string> args;
  bool autorestart = true;
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
  // Files that receive the program's stdout/stderr lines, and the prefix before each line.
  virtual std::vector<std::string> log_files(const std::string& program) const = 0;
  virtual std::string line_prefix(const std::string& program) const = 0;
  // The smallest restart delay the supervisor allows, as configured.
  virtual std::string restart_setting() const = 0;
};

class SocialaiManager : public Supervisor {
 public:
  explicit SocialaiManager(std::string dir) : dir_(std::move(dir)) {}
  std::string name() const override { return "socialai-manager"; }
  void start(const std::vector<Program>& programs) override {
    json workers = json::object();
    for (const auto& p : programs) {
      workers[p.name] = {{"path", kFake}, {"args", p.args}};
      if (!p.autorestart) workers[p.name]["max_restarts"] = 0;
    }
    json cfg = {{"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
                {"healdec", {{"restart_delay_ms", 0}, {"max_restarts", 1000000},
                             {"backoff_max_ms", 0}}},
                {"workers", workers}};
    m_ = std::make_unique<ManagerProcess>(cfg.dump(), dir_);
  }
  // The manager and its orphan sentinel (a fork of it, orphan_guard.h): together they are the
  // supervisor's own memory and CPU. The fork's copy-on-write pages are split between the two
  // in PSS, so the manager's pid alone would understate it.
  std::vector<int> own_pids() const override {
    std::vector<int> pids = {m_->pid()};
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string pid = entry.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in("/proc/" + pid + "/stat");
      std::string stat((std::istreambuf_iterator<char>(in)), {});
      const auto open = stat.find('('), close = stat.rfind(')');
      if (open == std::string::npos || close == std::string::npos) continue;
      int ppid = 0;
      char state = 0;
      if (stat.substr(open + 1, close - open - 1) == "socialai-sentry" &&
          std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 &&
          ppid == m_->pid()) {
        pids.push_back(std::stoi(pid));
      }
    }
    return pids;
  }
  void stop() override {
    m_->signal(SIGTERM);
    m_->wait_exit(10s);
    m_.reset();
  }
  std::vector<std::string> log_files(const std::string&) const override {
    return {dir_ + "/manager.log"};
  }
  std::string line_prefix(const std::string& program) const override {
    return "[" + program + "] ";
  }
  std::string restart_setting() const override { return "restart_delay_ms 0"; }

 private:
  std::string dir_;
  std::unique_ptr<ManagerProcess> m_;
};

pid_t spawn(const std::vector<std::string>& argv, const std::string& out,
            const std::vector<std::string>& extra_env = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(o, 2);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

void terminate(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// supervisord 4.2 in the foreground; raw per-program log files, no rotation.
class Supervisord : public Supervisor {
 public:
  Supervisord(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string name() const override { return "supervisord"; }
  void start(const std::vector<Program>& programs) override {
    std::ofstream conf(dir_ + "/supervisord.conf");
    conf << "[supervisord]\nnodaemon=true\nlogfile=" << dir_ << "/supervisord.log\npidfile="
         << dir_ << "/supervisord.pid\nchildlogdir=" << dir_ << "\n"
         << (::getuid() == 0 ? "user=root\n\n" : "\n");  // as root it insists on a user
    for (const auto& p : programs) {
      conf << "[program:" << p.name << "]\ncommand=" << kFake;
      for (const auto& a : p.args) conf << " " << a;
      conf << "\nautostart=true\nautorestart=" << (p.autorestart ? "true" : "false")
           << "\nstartsecs=0\nstartretries=1000000\nstopwaitsecs=5\n"
           << "stdout_logfile=" << dir_ << "/" << p.name << ".out\nstdout_logfile_maxbytes=0\n"
           << "stderr_logfile=" << dir_ << "/" << p.name << ".err\nstderr_logfile_maxbytes=0\n\n";
    }
    conf.close();
    pid_ = spawn({bin_, "-n", "-c", dir_ + "/supervisord.conf"}, dir_ + "/supervisord.stdout");
  }
  std::vector<int> own_pids() const override { return {pid_}; }
  void stop() override { terminate(pid_); }
  std::vector<std::string> log_files(const std::string& program) const override {
    return {dir_ + "/" + program + ".out", dir_ + "/" + program + ".err"};
  }
  std::string line_prefix(const std::string&) const override { return ""; }
  std::string restart_setting() const override { return "autorestart, startsecs=0"; }

 private:
  std::string bin_, dir_;
  pid_t pid_ = -1;
};

// PM2 with its own PM2_HOME; its daemon ("God") supervises and writes the logs.
class Pm2 : public Supervisor {
 public:
  Pm2(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string name() const override { return "PM2"; }
  void start(const std::vector<Program>& programs) override {
    json apps = json::array();
    for (const auto& p : programs) {
      apps.push_back({{"name", p.name},
                      {"script", kFake},
                      {"args", p.args},
                      {"interpreter", "none"},
                      {"autorestart", p.autorestart},
                      {"restart_delay", 0},
                      {"min_uptime", 0},
                      {"max_restarts", 1000000},
                      {"out_file", dir_ + "/" + p.name + ".out"},
                      {"error_file", dir_ + "/" + p.name + ".err"}});
    }
    std::ofstream(dir_ + "/ecosystem.json") << json{{"apps", apps}}.dump(2);
    run({"start", dir_ + "/ecosystem.json"});
  }
  std::vector<int> own_pids() const override {
    std::vector<int> pids;
    std::ifstream in(home() + "/pm2.pid");
    int pid = 0;
    if (in >> pid) pids.push_back(pid);
    return pids;
  }
  void stop() override { run({"kill"}); }
  std::vector<std::string> log_files(const std::string& program) const override {
    return {dir_ + "/" + program + ".out", dir_ + "/" + program + ".err"};
  }
  std::string line_prefix(const std::string&) const override { return ""; }
  std::string restart_setting() const override { return "restart_delay 0, min_uptime 0"; }

 private:
  std::string home() const { return dir_ + "/pm2home"; }
  void run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t p = spawn(argv, dir_ + "/pm2-cli.out", {"PM2_HOME=" + home()});
    ::waitpid(p, nullptr, 0);
  }
  std::string bin_, dir_;
};

struct Idle {
  long pss_kb = 0, rss_kb = 0;
  double cpu_s = 0;
};

Idle measure_idle(Supervisor& sup, const std::string& dir, std::chrono::seconds window) {
  const std::string pids = dir + "/idle.pids";
  std::vector<Program> programs;
  for (const char* n : {"farcaster", "reddit", "ethereum", "base", "solana", "ai", "search"}) {
    programs.push_back({n, {"--pid-file", pids}});
  }
  sup.start(programs);
  if (!wait_for_pids(pids, 6, 20s)) {
    std::cerr << sup.name() << ": the 7 children did not start\n";
  }
  std::this_thread::sleep_for(2s);  // settle (first log writes, lazy allocations)
  Idle r;
  long t0 = 0;
  for (int pid : sup.own_pids()) t0 += cpu_ticks(pid);
  std::this_thread::sleep_for(window);
  long t1 = 0;
  for (int pid : sup.own_pids()) {
    t1 += cpu_ticks(pid);
    const auto [pss, rss] = pss_rss_kb(pid);
    r.pss_kb += pss;
    r.rss_kb += rss;
  }
  r.cpu_s = static_cast<double>(t1 - t0) / static_cast<double>(::sysconf(_SC_CLK_TCK));
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
    if (!wait_for_pids(pids, before.size(), 10s)) {
      std::cerr << sup.name() << ": no restart within 10 s\n";
      break;
    }
    out.push_back(ms_since(t0));
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
    wait_for_pids(pids, count, 5s);
    out.push_back(ms_since(t0));
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

// Checks every flood line in `files`: per stream in order, whole, none missing.
void check_lines(const std::vector<std::string>& files, const std::string& prefix, long lines,
                 int width, Throughput& t) {
  long next_out = 0, next_err = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) != 0) continue;
      const std::string_view body = std::string_view(line).substr(prefix.size());
      const bool is_out = body.rfind("out seq ", 0) == 0;
      if (!is_out && body.rfind("err seq ", 0) != 0) continue;
      const long seq = std::atol(std::string(body.substr(8, 12)).c_str());
      long& next = is_out ? next_out : next_err;
      if (seq != next || body.size() != static_cast<std::size_t>(width) + 4) {
        ++t.bad;
      } else {
        ++t.lines_ok;
        t.payload_bytes += body.size() + 1;
      }
      next = seq + 1;
    }
  }
  t.missing = (lines - next_out) + (lines - next_err);
}

Throughput log_throughput(Supervisor& sup, long lines, int width, const std::string& dir) {
  const std::string go = dir + "/go", pids = dir + "/flood.pids";
  ::unlink(go.c_str());
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
  std::this_thread::sleep_for(300ms);  // its start-up lines are written and the supervisor idles
  const auto files = sup.log_files("flood");
  const std::string prefix = sup.line_prefix("flood");
  std::uint64_t base = 0;
  for (const auto& f : files) base += file_size(f);
  const std::uint64_t expected =
      base + static_cast<std::uint64_t>(lines) * 2 * (prefix.size() + width + 4 + 1);
  long ticks0 = 0;
  for (int pid : sup.own_pids()) ticks0 += cpu_ticks(pid);
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
  long ticks1 = 0;
  for (int pid : sup.own_pids()) ticks1 += cpu_ticks(pid);
  t.cpu_s = static_cast<double>(ticks1 - ticks0) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  sup.stop();
  check_lines(files, prefix, lines, width, t);
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

std::string num(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string supervisord_bin = "supervisord", pm2_bin = "pm2";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--supervisord" && i + 1 < argc) supervisord_bin = argv[++i];
    else if (a == "--pm2" && i + 1 < argc) pm2_bin = argv[++i];
    else {
      std::cerr << "usage: bench_supervisor [--quick] [--supervisord PATH] [--pm2 PATH]\n";
      return 2;
    }
  }
  const int kills = quick ? 5 : 30;
  const long lines = quick ? 50000 : 1000000;
  const int width = 100, rounds = quick ? 1 : 3;
  const auto idle_window = quick ? 3s : 20s;
  const std::string root = socialai::testing::make_temp_dir();

  struct Entry {
    std::unique_ptr<Supervisor> sup;
    Idle idle;
    std::vector<double> restart, mbps, cpu_per_100mb;
    long bad = 0, missing = 0;
  };
  std::vector<Entry> entries;
  auto make = [&](const std::string& kind, const std::string& dir) -> std::unique_ptr<Supervisor> {
    ::mkdir(dir.c_str(), 0755);
    if (kind == "socialai") return std::make_unique<SocialaiManager>(dir);
    if (kind == "supervisord") return std::make_unique<Supervisord>(*which(supervisord_bin), dir);
    return std::make_unique<Pm2>(*which(pm2_bin), dir);
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
    e.idle = measure_idle(*e.sup, dir, idle_window);
    std::cerr << "== " << e.sup->name() << ": restarts\n";
    e.restart = restart_latencies(*e.sup, kills, dir);
    for (int r = 0; r < rounds; ++r) {
      std::cerr << "== " << e.sup->name() << ": log throughput round " << r + 1 << "\n";
      const auto t = log_throughput(*e.sup, lines, width, dir);
      e.bad += t.bad;
      e.missing += t.missing;
      if (t.seconds > 0 && t.payload_bytes > 0) {
        e.mbps.push_back(static_cast<double>(t.payload_bytes) / 1e6 / t.seconds);
        e.cpu_per_100mb.push_back(t.cpu_s / (static_cast<double>(t.payload_bytes) / 1e8));
      }
    }
    entries.push_back(std::move(e));
  }
  const auto spawn = spawn_latencies(kills, root);
  std::vector<double> cat_mbps;
  const double payload = static_cast<double>(lines) * 2 * (width + 5);
  for (int r = 0; r < rounds; ++r) {
    cat_mbps.push_back(payload / 1e6 / cat_seconds(lines, width, root));
  }
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
  row("idle PSS, supervisor processes, 7 children", [](const Entry& e) {
    return num("%.1f MB", static_cast<double>(e.idle.pss_kb) / 1024.0);
  }, "");
  row("idle RSS", [](const Entry& e) {
    return num("%.1f MB", static_cast<double>(e.idle.rss_kb) / 1024.0);
  }, "");
  row("idle CPU over " + std::to_string(idle_window.count()) + " s", [](const Entry& e) {
    return num("%.2f s", e.idle.cpu_s);
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
    std::printf(" PSS %.2f× %s;", static_cast<double>(us.idle.pss_kb) / static_cast<double>(std::max(1L, e.idle.pss_kb)),
                e.sup->name().c_str());
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
