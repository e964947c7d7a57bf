// System tests of the manager's defences (docs/reliability.md "Probes"): cross-origin and
// DNS-rebinding requests, slow clients, pipelining and HEAD, the console's CSP, bearer scheme
// case, audit lines, secret redaction in --check-config, http.listen validation, refused
// cgroup keys, per-worker environments, and no descendant outliving its worker or the manager.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "manager_harness.h"
#include "test_db.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;
const std::string kManager = SOCIALAI_MANAGER_BIN;

std::string fake_worker(const std::string& name, const std::vector<std::string>& args = {},
                        const std::string& extra = "") {
  return worker_entry(name, kFake, args, extra);
}

std::string config(const std::vector<std::string>& workers, const std::string& http_extra = "") {
  return manager_config(workers, "\"restart_delay_ms\": 50", http_extra);
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Gone for good: no such process, or a zombie (which we reap if it is ours).
bool gone(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) {
    return true;
  }
  const auto close = stat.rfind(')');
  if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') {
    ::waitpid(pid, nullptr, WNOHANG);
    return true;
  }
  return false;
}

// Waits until every one of `pids` is gone (see gone()), at most `limit`; true if they are.
bool wait_gone(std::initializer_list<int> pids, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto all_gone = [&] { return std::all_of(pids.begin(), pids.end(), gone); };
  while (!all_gone() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  return all_gone();
}

std::vector<std::string> environment_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::vector<std::string> out;
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    out.push_back(entry.substr(0, entry.find('=')));
  }
  return out;
}

// Sends `raw` on a fresh connection and reads until the peer closes or `responses` HTTP
// status lines arrived (and their bodies are in, as far as `until` says).
std::string raw_exchange(int port, const std::string& raw, const std::string& until) {
  const int fd = connect_loopback(port);
  if (fd < 0) {
    return "";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  while (got.find(until) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphans come to us, so gone() can reap them
    dir_ = make_temp_dir();
  }
  void TearDown() override {
    std::system(("rm -rf " + dir_).c_str());
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  std::string dir_;
};

TEST_F(Hardening, CrossOriginAndRebindingRequestsAreRefusedSameOriginWorks) {
  ManagerProcess m(config({fake_worker("w")}), dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "running"; }, 10s)) << m.log();
  const std::string self = "127.0.0.1:" + std::to_string(m.port());
  // A page from another origin posting to the loopback listener (no token configured).
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop", nullptr, {{"Origin", "http://evil.example"}}),
            403);
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop", nullptr, {{"Origin", "null"}}), 403);
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop", nullptr, {{"Sec-Fetch-Site", "cross-site"}}),
            403);
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop", nullptr,
                   {{"Origin", "http://127.0.0.1:1"}, {"Sec-Fetch-Site", "same-site"}}),
            403);
  // DNS rebinding: evil.example now resolves to 127.0.0.1; reads are refused too.
  std::string body;
  EXPECT_EQ(m.http("GET", "/api/workers/status", &body, {{"Host", "evil.example:4200"}}), 403);
  EXPECT_NE(body.find("host not allowed"), std::string::npos) << body;
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop", nullptr, {{"Host", "evil.example"}}), 403);
  EXPECT_EQ(m.worker("w")["state"], "running");
  // The console's own requests (same origin) and non-browser clients still work.
  EXPECT_EQ(m.http("GET", "/api/workers/status", nullptr, {{"Host", "localhost:9"}}), 200);
  const int before = m.worker("w")["pid"].get<int>();
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart", nullptr,
                   {{"Origin", "http://" + self}, {"Sec-Fetch-Site", "same-origin"}}),
            200);
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("w");
        return w["state"] == "running" && w["pid"].is_number() && w["pid"].get<int>() != before;
      },
      10s));
  EXPECT_EQ(m.http("POST", "/api/workers/w/stop"), 200);
  EXPECT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "stopped"; }, 10s));
  // The audit trail: refusals and accepted actions with the caller's address (the log writer
  // is a thread of its own: wait for the lines rather than read the file once).
  EXPECT_TRUE(m.wait_for_log({"refused POST /api/workers/w/stop from 127.0.0.1: 403 cross-origin",
                              "restart of w requested by 127.0.0.1",
                              "stop of w requested by 127.0.0.1"},
                             10s))
      << m.log();
}

