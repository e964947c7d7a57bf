// System tests: the real socialai-manager supervising real children (tests/support/fake_worker
// and the search worker) on a real PostgreSQL where needed.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/db.h"
#include "manager_harness.h"
#include "prom_check.h"
#include "test_db.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;

std::string worker_json(const std::string& name, const std::vector<std::string>& args,
                        const std::string& extra = "") {
  return worker_entry(name, kFake, args, extra);
}

std::string config(const std::vector<std::string>& workers, const std::string& healdec,
                   const std::string& top = "") {
  return manager_config(workers, healdec, "", top);
}

// The worker's pid, or -1 while it has none (backoff, stopped) or is not listed.
int pid_of(const json& w) { return w.contains("pid") && w["pid"].is_number() ? w["pid"].get<int>() : -1; }

std::string state_of(const json& w) {
  return w.contains("state") && w["state"].is_string() ? w["state"].get<std::string>() : "";
}

void reap_orphans() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

class ManagerSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    // Orphaned grandchildren come to us, so the no-leftovers checks can reap and count them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    dir_ = make_temp_dir();
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(ManagerSystem, CrashingChildIsRestartedWithBackoffThenFatal) {
  ManagerProcess m(config({worker_json("crashy", {"--exit-code", "3", "--run-ms", "20"})},
                          "\"max_restarts\": 3, \"restart_delay_ms\": 100, \"backoff_max_ms\": 250"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("crashy")["state"] == "fatal"; }, 10s))
      << m.log();
  const auto w = m.worker("crashy");
  EXPECT_EQ(w["restartCount"], 3);
  EXPECT_EQ(w["healthy"], false);
  EXPECT_EQ(w["lastExit"], "exited with status 3");
  // The log has its own writer thread: wait for the last line rather than read it once.
  ASSERT_TRUE(m.wait_for_log({"giving up (state fatal)"}, 5s)) << m.log();
  const std::string log = m.log();
  EXPECT_NE(log.find("restart 1 of 3 in 100 ms"), std::string::npos) << log;
  EXPECT_NE(log.find("restart 2 of 3 in 200 ms"), std::string::npos);
  EXPECT_NE(log.find("restart 3 of 3 in 250 ms"), std::string::npos);  // capped
  EXPECT_NE(log.find("giving up (state fatal)"), std::string::npos);
  // Exactly 4 runs: the first and 3 restarts.
  std::size_t runs = 0;
  for (auto p = log.find("[crashy] fake_worker crashy up"); p != std::string::npos;
       p = log.find("[crashy] fake_worker crashy up", p + 1)) {
    ++runs;
  }
  EXPECT_EQ(runs, 4u);
  // An operator start clears fatal.
  EXPECT_EQ(m.http("POST", "/api/workers/crashy/start"), 200);
  EXPECT_TRUE(m.wait_until([&] { return m.worker("crashy")["state"] != "fatal"; }, 5s));
}

