// Honest health (docs/healdec.md "Health"): each row of the table against real workers and a
// real manager. A failed cycle counts; `healthy` turns false after failed_cycles_unhealthy of
// them in a row and back on the first success; the error reaches the API, /metrics and the
// console (headless Chromium).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "browser.h"
#include "devnet_process.h"
#include "manager_harness.h"
#include "test_db.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Health : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!schema_.available()) {
      GTEST_SKIP() << kNoTestDatabase;
    }
    dir_ = make_temp_dir();
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::system(("rm -rf " + dir_).c_str());
    }
  }

  std::string config(const json& workers, const json& healdec = json::object()) const {
    json h = {{"restart_delay_ms", 100}, {"failed_cycles_unhealthy", 3}};
    h.update(healdec);
    return json{{"database", {{"url", schema_.url()}}},
                {"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
                {"healdec", h},
                {"workers", workers}}
        .dump();
  }
  void sql(const std::string& statement) {
    pqxx::connection c(schema_.url());
    pqxx::work tx(c);
    tx.exec(statement);
    tx.commit();
  }
  // The ethereum worker against the devnet's chain 1, cycling every 300 ms.
  json ethereum(const DevnetProcess& devnet) const {
    const json info = devnet.get("/_devnet/evm/1/info");
    return {{"path", SOCIALAI_ETHEREUM_WORKER_BIN},
            {"interval_ms", 300},
            {"rpc_url", devnet.url("/evm/1")},
            {"confirmations", 0},
            {"start_block", 0},
            {"wallets", info["wallets"]}};
  }
  static std::string metric(const std::string& text, const std::string& sample) {
    const auto at = text.find(sample + " ");
    if (at == std::string::npos) {
      return "";
    }
    const auto end = text.find('\n', at);
    return text.substr(at + sample.size() + 1, end - at - sample.size() - 1);
  }

  TestSchema schema_;
  std::string dir_;
};

TEST_F(Health, DeadRpcTurnsUnhealthyEverywhereAndRecoversWhenFixedInSql) {
  DevnetProcess devnet({"--evm-wallets", "3", "--evm-blocks", "12"});
  ManagerProcess m(config({{"ethereum", ethereum(devnet)}}), dir_);
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("ethereum");
        return w["healthy"] == true && w["lastSuccess"].is_string();
      },
      60s))
      << m.worker("ethereum").dump() << m.log();
  EXPECT_TRUE(m.worker("ethereum")["error"].is_null());

  // A settings row points the worker at a port where nothing listens.
  sql("INSERT INTO settings (key, value) VALUES ('ethereum_rpc_url', 'http://127.0.0.1:1/')");
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("ethereum")["consecutiveFailedCycles"].get<int>() >= 3; }, 90s))
      << m.worker("ethereum").dump() << m.log();
  const json w = m.worker("ethereum");
  EXPECT_EQ(w["healthy"], false) << w.dump();
  EXPECT_EQ(w["state"], "running");
  ASSERT_TRUE(w["error"].is_string()) << w.dump();
  const std::string error = w["error"];
  EXPECT_NE(error.find("127.0.0.1:1"), std::string::npos) << error;
  EXPECT_GT(w["errorRate"].get<double>(), 0.0);
  ASSERT_FALSE(w["recentErrors"].empty());
  EXPECT_EQ(w["recentErrors"][0]["kind"], "cycle");
  EXPECT_TRUE(w["recentErrors"][0]["itemRef"].is_null());
  EXPECT_EQ(w["lastCycleError"], w["error"]);
  EXPECT_EQ(w["restartCount"], 0);  // unhealthy is reported, not a reason to restart

  std::string metrics;
  ASSERT_EQ(m.http("GET", "/metrics", &metrics), 200);
  EXPECT_EQ(metric(metrics, "socialai_worker_healthy{worker=\"ethereum\"}"), "0") << metrics;
  EXPECT_GE(std::stoi(metric(metrics,
                             "socialai_worker_consecutive_failed_cycles{worker=\"ethereum\"}")),
            3);
  EXPECT_NE(metrics.find("socialai_worker_error_info{worker=\"ethereum\",error=\""),
            std::string::npos)
      << metrics;

  if (browser_available()) {
    Browser b(dir_);
    b.navigate("http://127.0.0.1:" + std::to_string(m.port()) + "/workers");
    const std::string row = "document.querySelector('[data-worker=\"ethereum\"]')";
    bool red = false;
    for (int i = 0; i < 100 && !red; ++i) {
      red = b.run_script("const r = " + row + "; return r !== null && r.classList.contains('c-red')"
                         " && r.querySelector('.error').textContent.includes('127.0.0.1:1');") ==
            true;
      if (!red) {
        std::this_thread::sleep_for(100ms);
      }
    }
    EXPECT_TRUE(red) << b.run_script("return document.body.innerText;").dump();
    // "unhealthy", then the worker's own note (the EVM worker's confirmed head).
    EXPECT_EQ(b.run_script("return " + row + ".querySelector('.note').textContent"
                           ".startsWith('unhealthy');"),
              true);
    EXPECT_EQ(b.run_script("return document.getElementById('summary').textContent;"),
              "1 workers0 healthy0 attention1 failing");
    if (const char* shot = std::getenv("SOCIALAI_WRITE_SCREENSHOT"); shot && *shot == '1') {
      const std::string self = __FILE__;
      std::ofstream(self.substr(0, self.rfind("tests/system/")) + "docs/console-unhealthy.png",
                    std::ios::binary)
          << b.screenshot_png();
    }
  }

  // Fixed in SQL: the first successful cycle makes it healthy again, the error is gone.
  sql("DELETE FROM settings WHERE key = 'ethereum_rpc_url'");
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto x = m.worker("ethereum");
        return x["healthy"] == true && x["consecutiveFailedCycles"] == 0;
      },
      60s))
      << m.worker("ethereum").dump() << m.log();
  EXPECT_TRUE(m.worker("ethereum")["error"].is_null()) << m.worker("ethereum").dump();
  ASSERT_EQ(m.http("GET", "/metrics", &metrics), 200);
  EXPECT_EQ(metric(metrics, "socialai_worker_healthy{worker=\"ethereum\"}"), "1");
  EXPECT_EQ(metrics.find("socialai_worker_error_info{worker=\"ethereum\""), std::string::npos);
}