TEST_F(Hardening, TokenIsCaseInsensitiveSchemeAndFailedLoginsAreLoggedWithoutTheToken) {
  ScopedEnv token("SOCIALAI_TEST_ADMIN_TOKEN", "s3cr3t-t0ken-value");
  ManagerProcess m(
      config({fake_worker("w")}, ", \"admin_token\": \"${SOCIALAI_TEST_ADMIN_TOKEN}\""), dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "running"; }, 10s)) << m.log();
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart", nullptr,
                   {{"Authorization", "Bearer wrong-guess-value"}}),
            403);
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart", nullptr, {{"Authorization", "Basic eA=="}}),
            401);
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart", nullptr,
                   {{"Authorization", "bearer s3cr3t-t0ken-value"}}),
            200);
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart", nullptr,
                   {{"Authorization", "BEARER  s3cr3t-t0ken-value"}}),
            200);
  ASSERT_TRUE(m.wait_for_log({"refused POST /api/workers/w/restart from 127.0.0.1: 403 invalid "
                              "token",
                              "refused POST /api/workers/w/restart from 127.0.0.1: 401"},
                             10s))
      << m.log();
  const std::string log = m.log();
  EXPECT_EQ(log.find("s3cr3t-t0ken-value"), std::string::npos);
  EXPECT_EQ(log.find("wrong-guess-value"), std::string::npos);
}

TEST_F(Hardening, HalfOpenConnectionsDoNotLockOutProbes) {
  ManagerProcess m(config({fake_worker("w")}), dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "running"; }, 10s)) << m.log();
  // 66 connections that never finish a request: silent ones and ones stuck mid-header.
  std::vector<int> hogs;
  for (int i = 0; i < 66; ++i) {
    const int fd = connect_loopback(m.port());
    ASSERT_GE(fd, 0);
    if (i % 2 == 0) {
      const std::string partial = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
      ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    }
    hogs.push_back(fd);
  }
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    ok += m.http("GET", "/healthz") == 200 ? 1 : 0;
    // The attacker keeps reopening what was closed.
    const int fd = connect_loopback(m.port());
    if (fd >= 0) {
      hogs.push_back(fd);
    }
  }
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(m.http("POST", "/api/workers/w/restart"), 200);  // an operator gets through too
  for (const int fd : hogs) {
    ::close(fd);
  }
  EXPECT_TRUE(m.wait_for_log({"connection limit reached"}, 10s)) << m.log();
}

TEST_F(Hardening, PipelinedRequestsAreAllAnsweredInOrderAndHeadHasNoBody) {
  ManagerProcess m(config({fake_worker("w")}), dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "running"; }, 10s)) << m.log();
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string three =
      req + "GET /api/workers/nope/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + req;
  const std::string got = raw_exchange(m.port(), three + "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                         "Connection: close\r\n\r\n",
                                       "\"not found\"}");
  ASSERT_EQ(count_of(got, "HTTP/1.1 "), 4u) << got;
  const auto first = got.find("HTTP/1.1 200");
  const auto second = got.find("HTTP/1.1 404", first);
  const auto third = got.find("HTTP/1.1 200", second);
  EXPECT_TRUE(first != std::string::npos && second != std::string::npos &&
              third != std::string::npos)
      << got;

  // HEAD: the headers GET would send (with its length), no body.
  const std::string head = raw_exchange(
      m.port(), "HEAD /workers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      "(read until the server closes)");
  ASSERT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  const auto end = head.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(end + 4, head.size()) << "HEAD answered with a body";
  std::smatch len;
  ASSERT_TRUE(std::regex_search(head, len, std::regex("Content-Length: (\\d+)"))) << head;
  EXPECT_GT(std::stoul(len[1]), 1000u);
}