TEST_F(ManagerSystem, KillNineIsRestartedAndCleanExitIsNot) {
  ManagerProcess m(config({worker_json("steady", {}),
                           worker_json("oneshot", {"--exit-code", "0", "--run-ms", "10"})},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("steady")["state"] == "running"; }, 5s));
  const int pid = m.worker("steady")["pid"];
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("steady");
        return state_of(w) == "running" && pid_of(w) != pid;
      },
      5s));
  const auto w = m.worker("steady");
  EXPECT_EQ(w["restartCount"], 1);
  EXPECT_EQ(w["lastExit"], "killed by signal SIGKILL (9)");
  ASSERT_TRUE(m.wait_until([&] { return m.worker("oneshot")["state"] == "stopped"; }, 5s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(m.worker("oneshot")["restartCount"], 0);
  EXPECT_EQ(m.worker("oneshot")["state"], "stopped");
}

TEST_F(ManagerSystem, HundredThousandLinesOnBothStreamsLoseNothing) {
  constexpr int kLines = 100000;
  ManagerProcess m(
      config({worker_json("floodA", {"--flood", std::to_string(kLines), "--line-bytes", "120"}),
              worker_json("floodB", {"--flood", std::to_string(kLines), "--line-bytes", "40"})},
             "\"restart_delay_ms\": 1000"),
      dir_);
  ASSERT_TRUE(m.wait_for_log({"[floodA] flood done", "[floodB] flood done"}, 60s));
  m.signal(SIGTERM);
  ASSERT_EQ(m.wait_exit(20s), 0);
  std::istringstream in(m.log());
  std::map<std::string, long> next;  // "floodA out" -> next expected seq
  std::string line;
  long bad = 0;
  const std::regex re(R"(^\[(flood[AB])\] (out|err) seq (\d+)( x+)?$)");
  while (std::getline(in, line)) {
    if (line.rfind("[flood", 0) != 0 || line.find(" seq ") == std::string::npos) {
      continue;
    }
    std::smatch mt;
    if (!std::regex_match(line, mt, re)) {
      ++bad;
      continue;
    }
    const std::string key = mt[1].str() + " " + mt[2].str();
    const long seq = std::stol(mt[3]);
    const std::size_t want_len = mt[1] == "floodA" ? 120 : 40;
    if (seq != next[key] || line.size() - mt[1].length() - 3 - 4 != want_len) {
      ++bad;
    }
    next[key] = seq + 1;
  }
  EXPECT_EQ(bad, 0);
  for (const char* k : {"floodA out", "floodA err", "floodB out", "floodB err"}) {
    EXPECT_EQ(next[k], kLines) << k;
  }
}

TEST_F(ManagerSystem, SigtermLeavesNoProcessBehind) {
  const std::string pids = dir_ + "/pids";
  ManagerProcess m(
      config({worker_json("polite", {"--pid-file", pids}),
              worker_json("family", {"--pid-file", pids, "--spawn-grandchild"}),
              worker_json("stubborn", {"--pid-file", pids, "--ignore-sigterm"})},
             "\"stop_timeout_ms\": 500"),
      dir_);
  ASSERT_TRUE(m.wait_until([&] { return read_pids(pids).size() == 3; }, 5s));
  ASSERT_TRUE(m.wait_until(
      [&] {
        for (const auto& w : m.status()) {
          if (w["state"] != "running") return false;
        }
        return true;
      },
      5s));
  const auto started = std::chrono::steady_clock::now();
  m.signal(SIGTERM);
  EXPECT_EQ(m.wait_exit(10s), 0) << m.log();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 450ms);  // it waited for the stubborn one's stop timeout
  reap_orphans();
  for (int pid : read_pids(pids)) {
    EXPECT_FALSE(process_alive(pid)) << pid;
    EXPECT_FALSE(group_alive(pid)) << "group " << pid;
  }
  const std::string log = m.log();
  EXPECT_NE(log.find("stubborn: did not stop within 500 ms; sending SIGKILL"), std::string::npos);
  EXPECT_NE(log.find("[polite] fake_worker got SIGTERM"), std::string::npos);
  EXPECT_NE(log.find("all workers stopped; exiting"), std::string::npos);
}

