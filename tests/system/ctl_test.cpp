// socialai-ctl against a real manager supervising tests/support/fake_worker children: the
// status table and its exit codes, logs and logs -f (the long poll), restart all, control
// tokens and their file, an unreachable manager. Plus the long poll's bounds at the HTTP level.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "manager_harness.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;
const std::string kCtl = SOCIALAI_CTL_BIN;

std::string fake(const std::string& name, const std::vector<std::string>& args = {}) {
  return worker_entry(name, kFake, args);
}

std::string config(const std::vector<std::string>& workers, const std::string& http_extra = "") {
  return manager_config(workers,
                        "\"max_restarts\": 0, \"restart_delay_ms\": 50, \"stop_timeout_ms\": 2000",
                        http_extra);
}

int pid_of(const json& w) {
  return w.contains("pid") && w["pid"].is_number() ? w["pid"].get<int>() : -1;
}

// socialai-ctl --url <manager> ARGS...
CommandResult ctl(const ManagerProcess& m, std::vector<std::string> args) {
  args.insert(args.begin(), {kCtl, "--url", "http://127.0.0.1:" + std::to_string(m.port())});
  return run_command(args);
}

// A running socialai-ctl whose stdout the test reads as it comes.
class CtlProcess {
 public:
  explicit CtlProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~CtlProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(out_);
  }
  // Reads until the output holds `needle` (true) or `limit` passes (false).
  bool wait_for(const std::string& needle, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (text_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return false;
      }
      char buf[4096];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) {
        return false;  // it exited
      }
      text_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  const std::string& text() const { return text_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
};

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

class CtlSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("SOCIALAI_URL");
    ::unsetenv("SOCIALAI_ADMIN_TOKEN");
    dir_ = make_temp_dir();
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(CtlSystem, StatusTableExitsOneWhileAWorkerIsFatalAndZeroOnceAllAreHealthy) {
  ManagerProcess m(config({fake("alpha"), fake("broken", {"--exit-code", "3", "--run-ms", "0"})}),
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("broken")["state"] == "fatal" && m.worker("alpha")["state"] == "running"; },
      10s))
      << m.log();
  auto r = ctl(m, {"status"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Header and rows aligned: each value starts where its column's title does.
  std::istringstream in(r.out);
  std::string header, row_alpha, row_broken, line;
  std::getline(in, header);
  while (std::getline(in, line)) {
    if (line.rfind("alpha ", 0) == 0) row_alpha = line;
    if (line.rfind("broken ", 0) == 0) row_broken = line;
  }
  ASSERT_FALSE(row_alpha.empty()) << r.out;
  ASSERT_FALSE(row_broken.empty()) << r.out;
  for (const char* col : {"NAME", "STATE", "HEALTHY", "PID", "UPTIME", "RESTARTS",
                          "LAST SUCCESS", "ERR RATE", "ITEMS/MIN", "CPU", "RSS"}) {
    EXPECT_NE(header.find(col), std::string::npos) << col << " in " << header;
  }
  const auto state_col = header.find("STATE"), pid_col = header.find("PID");
  EXPECT_EQ(row_alpha.substr(state_col, 8), "running ") << r.out;
  EXPECT_EQ(row_broken.substr(state_col, 6), "fatal ") << r.out;
  EXPECT_EQ(row_alpha.substr(pid_col, std::to_string(pid_of(m.worker("alpha"))).size()),
            std::to_string(pid_of(m.worker("alpha"))))
      << r.out;
  EXPECT_EQ(row_broken.substr(header.find("HEALTHY"), 3), "no ") << r.out;
  EXPECT_NE(r.out.find("broken: exited with status 3"), std::string::npos) << r.out;

  r = ctl(m, {"status", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  const json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u);

  // Drop the broken worker through the manager's reload: every enabled worker is healthy.
  m.rewrite_config(config({fake("alpha")}));
  r = ctl(m, {"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration reloaded\n");
  r = ctl(m, {"status"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("broken"), std::string::npos) << r.out;

  // A reload of an invalid file is refused with the manager's reason.
  m.rewrite_config("{\"workers\": {\"alpha\": {\"intervall_ms\": 1}}}");
  r = ctl(m, {"reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("reload refused: 400"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("intervall_ms"), std::string::npos) << r.err;
}

TEST_F(CtlSystem, LogsPrintsTheTailAndFollowSeesLinesWrittenAfterItStarted) {
  ManagerProcess m(config({fake("talker", {"--usr1-lines"})}), dir_);
  ASSERT_TRUE(m.wait_for_log({"[talker] fake_worker talker up"}, 5s)) << m.log();
  const int pid = pid_of(m.worker("talker"));
  ASSERT_GT(pid, 0);

  auto r = ctl(m, {"logs", "talker", "-n", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[talker] fake_worker talker up pid " + std::to_string(pid)),
            std::string::npos)
      << r.out;
  r = ctl(m, {"logs", "nobody"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("404 unknown worker"), std::string::npos) << r.err;

  CtlProcess follow({kCtl, "--url", "http://127.0.0.1:" + std::to_string(m.port()), "logs",
                     "talker", "-n", "1", "-f"});
  // The tail printed: the follow has its cursor; whatever comes after it must show up.
  ASSERT_TRUE(follow.wait_for("talker up pid", 10s)) << follow.text();
  for (int i = 1; i <= 3; ++i) {
    ::kill(pid, SIGUSR1);
    ASSERT_TRUE(follow.wait_for("[talker] usr1 " + std::to_string(i) + "\n", 10s))
        << follow.text();
  }
  EXPECT_EQ(count(follow.text(), "usr1 1\n"), 1u) << follow.text();
  EXPECT_EQ(count(follow.text(), "usr1 2\n"), 1u) << follow.text();
  EXPECT_LT(follow.text().find("usr1 1"), follow.text().find("usr1 2"));
  EXPECT_EQ(count(follow.text(), "talker up pid"), 1u) << follow.text();
}

TEST_F(CtlSystem, RestartAllGivesEveryWorkerANewPid) {
  ManagerProcess m(config({fake("one"), fake("two")}), dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return pid_of(m.worker("one")) > 0 && pid_of(m.worker("two")) > 0; }, 5s));
  const int one = pid_of(m.worker("one")), two = pid_of(m.worker("two"));
  auto r = ctl(m, {"restart", "all"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // It returns once both run again, so the new pids are there now.
  const int one2 = pid_of(m.worker("one")), two2 = pid_of(m.worker("two"));
  EXPECT_GT(one2, 0);
  EXPECT_GT(two2, 0);
  EXPECT_NE(one2, one);
  EXPECT_NE(two2, two);
  EXPECT_NE(r.out.find("one: restarted (pid " + std::to_string(one) + " -> " +
                       std::to_string(one2) + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("two: restarted (pid " + std::to_string(two)), std::string::npos) << r.out;
  EXPECT_EQ(m.worker("one")["state"], "running");

  r = ctl(m, {"stop", "two"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "two: stopped\n");
  EXPECT_EQ(m.worker("two")["state"], "stopped");
  r = ctl(m, {"start", "two"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(pid_of(m.worker("two")), 0);
  r = ctl(m, {"restart", "nobody"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restart nobody refused: 404 unknown worker"), std::string::npos) << r.err;
}

TEST_F(CtlSystem, ControlNeedsTheTokenAndRefusesATokenFileOthersCanRead) {
  ManagerProcess m(config({fake("w")}, ", \"admin_token\": \"ctl-test-token\""), dir_);
  ASSERT_TRUE(m.wait_until([&] { return pid_of(m.worker("w")) > 0; }, 5s));
  auto r = ctl(m, {"restart", "w"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restart w refused: 401 missing bearer token"), std::string::npos) << r.err;

  const std::string file = dir_ + "/token";
  std::ofstream(file) << "ctl-test-token\n";
  ::chmod(file.c_str(), 0644);
  r = ctl(m, {"--token-file", file, "restart", "w"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("accessible by group or others (mode 0644)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600 " + file), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ctl-test-token"), std::string::npos) << r.err;  // never printed

  ::chmod(file.c_str(), 0600);
  const int before = pid_of(m.worker("w"));
  r = ctl(m, {"--token-file", file, "restart", "w"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(pid_of(m.worker("w")), before);

  // The environment-file form (/etc/socialai/env) and the environment variable.
  std::ofstream(file) << "# socialai\nDATABASE_URL=postgresql:///x\nSOCIALAI_ADMIN_TOKEN=wrong\n";
  r = ctl(m, {"--token-file", file, "stop", "w"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("403 invalid token"), std::string::npos) << r.err;
  ::setenv("SOCIALAI_ADMIN_TOKEN", "ctl-test-token", 1);
  r = ctl(m, {"stop", "w"});
  ::unsetenv("SOCIALAI_ADMIN_TOKEN");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(m.worker("w")["state"], "stopped");
}

TEST_F(CtlSystem, UnreachableManagerExitsThreeAndUsageErrorsTwo) {
  const std::string url = "http://127.0.0.1:" + std::to_string(free_port());
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"status"}, {"logs", "x"}, {"restart", "all"}, {"reload"}}) {
    std::vector<std::string> argv{kCtl, "--url", url};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    const auto r = run_command(argv);
    EXPECT_EQ(r.exit_code, 3) << cmd[0] << ": " << r.err;
    EXPECT_NE(r.err.find("cannot reach the manager at " + url), std::string::npos) << r.err;
  }
  ::setenv("SOCIALAI_URL", url.c_str(), 1);
  EXPECT_EQ(run_command({kCtl, "status"}).exit_code, 3);
  ::unsetenv("SOCIALAI_URL");
  EXPECT_EQ(run_command({kCtl}).exit_code, 2);
  EXPECT_EQ(run_command({kCtl, "frobnicate"}).exit_code, 2);
  EXPECT_EQ(run_command({kCtl, "logs"}).exit_code, 2);
  EXPECT_EQ(run_command({kCtl, "status", "-f"}).exit_code, 2);
  EXPECT_EQ(run_command({kCtl, "--url", "127.0.0.1:4200", "status"}).exit_code, 2);
}

// GET with a timeout longer than any long poll; the status, 0 when the connection failed.
long long_get(int port, const std::string& path, std::string* body) {
  HttpClient::Options o;
  o.max_retries = 0;
  o.total_timeout = 60s;
  HttpClient client(o);
  const auto r = client.get("http://127.0.0.1:" + std::to_string(port) + path);
  *body = r.body;
  return r.status;
}

// Starts kMaxWaiting (8) long polls on `path`, returning once all eight wait: a ninth is
// turned away with 503 (while /healthz still answers). The probe asks from cursor 0, so when
// it is let in it is answered in the same step and never holds a place a waiter needs.
std::vector<std::future<std::pair<long, std::string>>> fill_waiters(ManagerProcess& m,
                                                                    const std::string& path) {
  std::vector<std::future<std::pair<long, std::string>>> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(std::async(std::launch::async, [port = m.port(), path] {
      std::string b;
      const long s = long_get(port, path, &b);
      return std::make_pair(s, b);
    }));
  }
  long ninth = 0;
  const std::string probe = path.substr(0, path.find("after=")) + "after=0&wait=30";
  EXPECT_TRUE(m.wait_until([&] { return (ninth = m.http("GET", probe)) == 503; }, 10s)) << ninth;
  EXPECT_EQ(m.http("GET", "/healthz"), 200);
  return waiters;
}

// The long poll itself: it answers when a line comes (its 30 s are far off), at most eight
// wait at once while /healthz keeps answering, and a stopping manager ends the waits at once.
TEST_F(CtlSystem, LongPollWakesOnANewLineIsBoundedAndEndsWithTheManager) {
  ManagerProcess m(config({fake("talker", {"--usr1-lines"})}), dir_);
  ASSERT_TRUE(m.wait_for_log({"[talker] fake_worker talker up"}, 5s)) << m.log();
  const int pid = pid_of(m.worker("talker"));
  std::string body;
  ASSERT_EQ(m.http("GET", "/api/workers/talker/logs?lines=1", &body), 200);
  const auto next = json::parse(body)["next"].get<std::uint64_t>();
  EXPECT_EQ(json::parse(body)["lines"], json::array({"[talker] fake_worker talker up pid " +
                                                     std::to_string(pid)}));
  EXPECT_EQ(m.http("GET", "/api/workers/talker/logs?after=x"), 400);
  ASSERT_EQ(m.http("GET", "/api/workers/talker/logs?after=" + std::to_string(next), &body), 200);
  EXPECT_EQ(json::parse(body)["lines"], json::array());  // no wait asked for: answered at once

  auto waiters = fill_waiters(m, "/api/workers/talker/logs?after=" + std::to_string(next) +
                                     "&wait=30");
  ::kill(pid, SIGUSR1);
  for (auto& w : waiters) {
    const auto [status, b] = w.get();
    ASSERT_EQ(status, 200);
    const json j = json::parse(b);
    EXPECT_EQ(j["lines"], json::array({"[talker] usr1 1"})) << b;
    EXPECT_EQ(j["next"], next + 1);
    EXPECT_EQ(j["skipped"], 0);
  }

  // Eight waiters pending while the manager stops: it exits without waiting out their 30 s.
  waiters = fill_waiters(m, "/api/workers/talker/logs?after=" + std::to_string(next + 1) +
                                "&wait=30");
  m.signal(SIGTERM);
  EXPECT_EQ(m.wait_exit(15s), 0) << m.log();
  for (auto& w : waiters) {
    EXPECT_NE(w.get().first, 200);
  }
}

}  // namespace
}  // namespace socialai::testing
