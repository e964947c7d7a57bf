// The compared supervisors: how each is configured, started, stopped and read back.
#include "supervisors.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "manager_harness.h"

namespace socialai::bench {

const std::string kFakeWorker = SOCIALAI_FAKE_WORKER_BIN;
const std::string kFakeWorkerDyn = SOCIALAI_FAKE_WORKER_DYN_BIN;

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::ManagerProcess;
using testing::read_pids;

// "2026-12-04T17:28:50.065Z " (the manager's receive time, fixed width).
constexpr std::size_t kStampBytes = 25;

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

class SocialaiManager : public Supervisor {
 public:
  SocialaiManager(std::string dir, SocialaiOptions o) : dir_(std::move(dir)), opt_(std::move(o)) {}
  std::string name() const override { return "socialai-manager"; }
  void start(const std::vector<Program>& programs) override {
    json workers = json::object();
    own_files_.clear();
    for (const auto& p : programs) {
      workers[p.name] = {{"path", p.exe}, {"args", p.args}};
      if (!p.autorestart) workers[p.name]["max_restarts"] = 0;
      if (p.own_log_file) {
        own_files_.insert(p.name);
        workers[p.name]["log_file"] = dir_ + "/" + p.name + ".own.log";
      }
    }
    json cfg = {{"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
                {"log", {{"timestamps", opt_.timestamps ? "auto" : "never"},
                         {"stderr_tag", opt_.stderr_tag}}},
                {"healdec", {{"restart_delay_ms", 0}, {"max_restarts", 1000000},
                             {"backoff_max_ms", 0}}},
                {"workers", workers}};
    if (!opt_.log_file.empty()) {
      cfg["log"]["file"] = opt_.log_file;
      cfg["log"]["max_bytes"] = 1ull << 40;  // one file to read back (rotation is not timed)
    }
    m_ = std::make_unique<ManagerProcess>(cfg.dump(), dir_, opt_.stdout_path);
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
  std::vector<std::string> log_files(const std::string& program) const override {
    if (own_files_.count(program) != 0) return {dir_ + "/" + program + ".own.log"};
    if (!opt_.log_file.empty()) return {opt_.log_file};
    return {opt_.stdout_path.empty() ? dir_ + "/manager.log" : opt_.stdout_path};
  }
  std::size_t line_overhead(const std::string& program, bool is_stderr) const override {
    return program.size() + 3 + (is_stderr ? opt_.stderr_tag.size() : 0) +
           (opt_.timestamps ? kStampBytes : 0);
  }
  std::optional<std::string_view> body_of(std::string_view line,
                                          std::string_view& program) const override {
    if (line.empty() || line.front() != '[') return std::nullopt;
    const auto close = line.find("] ");
    if (close == std::string_view::npos) return std::nullopt;
    program = line.substr(1, close - 1);
    if (const auto colon = program.find(':'); colon != std::string_view::npos) {
      program = program.substr(0, colon);  // "[name:err] "
    }
    line.remove_prefix(close + 2);
    if (opt_.timestamps && line.size() >= kStampBytes && line[4] == '-' && line[10] == 'T' &&
        line[kStampBytes - 2] == 'Z') {
      line.remove_prefix(kStampBytes);
    }
    return line;
  }
  std::string restart_setting() const override { return "restart_delay_ms 0"; }

 private:
  std::string dir_;
  SocialaiOptions opt_;
  std::set<std::string> own_files_;
  std::unique_ptr<ManagerProcess> m_;
};

// Supervisors that keep raw per-program files: the line is the child's, as written.
class RawFilesSupervisor : public Supervisor {
 public:
  std::size_t line_overhead(const std::string&, bool) const override { return 0; }
  std::optional<std::string_view> body_of(std::string_view line,
                                          std::string_view&) const override {
    return line;
  }
};

// supervisord 4.2 in the foreground; raw per-program log files, no rotation.
class Supervisord : public RawFilesSupervisor {
 public:
  Supervisord(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string name() const override { return "supervisord"; }
  void start(const std::vector<Program>& programs) override {
    std::ofstream conf(dir_ + "/supervisord.conf");
    conf << "[supervisord]\nnodaemon=true\nlogfile=" << dir_ << "/supervisord.log\npidfile="
         << dir_ << "/supervisord.pid\nchildlogdir=" << dir_ << "\n"
         << (::getuid() == 0 ? "user=root\n\n" : "\n");  // as root it insists on a user
    for (const auto& p : programs) {
      conf << "[program:" << p.name << "]\ncommand=" << p.exe;
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
  std::string restart_setting() const override { return "autorestart, startsecs=0"; }

 private:
  std::string bin_, dir_;
  pid_t pid_ = -1;
};

// PM2 with its own PM2_HOME; its daemon ("God") supervises and writes the logs.
class Pm2 : public RawFilesSupervisor {
 public:
  Pm2(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string name() const override { return "PM2"; }
  void start(const std::vector<Program>& programs) override {
    json apps = json::array();
    for (const auto& p : programs) {
      apps.push_back({{"name", p.name},
                      {"script", p.exe},
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

}  // namespace

std::unique_ptr<Supervisor> make_socialai(const std::string& dir, SocialaiOptions options) {
  ::mkdir(dir.c_str(), 0755);
  return std::make_unique<SocialaiManager>(dir, std::move(options));
}
std::unique_ptr<Supervisor> make_supervisord(const std::string& bin, const std::string& dir) {
  ::mkdir(dir.c_str(), 0755);
  return std::make_unique<Supervisord>(bin, dir);
}
std::unique_ptr<Supervisor> make_pm2(const std::string& bin, const std::string& dir) {
  ::mkdir(dir.c_str(), 0755);
  return std::make_unique<Pm2>(bin, dir);
}

std::optional<SupervisorBenchArgs> parse_supervisor_bench_args(int argc, char** argv,
                                                               const char* program) {
  SupervisorBenchArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      args.quick = true;
    } else if (a == "--supervisord" && i + 1 < argc) {
      args.supervisord = argv[++i];
    } else if (a == "--pm2" && i + 1 < argc) {
      args.pm2 = argv[++i];
    } else if (a == "--children" && i + 1 < argc) {
      args.children = std::atoi(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      args.rounds = std::atoi(argv[++i]);
    } else if (a == "--lines" && i + 1 < argc) {
      args.lines = std::atol(argv[++i]);
    } else {
      std::cerr << "usage: " << program
                << " [--quick] [--supervisord PATH] [--pm2 PATH] [--children N] [--rounds N] [--lines N]\n";
      return std::nullopt;
    }
  }
  return args;
}

std::string num(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

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

bool wait_for_pids(const std::string& file, std::size_t count, std::chrono::milliseconds limit,
                   Clock::time_point* seen) {
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
  if (seen != nullptr) {
    *seen = Clock::now();
  }
  ::close(in);
  return ok;
}

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

void settle_after_start(std::chrono::steady_clock::time_point started,
                        std::chrono::milliseconds idle) {
  std::this_thread::sleep_for(idle);
  std::this_thread::sleep_until(started + std::chrono::milliseconds(1500));
}

double cpu_seconds(const std::vector<int>& pids) {
  long double ns = 0;
  for (const int pid : pids) {
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::ifstream in(task.path() / "schedstat");
      unsigned long long run = 0;
      if (in >> run) {
        ns += static_cast<long double>(run);
      }
    }
  }
  return static_cast<double>(ns / 1e9L);
}

FloodCheck check_floods(const Supervisor& sup, const std::vector<std::string>& programs,
                        long lines, int width, int streams) {
  // Which programs write into each file: one owner means a per-program file.
  std::map<std::string, std::vector<std::string>> owners;
  for (const auto& p : programs) {
    for (const auto& f : sup.log_files(p)) owners[f].push_back(p);
  }
  struct Next {
    long out = 0, err = 0;
  };
  std::map<std::string, Next, std::less<>> next;
  for (const auto& p : programs) next[p];
  FloodCheck c;
  for (const auto& [file, progs] : owners) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::string_view program = progs.size() == 1 ? std::string_view(progs[0]) : "";
      const auto body = sup.body_of(line, program);
      if (!body) continue;
      const bool is_out = body->rfind("out seq ", 0) == 0;
      if (!is_out && body->rfind("err seq ", 0) != 0) continue;
      const auto it = next.find(program);
      if (it == next.end()) continue;
      const long seq = std::atol(std::string(body->substr(8, 12)).c_str());
      long& want = is_out ? it->second.out : it->second.err;
      if (seq != want || body->size() != static_cast<std::size_t>(width) + 4) {
        ++c.bad;
      } else {
        ++c.ok;
        c.payload_bytes += body->size() + 1;
      }
      want = seq + 1;
    }
  }
  for (const auto& [p, n] : next) {
    c.missing += (lines - n.out) + (streams == 2 ? lines - n.err : 0);
  }
  return c;
}

}  // namespace socialai::bench