TEST_F(ManagerSystem, WorkersInheritOnlyStdio) {
  // Two workers, so the second is spawned while the first one's pipes exist.
  ManagerProcess m(config({worker_json("one", {"--list-fds"}), worker_json("two", {"--list-fds"})},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_for_log({"[one] fds:", "[two] fds:"}, 5s)) << m.log();
  const std::string log = m.log();
  EXPECT_NE(log.find("[one] fds: 0 1 2\n"), std::string::npos) << log;
  EXPECT_NE(log.find("[two] fds: 0 1 2\n"), std::string::npos) << log;
}

TEST_F(ManagerSystem, ExitsOnSigtermWhenNoChildIsRunning) {
  // stop_all completes at once here; the manager must still leave its event loop.
  ManagerProcess m(config({worker_json("done", {"--exit-code", "0"})}, "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return state_of(m.worker("done")) == "stopped"; }, 5s));
  m.signal(SIGTERM);
  EXPECT_EQ(m.wait_exit(5s), 0) << m.log();
}

TEST_F(ManagerSystem, WorkersDieWithAKilledManager) {
  const std::string pids = dir_ + "/pids";
  ManagerProcess m(config({worker_json("a", {"--pid-file", pids}),
                           worker_json("b", {"--pid-file", pids, "--ignore-sigterm"})},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return read_pids(pids).size() == 2; }, 5s));
  m.signal(SIGKILL);
  EXPECT_EQ(m.wait_exit(5s), -2);
  for (int pid : read_pids(pids)) {
    EXPECT_TRUE(m.wait_until(
        [&] {
          reap_orphans();  // they are re-parented to this test (a subreaper)
          return !process_alive(pid);
        },
        5s))
        << pid;
  }
}

TEST_F(ManagerSystem, LineEdgeCases) {
  ManagerProcess m(
      config({worker_json("partial", {"--partial-line", "tail without newline"}),
              worker_json("long", {"--long-line", "200000"}),
              worker_json("utf", {"--invalid-utf8"})},
             "\"restart_delay_ms\": 1000"),
      dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("[partial] tail without newline\n") != std::string::npos; }, 5s))
      << m.log();
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("[utf] bad \\xff\\xfe utf8 \xc3\xa9 ok") != std::string::npos; },
      5s))
      << m.log();
  m.signal(SIGTERM);
  ASSERT_EQ(m.wait_exit(10s), 0);
  // 200000 bytes = 3 full 64 KiB pieces + the rest, each marked and whole.
  std::istringstream in(m.log());
  std::string line;
  std::vector<std::string> pieces;
  while (std::getline(in, line)) {
    if (line.rfind("[long] ", 0) == 0 && line.find("yyyy") != std::string::npos) {
      pieces.push_back(line);
    }
  }
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].substr(0, 8), "[long] L");
  EXPECT_EQ(pieces[0].substr(pieces[0].size() - 6), " [...]");
  EXPECT_EQ(pieces[1].substr(0, 13), "[long] [...] ");
  EXPECT_NE(pieces[3].substr(pieces[3].size() - 6), " [...]");
  std::size_t payload = 0;
  for (const auto& p : pieces) {
    std::string s = p.substr(7);
    if (s.rfind("[...] ", 0) == 0) s = s.substr(6);
    if (s.size() >= 6 && s.substr(s.size() - 6) == " [...]") s = s.substr(0, s.size() - 6);
    payload += s.size();
  }
  EXPECT_EQ(payload, 200000u);
}

TEST_F(ManagerSystem, ExecFailureIsReportedAndHealdecGivesUp) {
  // Executable bits but no valid format: execve fails in the launched child (ENOEXEC), which the
  // launcher must report back instead of leaving a half-started process.
  const std::string bogus = dir_ + "/not-a-program";
  std::ofstream(bogus) << "\x01\x02 not an ELF file and no #! line";
  ::chmod(bogus.c_str(), 0755);
  ManagerProcess m(config({"\"bogus\": {\"path\": " + json(bogus).dump() + "}"},
                          "\"restart_delay_ms\": 10, \"max_restarts\": 2"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return state_of(m.worker("bogus")) == "fatal"; }, 10s)) << m.log();
  const auto w = m.worker("bogus");
  EXPECT_NE(w["error"].get<std::string>().find("Exec format error"), std::string::npos) << w.dump();
  EXPECT_TRUE(m.wait_for_log({"bogus: cannot start " + bogus}, 5s)) << m.log();
  EXPECT_EQ(pid_of(w), -1);
  reap_orphans();
}

TEST_F(ManagerSystem, UnreachableDatabaseIsReportedInStatusWithoutSecrets) {
  // No server behind this socket directory: the status poller fails and says so per row, the
  // supervision itself goes on.
  const std::string url = "postgresql://someone:hunter2secret@/socialai?host=" + dir_ +
                          "/no-such-socket&connect_timeout=1";
  ManagerProcess m(config({worker_json("w", {})}, "\"restart_delay_ms\": 50",
                          "\"database\": {\"url\": " + json(url).dump() +
                              ", \"migrate_on_start\": false},\n"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["database"] == "down"; }, 15s))
      << m.worker("w").dump() << m.log();
  const auto w = m.worker("w");
  EXPECT_EQ(state_of(w), "running");
  ASSERT_TRUE(w["databaseError"].is_string());
  EXPECT_FALSE(w["databaseError"].get<std::string>().empty());
  std::string body;
  m.http("GET", "/api/workers/status", &body);
  EXPECT_EQ(body.find("hunter2secret"), std::string::npos) << body;
  EXPECT_EQ(m.log().find("hunter2secret"), std::string::npos);
}

