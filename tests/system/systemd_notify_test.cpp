// System tests: the real socialai-manager speaking the sd_notify protocol to a datagram socket
// that plays systemd's part (READY=1, STATUS=, WATCHDOG=1, STOPPING=1).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "manager_harness.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kFakeWorker = SOCIALAI_FAKE_WORKER_BIN;

// The state letter in /proc/PID/stat ('S', 'R', 'Z', ...), or 0 if there is no such process.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');  // comm may contain spaces and parentheses
  return paren == std::string::npos || paren + 2 >= stat.size() ? '\0' : stat[paren + 2];
}

// How many processes have `pid` as their parent (the ppid field of /proc/*/stat).
int count_children(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
      continue;
    }
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) {
      continue;
    }
    std::istringstream rest(stat.substr(paren + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == pid) {
      ++n;
    }
  }
  return n;
}

// The NAME=value entries of a process's environment.
std::vector<std::string> environment_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::vector<std::string> out;
  for (std::string kv; std::getline(in, kv, '\0');) {
    out.push_back(kv);
  }
  return out;
}

// One assignment as systemd sees it: from whom, when, and what the sender looked like then.
struct Notification {
  Clock::time_point at;
  pid_t pid = 0;          // from SCM_CREDENTIALS, as systemd checks NotifyAccess=main
  std::string text;       // "READY=1", "STATUS=...", ...
  int children = 0;       // the sender's child processes when the datagram was read
  char sender_state = 0;  // the sender's /proc state then ('Z' or 0: it had already exited)
};

// Binds an AF_UNIX datagram socket at `path` and reads it on its own thread. The kernel queues
// only net.unix.max_dgram_qlen (often 10) datagrams and then blocks the sender, so it is drained
// continuously, never only when the test looks.
class FakeSystemd {
 public:
  explicit FakeSystemd(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    const int on = 1;
    if (fd_ < 0 || path_.size() >= sizeof a.sun_path ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
      ADD_FAILURE() << "cannot bind " << path_ << ": " << std::strerror(errno);
      return;
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FakeSystemd() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
    ::unlink(path_.c_str());
  }
  FakeSystemd(const FakeSystemd&) = delete;
  FakeSystemd& operator=(const FakeSystemd&) = delete;

  const std::string& path() const { return path_; }

  std::vector<Notification> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

  // The first notification with exactly this text (or, for "STATUS=", this prefix).
  std::optional<Notification> first(const std::string& text) const {
    for (const auto& n : received()) {
      if (n.text == text || (text == "STATUS=" && n.text.rfind(text, 0) == 0)) {
        return n;
      }
    }
    return std::nullopt;
  }

  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pred()) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      char buf[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n < 0) {
        continue;
      }
      const auto now = Clock::now();
      pid_t pid = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred{};
          std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
          pid = cred.pid;
        }
      }
      const int children = pid > 0 ? count_children(pid) : 0;
      const char state = pid > 0 ? process_state(pid) : '\0';
      // One datagram may carry several newline-separated assignments.
      std::istringstream lines(std::string(buf, static_cast<std::size_t>(n)));
      std::lock_guard lock(mu_);
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) {
          received_.push_back({now, pid, line, children, state});
        }
      }
    }
  }

  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Notification> received_;
};

// Sets (or, with nullptr, unsets) a variable while the manager is forked: ManagerProcess passes
// the test's own environment down. Restores the previous value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Two fake workers; "stubborn" ignores SIGTERM, so a stop lasts stop_timeout_ms (1.5 s) and the
// manager is observably still running when STOPPING=1 must have arrived.
std::string two_workers_config() {
  const nlohmann::json config = {
      {"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
      {"healdec", {{"stop_timeout_ms", 1500}, {"restart_delay_ms", 100}}},
      {"workers",
       {{"steady", {{"path", kFakeWorker}}},
        {"stubborn",
         {{"path", kFakeWorker}, {"args", nlohmann::json::array({"--ignore-sigterm"})}}}}}};
  return config.dump();
}

class SystemdNotify : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Starts the manager with NOTIFY_SOCKET=`socket` and, if given, WATCHDOG_USEC.
  void start(const std::string& socket, const char* watchdog_usec) {
    ScopedEnv notify("NOTIFY_SOCKET", socket.c_str());
    ScopedEnv usec("WATCHDOG_USEC", watchdog_usec);
    ScopedEnv wd_pid("WATCHDOG_PID", nullptr);  // a stale one would name another process
    manager_.emplace(two_workers_config(), dir_);
  }

  std::string dir_;
  std::optional<ManagerProcess> manager_;
};