TEST_F(Health, MissingUrlIsAFailedCycleNotAHealthyIdle) {
  DevnetProcess devnet({"--evm-wallets", "2", "--evm-blocks", "4"});
  json eth = ethereum(devnet);
  eth["rpc_url"] = "";  // what the production config gives when ETHEREUM_RPC_URL is unset
  ManagerProcess m(config({{"ethereum", eth}}), dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("ethereum")["consecutiveFailedCycles"].get<int>() >= 3; }, 60s))
      << m.worker("ethereum").dump() << m.log();
  const json w = m.worker("ethereum");
  EXPECT_EQ(w["healthy"], false);
  EXPECT_EQ(w["error"], "ethereum: setting rpc_url is missing") << w.dump();
  EXPECT_EQ(w["errorRate"], 1.0);
  EXPECT_TRUE(w["lastSuccess"].is_null());
}

TEST_F(Health, FlagOffShowsDisabledAndHealthyWithoutRestarting) {
  ManagerProcess m(
      config({{"lease", {{"path", SOCIALAI_LEASE_WORKER_BIN}, {"interval_ms", 200}}}}), dir_);
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("lease");
        return w["healthy"] == true && w["lastSuccess"].is_string();
      },
      30s))
      << m.log();
  const int pid = m.worker("lease")["pid"];
  sql("INSERT INTO feature_flags (flag_name, enabled) VALUES ('lease_enabled', false) "
      "ON CONFLICT (flag_name) DO UPDATE SET enabled = false");
  ASSERT_TRUE(m.wait_until([&] { return m.worker("lease")["state"] == "disabled"; }, 10s))
      << m.worker("lease").dump();
  const json w = m.worker("lease");
  EXPECT_EQ(w["healthy"], true);
  EXPECT_EQ(w["enabled"], false);
  EXPECT_EQ(w["pid"], pid);  // idles, does not exit
  std::string metrics;
  ASSERT_EQ(m.http("GET", "/metrics", &metrics), 200);
  EXPECT_EQ(metric(metrics, "socialai_worker_state{worker=\"lease\",state=\"disabled\"}"), "1");
  sql("UPDATE feature_flags SET enabled = true WHERE flag_name = 'lease_enabled'");
  EXPECT_TRUE(m.wait_until([&] { return m.worker("lease")["state"] == "running"; }, 10s));
}

TEST_F(Health, FailuresBelowTheLimitShowTheErrorAndStayHealthyThenEveryItemFailingCounts) {
  ManagerProcess m(config({{"lease",
                            {{"path", SOCIALAI_LEASE_WORKER_BIN},
                             {"interval_ms", 200},
                             {"settings", {{"fail", "upstream said no"}}}}}},
                          {{"failed_cycles_unhealthy", 1000}}),
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("lease")["consecutiveFailedCycles"].get<int>() >= 2; }, 30s))
      << m.log();
  json w = m.worker("lease");
  EXPECT_EQ(w["healthy"], true);  // 2 of 1000
  EXPECT_EQ(w["error"], "upstream said no");
  // Cycles that raise nothing but fail every item are failed cycles as well.
  sql("INSERT INTO settings (key, value) VALUES ('lease_fail', ''), ('lease_fail_items', '4')");
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("lease")["error"] == "every item failed (4 items)"; }, 30s))
      << m.worker("lease").dump();
  w = m.worker("lease");
  EXPECT_GE(w["consecutiveFailedCycles"].get<int>(), 3);
  bool item_seen = false;
  for (const auto& e : w["recentErrors"]) {
    item_seen = item_seen || (e["kind"] == "item" && e["error"] == "refused by the test");
  }
  EXPECT_TRUE(item_seen) << w.dump();
}