TEST_F(ManagerSystem, InvalidConfigExits78NamingTheKey) {
  std::ofstream(dir_ + "/bad.json") << R"({"workers": {"search": {"intervall_ms": 5}}})";
  auto r = run_command({SOCIALAI_MANAGER_BIN, "--config", dir_ + "/bad.json"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("workers.search.intervall_ms"), std::string::npos) << r.err;
  std::ofstream(dir_ + "/bad2.json") << R"({"healdec": {"max_restarts": "many"}})";
  r = run_command({SOCIALAI_MANAGER_BIN, "--check-config", "--config", dir_ + "/bad2.json"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("healdec.max_restarts"), std::string::npos) << r.err;
  r = run_command({SOCIALAI_MANAGER_BIN, "--config", dir_ + "/missing.json"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos);
  // The same validation in the workers.
  r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--once", "--config", dir_ + "/bad.json"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("workers.search.intervall_ms"), std::string::npos) << r.err;
}

TEST_F(ManagerSystem, CheckConfigPrintsResolvedConfigWithoutSecrets) {
  std::ofstream(dir_ + "/c.json") << R"({"http": {"admin_token": "${T:-hunter2}"},
    "database": {"url": "postgresql://me:pw123@db/x"}})";
  const auto r = run_command({SOCIALAI_MANAGER_BIN, "--check-config", "--config", dir_ + "/c.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pw123"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("postgresql://me:***@db/x"), std::string::npos) << r.out;
}

TEST_F(ManagerSystem, SighupAppliesOnlyTheDifference) {
  const std::string hd = "\"restart_delay_ms\": 100";
  ManagerProcess m(config({worker_json("keep", {}), worker_json("change", {}),
                           worker_json("drop", {})},
                          hd),
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.status().size() == 3 && m.worker("drop")["state"] == "running"; }, 5s));
  const int keep_pid = m.worker("keep")["pid"], change_pid = m.worker("change")["pid"];
  const int drop_pid = m.worker("drop")["pid"];
  // Invalid file: rejected, everything keeps running.
  m.rewrite_config("{\"workers\": {\"keep\": {\"bogus\": 1}}}");
  m.signal(SIGHUP);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("new configuration rejected") != std::string::npos; }, 5s));
  EXPECT_EQ(m.status().size(), 3u);
  EXPECT_EQ(m.worker("keep")["pid"], keep_pid);
  // Valid change: keep untouched, change restarted, drop stopped, add started.
  m.rewrite_config(config({worker_json("keep", {}), worker_json("change", {}, "\"interval_ms\": 999"),
                           worker_json("add", {})},
                          hd));
  m.signal(SIGHUP);
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto a = m.worker("add"), c = m.worker("change");
        return state_of(a) == "running" && state_of(c) == "running" && pid_of(c) != change_pid &&
               m.worker("drop").empty();
      },
      5s))
      << m.log();
  EXPECT_EQ(m.worker("keep")["pid"], keep_pid);
  EXPECT_EQ(m.worker("keep")["restartCount"], 0);
  EXPECT_TRUE(m.wait_until([&] { return !process_alive(drop_pid); }, 5s));
}

