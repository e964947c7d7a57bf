// The real socialai-worker-reddit binary: kill -9 in the middle of a sync and restart (same
// final tables, no duplicates), a missing credential (exit 1 with --once, idle otherwise), and
// a User-Agent the server refuses (exit 1 naming it; a proper one syncs).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "manager_harness.h"
#include "reddit_fixture.h"

#ifndef SOCIALAI_REDDIT_WORKER_BIN
#error "SOCIALAI_REDDIT_WORKER_BIN must be defined by tests/reddit/CMakeLists.txt"
#endif

namespace socialai::testing {
namespace {

using Clock = std::chrono::steady_clock;

class RedditProcess : public RedditFixture {
 protected:
  void SetUp() override {
    RedditFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    dir_ = make_temp_dir();
    sql("UPDATE feature_flags SET enabled = true WHERE flag_name = 'reddit_enabled'");
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The worker's config: the fixture's settings, minus `drop`.
  void write_config(const std::string& drop = "") {
    json worker = {{"interval_ms", 600000}};
    for (const auto& [k, v] : ctx_->settings_) {
      if (k != drop) {
        worker[k] = v;
      }
    }
    const json config = {{"database", {{"url", schema_->url()}, {"migrate_on_start", true}}},
                         {"workers", {{"reddit", worker}}}};
    std::ofstream(dir_ + "/config.json") << config.dump(2);
  }

  void start(bool once) {
    const std::string log = dir_ + "/worker.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string cfg = dir_ + "/config.json";
      if (once) {
        ::execl(SOCIALAI_REDDIT_WORKER_BIN, SOCIALAI_REDDIT_WORKER_BIN, "--config", cfg.c_str(),
                "--once", static_cast<char*>(nullptr));
      } else {
        ::execl(SOCIALAI_REDDIT_WORKER_BIN, SOCIALAI_REDDIT_WORKER_BIN, "--config", cfg.c_str(),
                static_cast<char*>(nullptr));
      }
      ::_exit(127);
    }
  }

  // Exit status, or -1 if still running after `timeout`.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  std::string log() const {
    std::ifstream in(dir_ + "/worker.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::int64_t stored() {
    return scalar("SELECT count(*) FROM external_posts WHERE source = 'reddit'");
  }

  std::string dir_;
  int pid_ = -1;
};

TEST_F(RedditProcess, KillNineMidSyncThenRestartGivesTheSameTables) {
  const json t = truth();
  const std::int64_t total = t["posts"].get<int>() + t["comments"].get<int>();
  // Small pages and some latency, so a sync spans many commits and a kill lands inside one.
  ctx_->settings_["limit"] = "5";
  devnet_->post("/_devnet/faults", {{"service", "reddit"}, {"rate", 0.0}, {"latency_ms", 8}});
  write_config();
  for (const double share : {0.25, 0.6}) {
    start(/*once=*/false);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    const auto target = static_cast<std::int64_t>(share * static_cast<double>(total));
    while (stored() < target && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(pid_, SIGKILL);
    ASSERT_EQ(wait_exit(std::chrono::seconds(5)), 128 + SIGKILL);
    const std::int64_t now = stored();
    EXPECT_LT(now, total) << "the sync finished before the kill; the test proves nothing";
    EXPECT_EQ(compare(t, /*subset=*/true), "");  // what is there is whole and exact
  }
  start(/*once=*/true);
  EXPECT_EQ(wait_exit(std::chrono::seconds(60)), 0) << log();
  EXPECT_EQ(compare(t), "");
  EXPECT_EQ(stored(), total);
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT external_id FROM external_posts "
                   "GROUP BY source, external_id HAVING count(*) > 1) d"),
            0);
  EXPECT_EQ(log().find("devnet-secret"), std::string::npos);
}

TEST_F(RedditProcess, MissingCredentialFailsOnceAndIdlesOtherwise) {
  write_config("client_secret");
  start(/*once=*/true);
  EXPECT_EQ(wait_exit(std::chrono::seconds(20)), 1);
  EXPECT_NE(log().find("client_secret is not set"), std::string::npos) << log();

  start(/*once=*/false);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(wait_exit(std::chrono::milliseconds(10)), -1) << "the worker exited:\n" << log();
  EXPECT_GE(scalar("SELECT count(*) FROM worker_runs WHERE worker = 'reddit' AND error LIKE "
                   "'%client_secret is not set%'"),
            2);
  EXPECT_EQ(stored(), 0);
  ::kill(pid_, SIGTERM);
  EXPECT_EQ(wait_exit(std::chrono::seconds(10)), 0);
}

class RedditUserAgentProcess : public RedditProcess {
 protected:
  RedditUserAgentProcess() {
    devnet_flags_.insert(devnet_flags_.end(), {"--reddit-require-user-agent", "1"});
  }
};

TEST_F(RedditUserAgentProcess, RefusedUserAgentFailsOnceNamingItAndAProperOneSyncs) {
  write_config();  // no user_agent, no username: the generic User-Agent the devnet refuses
  start(/*once=*/true);
  EXPECT_EQ(wait_exit(std::chrono::seconds(60)), 1) << log();
  EXPECT_NE(log().find("User-Agent \"linux:socialai:"), std::string::npos) << log();
  EXPECT_EQ(scalar("SELECT count(*) FROM worker_runs WHERE worker = 'reddit' AND "
                   "error LIKE '%without X-Ratelimit headers%User-Agent%(by /u/%'"),
            1);
  EXPECT_GT(stats()["user_agent_refused"].get<int>(), 0);
  EXPECT_EQ(stored(), 0);

  ctx_->settings_["username"] = "u/socialai_test";
  write_config();
  start(/*once=*/true);
  EXPECT_EQ(wait_exit(std::chrono::seconds(60)), 0) << log();
  EXPECT_EQ(compare(truth()), "");
}

}  // namespace
}  // namespace socialai::testing