TEST_F(SystemdNotify, ReadyStatusWatchdogThenStoppingBeforeExit) {
  FakeSystemd systemd(dir_ + "/notify.sock");
  start(systemd.path(), "200000");
  ManagerProcess& m = *manager_;

  // READY=1 once the children are spawned, from the main process (NotifyAccess=main).
  ASSERT_TRUE(systemd.wait_for([&] { return systemd.first("READY=1").has_value(); }, 10s))
      << m.log();
  const Notification ready = *systemd.first("READY=1");
  EXPECT_EQ(ready.pid, m.pid());
  EXPECT_GE(ready.children, 2) << "READY=1 came before both workers were spawned";

  ASSERT_TRUE(systemd.wait_for([&] { return systemd.first("STATUS=").has_value(); }, 5s));
  EXPECT_GT(systemd.first("STATUS=")->text.size(), std::string("STATUS=").size());

  // WATCHDOG_USEC=200000 → WATCHDOG=1 every 100 ms; at least 2 within any second.
  const auto window = Clock::now();
  const auto watchdogs_since = [&](Clock::time_point t) {
    const auto all = systemd.received();
    return std::count_if(all.begin(), all.end(), [&](const Notification& n) {
      return n.text == "WATCHDOG=1" && n.at >= t;
    });
  };
  EXPECT_TRUE(systemd.wait_for([&] { return watchdogs_since(window) >= 2; }, 1s))
      << watchdogs_since(window) << " WATCHDOG=1 in 1 s";

  // The workers must not inherit the manager's notification socket or watchdog.
  ASSERT_TRUE(m.wait_for_log(
      {"[steady] fake_worker steady up", "[stubborn] fake_worker stubborn up"}, 5s))
      << m.log();
  for (const char* name : {"steady", "stubborn"}) {
    const auto w = m.worker(name);
    ASSERT_TRUE(w.contains("pid") && w["pid"].is_number()) << w.dump();
    const auto env = environment_of(w["pid"].get<int>());
    EXPECT_NE(std::find(env.begin(), env.end(), std::string("WORKER_NAME=") + name), env.end())
        << "could not read the environment of " << name;
    for (const auto& kv : env) {
      EXPECT_NE(kv.rfind("NOTIFY_SOCKET=", 0), 0u) << name << " inherited " << kv;
      EXPECT_NE(kv.rfind("WATCHDOG_", 0), 0u) << name << " inherited " << kv;
    }
  }

  // SIGTERM → STOPPING=1 while the manager is still waiting for "stubborn" → exit 0.
  const auto term = Clock::now();
  m.signal(SIGTERM);
  ASSERT_TRUE(systemd.wait_for([&] { return systemd.first("STOPPING=1").has_value(); }, 1s))
      << m.log();
  const Notification stopping = *systemd.first("STOPPING=1");
  EXPECT_GE(stopping.at, term);
  EXPECT_EQ(stopping.pid, m.pid());
  EXPECT_NE(stopping.sender_state, '\0');
  EXPECT_NE(stopping.sender_state, 'Z') << "STOPPING=1 arrived after the manager exited";
  EXPECT_EQ(m.wait_exit(20s), 0) << m.log();

  // Every assignment came from the manager itself; READY=1 exactly once.
  const auto all = systemd.received();
  EXPECT_EQ(std::count_if(all.begin(), all.end(),
                          [](const Notification& n) { return n.text == "READY=1"; }),
            1);
  for (const auto& n : all) {
    EXPECT_EQ(n.pid, m.pid()) << n.text;
  }
}

TEST_F(SystemdNotify, UnreachableSocketIsHarmless) {
  // NOTIFY_SOCKET names nothing: every sd_notify fails, and the manager must not care.
  start(dir_ + "/nobody-listens.sock", "200000");
  ManagerProcess& m = *manager_;
  ASSERT_TRUE(m.wait_until([&] { return m.worker("steady")["state"] == "running"; }, 5s))
      << m.log();
  std::this_thread::sleep_for(300ms);  // a few failed watchdog ticks
  EXPECT_EQ(m.http("GET", "/healthz"), 200);
  m.signal(SIGTERM);
  EXPECT_EQ(m.wait_exit(20s), 0) << m.log();
}

}  // namespace
}  // namespace socialai::testing