TEST_F(ManagerSystem, StatusApiShapeAndControl) {
  ManagerProcess m(config({worker_json("w1", {}),
                           "\"nope\": {\"path\": \"socialai-worker-does-not-exist\"}",
                           "\"off\": {\"path\": \"" + kFake + "\", \"enabled\": false}"},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w1")["state"] == "running"; }, 5s));
  const auto all = m.status();
  ASSERT_EQ(all.size(), 3u);
  for (const auto& w : all) {
    for (const char* f : {"name", "healthy", "enabled", "state", "pid", "lastRun", "lastSuccess",
                          "errorRate", "restartCount", "uptimeSeconds", "itemsPerMinute"}) {
      EXPECT_TRUE(w.contains(f)) << f;
    }
  }
  EXPECT_EQ(m.worker("nope")["state"], "fatal");
  EXPECT_NE(m.worker("nope")["error"].get<std::string>().find("executable not found"),
            std::string::npos);
  EXPECT_EQ(m.worker("off")["state"], "disabled");
  EXPECT_EQ(m.worker("off")["enabled"], false);
  std::string body;
  EXPECT_TRUE(m.wait_until(
      [&] {
        return m.http("GET", "/api/workers/w1/logs?lines=5", &body) == 200 &&
               body.find("fake_worker w1 up") != std::string::npos;
      },
      5s))
      << body;
  EXPECT_EQ(m.http("GET", "/api/workers/ghost/logs"), 404);
  EXPECT_EQ(m.http("POST", "/api/workers/ghost/restart"), 404);
  EXPECT_EQ(m.http("GET", "/api/workers/w1/restart"), 405);
  EXPECT_EQ(m.http("GET", "/no/such/route"), 404);
  const int pid = m.worker("w1")["pid"];
  EXPECT_EQ(m.http("POST", "/api/workers/w1/restart"), 200);  // loopback, no token configured
  EXPECT_TRUE(m.wait_until(
      [&] { return m.worker("w1")["state"] == "running" && m.worker("w1")["pid"] != pid; }, 5s));
  EXPECT_EQ(m.http("POST", "/api/workers/w1/stop"), 200);
  EXPECT_TRUE(m.wait_until([&] { return m.worker("w1")["state"] == "stopped"; }, 5s));
}

TEST_F(ManagerSystem, AdminTokenGuardsMutations) {
  ManagerProcess m("{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\", \"admin_token\": \"s3cret\"},"
                   " \"workers\": {" + worker_json("w1", {}) + "}}",
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w1")["state"] == "running"; }, 5s));
  EXPECT_EQ(m.http("POST", "/api/workers/w1/stop"), 401);
  EXPECT_EQ(m.http("POST", "/api/workers/w1/stop", nullptr, {{"Authorization", "Bearer nope"}}),
            403);
  EXPECT_EQ(m.worker("w1")["state"], "running");
  EXPECT_EQ(m.http("POST", "/api/workers/w1/stop", nullptr, {{"Authorization", "Bearer s3cret"}}),
            200);
  EXPECT_TRUE(m.wait_until([&] { return m.worker("w1")["state"] == "stopped"; }, 5s));
}

TEST_F(ManagerSystem, JsonLogModeKeepsChildFields) {
  const std::string child_json = R"({"level":"info","msg":"hello \"quoted\"","items":3})";
  ManagerProcess m("{\"log\": {\"format\": \"json\"}, \"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"},"
                   " \"workers\": {" +
                       worker_json("j", {"--partial-line", child_json}) + "," +
                       worker_json("plain", {"--invalid-utf8"}) + "}}",
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("\"items\":3") != std::string::npos &&
                   m.log().find("utf8") != std::string::npos; },
      5s))
      << m.log();
  std::istringstream in(m.log());
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    const auto j = json::parse(line);  // every line is one JSON object
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("worker") && j.contains("stream") && j.contains("ts")) << line;
    if (j["worker"] == "j" && j.contains("items")) {
      EXPECT_EQ(j["items"], 3);
      EXPECT_EQ(j["msg"], "hello \"quoted\"");
      EXPECT_EQ(j["stream"], "stdout");
      ++checked;
    }
    if (j["worker"] == "plain" && j.contains("msg") && j["msg"].get<std::string>().find("utf8") !=
                                                           std::string::npos) {
      EXPECT_EQ(j["msg"], "bad \\xff\\xfe utf8 \xc3\xa9 ok");  // escaped, not dropped
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2);
}