TEST_F(Health, UnreachableDatabaseMakesRunningWorkersUnhealthyAndTheConsoleSaysSo) {
  const std::string cfg =
      json{{"database", {{"url", "postgresql://u:hunter2@127.0.0.1:1/x?connect_timeout=1"}}},
           {"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
           {"workers", {{"w", {{"path", SOCIALAI_FAKE_WORKER_BIN}}}}}}
          .dump();
  ManagerProcess m(cfg, dir_);
  ASSERT_TRUE(m.wait_until([&] { return m.worker("w")["database"] == "down"; }, 20s)) << m.log();
  const json w = m.worker("w");
  EXPECT_EQ(w["state"], "running");
  EXPECT_EQ(w["healthy"], false);
  const std::string error = w["error"];
  EXPECT_EQ(error.rfind("database unavailable: ", 0), 0u) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  if (browser_available()) {
    Browser b(dir_);
    b.navigate("http://127.0.0.1:" + std::to_string(m.port()) + "/workers");
    bool banner = false;
    for (int i = 0; i < 100 && !banner; ++i) {
      banner = b.run_script("const d = document.getElementById('dbdown');"
                            "return !d.hidden && d.textContent.includes('Database unreachable');") ==
               true;
      if (!banner) {
        std::this_thread::sleep_for(100ms);
      }
    }
    EXPECT_TRUE(banner) << b.run_script("return document.body.innerText;").dump();
    EXPECT_EQ(b.run_script("return document.getElementById('dbdown').textContent"
                           ".includes('hunter2');"),
              false);
    // The manager's own lines are on the page too.
    bool manager_log = false;
    for (int i = 0; i < 100 && !manager_log; ++i) {
      manager_log = b.run_script("return document.getElementById('managerlog').textContent"
                                 ".includes('status poller: database unavailable');") == true;
      if (!manager_log) {
        std::this_thread::sleep_for(100ms);
      }
    }
    EXPECT_TRUE(manager_log) << b.run_script("return document.body.innerText;").dump();
  }
}

TEST_F(Health, OnceExitsOneWhenEveryItemFailed) {
  const std::string file = dir_ + "/c.json";
  std::ofstream(file) << json{{"database", {{"url", schema_.url()}}},
                              {"workers", {{"lease", {{"settings", {{"fail_items", "3"}}}}}}}}
                             .dump();
  auto r = run_command({SOCIALAI_LEASE_WORKER_BIN, "--once", "--config", file});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("every item failed"), std::string::npos) << r.out << r.err;
  std::ofstream(file) << json{{"database", {{"url", schema_.url()}}},
                              {"workers", {{"lease", json::object()}}}}
                             .dump();
  r = run_command({SOCIALAI_LEASE_WORKER_BIN, "--once", "--config", file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// A worker keeps history_days of its own worker_runs and worker_errors rows, and prunes older
// ones (a continuous worker records a run every few seconds); other workers' rows stay.
TEST_F(Health, RunsAndErrorsOlderThanHistoryDaysArePruned) {
  const std::string file = dir_ + "/c.json";
  std::ofstream(file) << json{{"database", {{"url", schema_.url()}}},
                              {"workers", {{"lease", {{"history_days", 14}}}}}}
                             .dump();
  auto r = run_command({SOCIALAI_LEASE_WORKER_BIN, "--once", "--config", file});  // migrates
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  sql("DELETE FROM worker_runs; DELETE FROM worker_errors;"
      "INSERT INTO worker_runs (worker, host, pid, started_at) SELECT w, 'h', 1, now() - d "
      "FROM (VALUES ('lease', interval '20 days'), ('lease', interval '15 days'), "
      "('lease', interval '13 days'), ('other', interval '20 days')) v(w, d);"
      "INSERT INTO worker_errors (worker, item_ref, error, created_at) SELECT w, 'i', 'e', "
      "now() - d FROM (VALUES ('lease', interval '30 days'), ('lease', interval '1 day'), "
      "('other', interval '30 days')) v(w, d)");
  r = run_command({SOCIALAI_LEASE_WORKER_BIN, "--once", "--config", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("pruned 2 worker_runs and 1 worker_errors rows older than 14 days"),
            std::string::npos)
      << r.out << r.err;
  pqxx::connection c(schema_.url());
  pqxx::work tx(c);
  auto count = [&](const std::string& q) { return tx.exec1(q)[0].as<int>(); };
  EXPECT_EQ(count("SELECT count(*) FROM worker_runs WHERE worker = 'lease' "
                  "AND started_at < now() - interval '14 days'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM worker_runs WHERE worker = 'lease'"), 2);  // 13 days, now
  EXPECT_EQ(count("SELECT count(*) FROM worker_runs WHERE worker = 'other'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM worker_errors WHERE worker = 'lease'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM worker_errors WHERE worker = 'other'"), 1);
}

}  // namespace
}  // namespace socialai::testing