TEST_F(Hardening, ConsoleSendsAStrictCspWithAFreshNonce) {
  ManagerProcess m(config({fake_worker("w")}), dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["state"] == "running"; }, 10s)) << m.log();
  auto fetch = [&] {
    return raw_exchange(m.port(),
                        "GET /workers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                        "</html>");
  };
  const std::string a = fetch(), b = fetch();
  std::smatch csp, script;
  ASSERT_TRUE(std::regex_search(
      a, csp, std::regex("Content-Security-Policy: ([^\r]*script-src 'nonce-([0-9a-f]{32})'[^\r]*)")))
      << a.substr(0, 800);
  const std::string policy = csp[1], nonce = csp[2];
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
  EXPECT_NE(a.find("<script nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(a.find("<style nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(a.find("X-Frame-Options: DENY"), std::string::npos);
  EXPECT_NE(a.find("X-Content-Type-Options: nosniff"), std::string::npos);
  EXPECT_EQ(b.find(nonce), std::string::npos) << "the nonce must change per response";
  EXPECT_EQ(a.find("http-equiv=\"Content-Security-Policy\""), std::string::npos);
}

TEST_F(Hardening, CheckConfigRedactsLibpqKeywordPasswordsAndValidatesListen) {
  const std::string file = dir_ + "/c.json";
  auto write = [&](const std::string& listen) {
    std::ofstream(file) << "{\"database\": {\"url\": \"${SOCIALAI_TEST_DBURL}\"}, \"http\": "
                           "{\"listen\": \"" +
                               listen + "\"}, \"workers\": {}}";
  };
  write("127.0.0.1:4200");
  for (const std::string url :
       {"host=db.internal port=5432 user=app password=hunter2-secret dbname=socialai",
        "host=db user=app password = 'hunter2-secret with spaces' dbname=x",
        "postgresql://app:hunter2-secret@db/socialai",
        "postgresql://app@db/socialai?sslmode=require&password=hunter2-secret"}) {
    ScopedEnv env("SOCIALAI_TEST_DBURL", url.c_str());
    const auto r = run_command({kManager, "--check-config", "--config", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("***"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("db"), std::string::npos) << r.out;  // the host stays visible
  }
  for (const std::string& bad : {std::string("127.0.0.1:99999"), std::string("300.1.1.1:80"),
                                 std::string("db.example:80"), std::string("::1:80")}) {
    write(bad);
    const auto r = run_command({kManager, "--check-config", "--config", file});
    EXPECT_EQ(r.exit_code, 78) << bad << ": " << r.out;
    EXPECT_NE(r.err.find("http.listen"), std::string::npos) << r.err;
    const auto started = run_command({kManager, "--config", file});
    EXPECT_EQ(started.exit_code, 78) << bad;
  }
  write("[::1]:0");
  EXPECT_EQ(run_command({kManager, "--check-config", "--config", file}).exit_code, 0);
}

TEST_F(Hardening, CgroupKeysAreRefusedNotIgnored) {
  const std::string file = dir_ + "/c.json";
  std::ofstream(file) << "{\"workers\": {\"w\": {\"path\": \"" + kFake +
                             "\", \"memory_max\": \"512M\"}}}";
  const auto r = run_command({kManager, "--config", file});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("workers.w.memory_max"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not applied"), std::string::npos) << r.err;
}

TEST_F(Hardening, EachWorkerGetsOnlyTheVariablesItsSectionNames) {
  ScopedEnv a("SOCIALAI_TEST_A_KEY", "key-of-a");
  ScopedEnv b("SOCIALAI_TEST_B_KEY", "key-of-b");
  ScopedEnv pass("SOCIALAI_TEST_PASSED", "1");
  ScopedEnv admin("SOCIALAI_TEST_ADMIN", "admin-secret");
  ScopedEnv pg("PGAPPNAME", "common-to-all");
  ManagerProcess m(
      config({fake_worker("a", {}, "\"settings\": {\"api_key\": \"${SOCIALAI_TEST_A_KEY}\"}"),
              fake_worker("b", {},
                          "\"settings\": {\"api_key\": \"${SOCIALAI_TEST_B_KEY:-none}\"}, "
                          "\"env_passthrough\": [\"SOCIALAI_TEST_PASSED\"]")},
             ", \"admin_token\": \"${SOCIALAI_TEST_ADMIN}\""),
      dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("a")["state"] == "running" && m.worker("b")["state"] == "running"; },
      10s))
      << m.log();
  auto has = [](const std::vector<std::string>& env, const std::string& k) {
    return std::find(env.begin(), env.end(), k) != env.end();
  };
  const auto ea = environment_of(m.worker("a")["pid"].get<int>());
  const auto eb = environment_of(m.worker("b")["pid"].get<int>());
  ASSERT_TRUE(has(ea, "PATH") && has(eb, "PATH"));
  EXPECT_TRUE(has(ea, "SOCIALAI_TEST_A_KEY"));
  EXPECT_FALSE(has(ea, "SOCIALAI_TEST_B_KEY"));
  EXPECT_FALSE(has(ea, "SOCIALAI_TEST_PASSED"));
  EXPECT_TRUE(has(eb, "SOCIALAI_TEST_B_KEY"));
  EXPECT_FALSE(has(eb, "SOCIALAI_TEST_A_KEY"));
  EXPECT_TRUE(has(eb, "SOCIALAI_TEST_PASSED"));
  for (const auto* env : {&ea, &eb}) {
    EXPECT_FALSE(has(*env, "SOCIALAI_TEST_ADMIN"));  // the manager's own secret
    EXPECT_TRUE(has(*env, "PGAPPNAME"));             // libpq's variables are common
    EXPECT_TRUE(has(*env, "WORKER_NAME") && has(*env, "SOCIALAI_CONFIG"));
  }
}

// Reads "grandchild <pid>" from the worker's output in the aggregated log.
int grandchild_of(ManagerProcess& m, const std::string& worker) {
  int pid = -1;
  m.wait_until(
      [&] {
        std::smatch g;
        const std::string log = m.log();
        if (std::regex_search(log, g, std::regex("\\[" + worker + "\\] grandchild (\\d+)"))) {
          pid = std::stoi(g[1]);
        }
        return pid > 0;
      },
      10s);
  return pid;
}

TEST_F(Hardening, NoDescendantOutlivesASigkilledManager) {
  auto m = std::make_unique<ManagerProcess>(
      config({fake_worker("family", {"--spawn-grandchild"})}), dir_);
  const int grandchild = grandchild_of(*m, "family");
  ASSERT_GT(grandchild, 0) << m->log();
  const int worker = m->worker("family")["pid"].get<int>();
  ASSERT_FALSE(gone(grandchild));
  m->signal(SIGKILL);
  EXPECT_EQ(m->wait_exit(5s), -2);
  // The worker dies by PDEATHSIG, its group (the grandchild) by the sentinel.
  wait_gone({grandchild, worker}, 10s);
  EXPECT_TRUE(gone(worker));
  EXPECT_TRUE(gone(grandchild)) << "the grandchild outlived the SIGKILLed manager";
  m.reset();
}

TEST_F(Hardening, ADescendantThatLeftItsGroupDiesWithItsWorker) {
  ManagerProcess m(config({fake_worker("family", {"--spawn-grandchild", "--detach-grandchild"})}),
                   dir_);
  const int grandchild = grandchild_of(m, "family");
  ASSERT_GT(grandchild, 0) << m.log();
  const int worker = m.worker("family")["pid"].get<int>();
  ::kill(worker, SIGKILL);
  // Adopted by the manager (a subreaper), which kills and reaps it: not left to pid 1.
  EXPECT_TRUE(wait_gone({grandchild}, 10s)) << "the setsid grandchild outlived its worker";
  // And the replacement runs.
  EXPECT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("family");
        return w["state"] == "running" && w["pid"].is_number() && w["pid"].get<int>() != worker;
      },
      10s));
}