TEST_F(ManagerSystem, MalformedHttpRequestsGet4xxAndManagerKeepsServing) {
  ManagerProcess m(config({worker_json("w", {})}, "\"restart_delay_ms\": 50"), dir_);
  auto raw = [&](const std::string& bytes) {
    const int fd = connect_loopback(m.port());
    if (fd < 0) {
      return std::string("connect failed");
    }
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return reply;
  };
  EXPECT_NE(raw("GARBAGE\r\n\r\n").find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(raw("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n").find("HTTP/1.1 431"),
            std::string::npos);
  EXPECT_NE(raw("POST /api/workers/w/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\nabc")
                .find("HTTP/1.1 413"),
            std::string::npos);
  std::string half = raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // truncated, then closed
  EXPECT_EQ(half.find("200"), std::string::npos);
  // Half-open clients (headers never finished) hold no one up: the loop is asynchronous.
  std::vector<int> idle;
  for (int i = 0; i < 10; ++i) {
    const int fd = connect_loopback(m.port());
    ASSERT_GE(fd, 0);
    const std::string partial = "GET /api/workers/status HTTP/1.1\r\nHost: x\r\n";
    ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    idle.push_back(fd);
  }
  std::string body;
  EXPECT_EQ(m.http("GET", "/healthz", &body), 200);
  EXPECT_EQ(m.worker("w")["state"], "running");
  // ...and supervision goes on.
  const int pid = pid_of(m.worker("w"));
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(m.wait_until(
      [&] { return state_of(m.worker("w")) == "running" && pid_of(m.worker("w")) != pid; }, 5s));
  for (int fd : idle) ::close(fd);
}

TEST_F(ManagerSystem, MetricsAreValidPrometheusText) {
  ManagerProcess m(config({worker_json("m1", {}), worker_json("m2", {"--exit-code", "0"})},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return state_of(m.worker("m2")) == "stopped"; }, 5s));
  std::string body;
  ASSERT_EQ(m.http("GET", "/metrics", &body), 200);
  EXPECT_EQ(prometheus_syntax_error(body), "") << body;
  EXPECT_NE(body.find("socialai_worker_up{worker=\"m1\"} 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("socialai_worker_state{worker=\"m2\",state=\"stopped\"} 1\n"),
            std::string::npos);
  EXPECT_NE(body.find("socialai_worker_log_lines_total{worker=\"m1\"}"), std::string::npos);
  EXPECT_NE(body.find("socialai_worker_resident_memory_bytes{worker=\"m1\"}"), std::string::npos)
      << "sampled every 2 s; the first sample is taken at start";
  EXPECT_EQ(m.http("POST", "/metrics"), 405);
}

TEST_F(ManagerSystem, AdminPageIsServed) {
  ManagerProcess m(config({worker_json("p1", {})}, "\"restart_delay_ms\": 50"), dir_);
  std::string body;
  ASSERT_EQ(m.http("GET", "/workers", &body), 200);
  EXPECT_NE(body.find("<html"), std::string::npos);
  EXPECT_EQ(body.find("http://"), std::string::npos) << "no external assets";
  EXPECT_EQ(body.find("https://"), std::string::npos) << "no external assets";
}

TEST_F(ManagerSystem, ApiReloadAppliesTheDifferenceOrRejects) {
  ManagerProcess m(config({worker_json("same", {}), worker_json("tuned", {})},
                          "\"restart_delay_ms\": 50"),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return state_of(m.worker("tuned")) == "running"; }, 5s));
  const int same_pid = pid_of(m.worker("same")), tuned_pid = pid_of(m.worker("tuned"));
  m.rewrite_config("{\"workers\": {\"same\": {\"nonsense\": true}}}");
  std::string body;
  EXPECT_EQ(m.http("POST", "/api/reload", &body), 400);
  EXPECT_NE(body.find("workers.same.nonsense"), std::string::npos) << body;
  EXPECT_EQ(pid_of(m.worker("tuned")), tuned_pid);
  m.rewrite_config(config({worker_json("same", {}), worker_json("tuned", {}, "\"interval_ms\": 1234")},
                          "\"restart_delay_ms\": 50"));
  EXPECT_EQ(m.http("GET", "/api/reload"), 405);
  ASSERT_EQ(m.http("POST", "/api/reload", &body), 200) << body;
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto t = m.worker("tuned");
        return state_of(t) == "running" && pid_of(t) != tuned_pid;
      },
      5s));
  EXPECT_EQ(pid_of(m.worker("same")), same_pid);  // only the changed worker was restarted
}

TEST_F(ManagerSystem, LogFileRotatesAndReopensOnSigusr1) {
  const std::string file = dir_ + "/agg.log";
  ManagerProcess m("{\"log\": {\"file\": \"" + file +
                       "\", \"max_bytes\": 65536, \"max_files\": 3, \"timestamps\": \"never\","
                       " \"stderr_tag\": \"\"},"
                   " \"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"}, \"workers\": {" +
                       worker_json("big", {"--flood", "5000", "--line-bytes", "60"}) + "}}",
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("[big] flood done") != std::string::npos; }, 10s));
  m.wait_until([] { return false; }, 300ms);  // let the writer finish the file copy
  EXPECT_TRUE(std::ifstream(file + ".1").good());
  EXPECT_TRUE(std::ifstream(file + ".2").good());
  EXPECT_FALSE(std::ifstream(file + ".3").good());
  // External logrotate: move the file away, SIGUSR1, and new lines go to a fresh file.
  std::rename(file.c_str(), (dir_ + "/moved.log").c_str());
  m.signal(SIGUSR1);
  ASSERT_TRUE(m.wait_until([&] { return std::ifstream(file).good(); }, 5s)) << m.log();
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  EXPECT_TRUE(m.wait_until(
      [&] {
        std::ifstream again(file);
        std::string line;
        return std::getline(again, line) && line.find("SIGUSR1: reopened the log file") !=
                                                std::string::npos;
      },
      5s))
      << first;
}

// --- with PostgreSQL ---------------------------------------------------------------------

class ManagerWithDb : public ManagerSystem {
 protected:
  void SetUp() override {
    ManagerSystem::SetUp();
    if (!schema_.available()) {
      GTEST_SKIP() << "SOCIALAI_TEST_DATABASE_URL not set (scripts/test.sh sets it)";
    }
  }
  std::string db_section() const {
    return "\"database\": {\"url\": " + json(schema_.url()).dump() + "},\n";
  }
  TestSchema schema_;
};