TEST_F(Hardening, ADaemonOfALiveWorkerIsKilledOnceAdopted) {
  // A double fork: the grandchild's parent exits at once, so the manager (a subreaper) adopts
  // it while the worker runs on. The periodic sweep (every 10 s) kills it; nothing else does.
  ManagerProcess m(config({fake_worker("family", {"--spawn-grandchild", "--daemon-grandchild"})}),
                   dir_);
  const int grandchild = grandchild_of(m, "family");
  ASSERT_GT(grandchild, 0) << m.log();
  const int worker = m.worker("family")["pid"].get<int>();
  EXPECT_TRUE(wait_gone({grandchild}, 40s)) << "the worker's daemon was left running unsupervised";
  const auto w = m.worker("family");
  EXPECT_EQ(w["state"], "running");
  EXPECT_EQ(w["pid"], worker) << "the worker itself is not touched";
}

TEST_F(Hardening, BadSettingsRowFallsBackToTheFileValueAndUnknownRowsAreNamed) {
  TestSchema schema;
  if (!schema.available()) {
    GTEST_SKIP() << kNoTestDatabase;
  }
  const std::string file = dir_ + "/c.json";
  std::ofstream(file) << json{{"database", {{"url", schema.url()}}},
                              {"workers", {{"search", {{"batch_size", 7}}}}}}
                             .dump();
  // First run creates the tables (migrate_on_start).
  ASSERT_EQ(run_command({SOCIALAI_SEARCH_WORKER_BIN, "--once", "--config", file}).exit_code, 0);
  {
    pqxx::connection c(schema.url());
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO settings (key, value) VALUES ($1, $2), ($3, $4)",
                   "search_batch_size", "lots", "search_batch_sise", "9");
    tx.commit();
  }
  const auto r = run_command({SOCIALAI_SEARCH_WORKER_BIN, "--once", "--config", file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string out = r.out + r.err;
  EXPECT_NE(out.find("setting batch_size=lots is not an integer; using 7 (from the config file)"),
            std::string::npos)
      << out;
  EXPECT_EQ(count_of(out, "is not an integer"), 1u) << out;  // warned once, not per use
  EXPECT_NE(out.find("settings row search_batch_sise names no setting of worker search"),
            std::string::npos)
      << out;
  // --check-config names it too (the rows as they are now), without failing the check.
  const auto check = run_command({kManager, "--check-config", "--config", file});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.err.find("warning: settings row search_batch_sise names no setting of worker "
                           "search; it is ignored (typo?)"),
            std::string::npos)
      << check.err;
  EXPECT_EQ(check.err.find("search_batch_size"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace socialai::testing