TEST_F(ManagerWithDb, FlagFlippedInSqlStopsAndResumesWorkerWithinASecond) {
  ManagerProcess m(config({"\"search\": {\"path\": \"" SOCIALAI_SEARCH_WORKER_BIN
                           "\", \"interval_ms\": 60000}"},
                          "\"restart_delay_ms\": 100", db_section()),
                   dir_);
  pqxx::connection c(schema_.url());
  auto query = [&](const std::string& sql) {
    pqxx::work tx(c);
    auto r = tx.exec(sql);
    tx.commit();
    return r;
  };
  auto heartbeat_state = [&]() -> std::string {
    const auto r = query("SELECT state FROM worker_heartbeats WHERE worker = 'search'");
    return r.empty() ? "" : r[0][0].as<std::string>();
  };
  auto runs = [&] { return query("SELECT count(*) FROM worker_runs WHERE worker='search'")[0][0].as<int>(); };
  ASSERT_TRUE(m.wait_until(
      [&] {
        try {
          return heartbeat_state() == "running" && runs() >= 1;
        } catch (const std::exception&) {
          return false;  // tables not created yet
        }
      },
      20s))
      << m.log();
  const int runs_before = runs();
  auto t0 = std::chrono::steady_clock::now();
  query("UPDATE feature_flags SET enabled = false WHERE flag_name = 'search_enabled'");
  ASSERT_TRUE(m.wait_until([&] { return heartbeat_state() == "disabled"; }, 5s)) << m.log();
  const auto stop_latency = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(stop_latency, 1s);
  EXPECT_TRUE(m.wait_until([&] { return m.worker("search")["state"] == "disabled"; }, 5s));
  EXPECT_EQ(m.worker("search")["restartCount"], 0);  // idles, does not exit
  t0 = std::chrono::steady_clock::now();
  query("UPDATE feature_flags SET enabled = true WHERE flag_name = 'search_enabled'");
  ASSERT_TRUE(m.wait_until([&] { return runs() > runs_before; }, 5s)) << m.log();
  const auto resume_latency = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(resume_latency, 1s);
  std::cout << "flag off->idle " << std::chrono::duration<double, std::milli>(stop_latency).count()
            << " ms, on->cycle " << std::chrono::duration<double, std::milli>(resume_latency).count()
            << " ms\n";
  // The database goes away under the worker (its session is terminated): it reconnects with
  // backoff and keeps acting on flags.
  query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'socialai-worker-search' AND datname = current_database()");
  ASSERT_TRUE(m.wait_until(
      [&] { return m.log().find("database connection lost") != std::string::npos; }, 5s))
      << m.log();
  query("UPDATE feature_flags SET enabled = false WHERE flag_name = 'search_enabled'");
  ASSERT_TRUE(m.wait_until([&] { return heartbeat_state() == "disabled"; }, 5s)) << m.log();
  query("UPDATE feature_flags SET enabled = true WHERE flag_name = 'search_enabled'");
  ASSERT_TRUE(m.wait_until([&] { return heartbeat_state() == "running"; }, 5s)) << m.log();
  EXPECT_EQ(m.worker("search")["restartCount"], 0);  // reconnected, not restarted
  // The status API reflects the database.
  ASSERT_TRUE(m.wait_until([&] { return !m.worker("search")["lastRun"].is_null(); }, 5s));
  ASSERT_TRUE(m.wait_until([&] { return m.worker("search")["lastSuccess"].is_string(); }, 5s))
      << m.worker("search").dump() << "\n" << m.log();
  const auto w = m.worker("search");
  EXPECT_EQ(w["errorRate"], 0.0);
  m.signal(SIGTERM);
  EXPECT_EQ(m.wait_exit(15s), 0);
  EXPECT_EQ(heartbeat_state(), "stopped");
}

TEST_F(ManagerWithDb, MigrateAndOnceExitCodes) {
  const std::string good = dir_ + "/good.json", dead = dir_ + "/dead.json";
  std::ofstream(good) << "{" << db_section() << "\"workers\": {\"search\": {}}}";
  std::ofstream(dead) << R"({"database": {"url": "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1"},
                             "workers": {"search": {}}})";
  auto r = run_command({SOCIALAI_MANAGER_BIN, "--migrate", "--config", good});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("applied migration 002_search"), std::string::npos) << r.out;
  r = run_command({SOCIALAI_MANAGER_BIN, "--migrate", "--config", good});
  EXPECT_NE(r.out.find("0 applied"), std::string::npos) << r.out;  // idempotent
  r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--once", "--config", good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--once", "--config", dead});
  EXPECT_EQ(r.exit_code, 1);
  // A worker's log is on stdout (its stderr is for what goes wrong outside the logger).
  EXPECT_NE(r.out.find("unavailable"), std::string::npos) << r.out << r.err;
  r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("socialai-worker-search ", 0), 0u) << r.out;
  r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(ManagerWithDb, StaleHeartbeatRestartsLiveWorker) {
  ManagerProcess m(config({worker_json("stale", {})},
                          "\"restart_delay_ms\": 50, \"heartbeat_timeout_s\": 1", db_section()),
                   dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("stale")["state"] == "running"; }, 10s));
  const int pid = m.worker("stale")["pid"];
  {
    pqxx::connection c(schema_.url());
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO worker_heartbeats (worker, host, pid, state, beat_at) "
        "VALUES ('stale', $1, $2, 'running', now() - interval '1 hour')",
        heartbeat_host(), pid);
    tx.commit();
  }
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("stale");
        return pid_of(w) != -1 && pid_of(w) != pid;
      },
      15s))
      << m.log();
  EXPECT_TRUE(m.wait_for_log({"stale: unhealthy (heartbeat"}, 5s)) << m.log();
  EXPECT_EQ(m.worker("stale")["restartCount"], 1);
}

}  // namespace
}  // namespace socialai::testing
