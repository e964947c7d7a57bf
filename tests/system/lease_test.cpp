// SPEC §8 with real processes: two managers on one database each supervise the same exclusive
// worker; exactly one instance works, the other shows `standby`; when the active manager is
// killed -9 (its worker dies with it), the standby takes over within seconds, and the two never
// wrote in overlapping periods.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/migrate.h"
#include "manager_harness.h"
#include "test_db.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string lease_config(const std::string& db_url) {
  return "{\"database\": {\"url\": " + json(db_url).dump() +
         "},\n\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"},\n"
         "\"healdec\": {\"restart_delay_ms\": 100},\n"
         "\"workers\": {\"lease\": {\"path\": \"" SOCIALAI_LEASE_WORKER_BIN
         "\", \"interval_ms\": 100}}}";
}

// The partitions the manager's lease worker holds, from the status API ("p0, p1").
std::set<std::string> held(ManagerProcess& m) {
  const auto w = m.worker("lease");
  std::set<std::string> out;
  if (!w.contains("partitions") || !w["partitions"].is_string()) {
    return out;
  }
  std::string text = w["partitions"].get<std::string>();
  for (std::size_t pos = 0; pos <= text.size();) {
    const std::size_t end = std::min(text.find(", ", pos), text.size());
    out.insert(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

std::string state(ManagerProcess& m) {
  const auto w = m.worker("lease");
  return w.contains("state") && w["state"].is_string() ? w["state"].get<std::string>() : "";
}

TEST(Lease, TwoManagersOneActiveWorkerAndTakeoverAfterKill) {
  TestSchema schema;
  if (!schema.available()) {
    GTEST_SKIP() << "SOCIALAI_TEST_DATABASE_URL not set";
  }
  const std::string dir_a = make_temp_dir(), dir_b = make_temp_dir();
  auto a = std::make_unique<ManagerProcess>(lease_config(schema.url()), dir_a);
  ASSERT_TRUE(a->wait_until([&] { return state(*a) == "running" && a->worker("lease")["heartbeatState"] == "running"; }, 20s))
      << a->log();
  ManagerProcess b(lease_config(schema.url()), dir_b);
  ASSERT_TRUE(b.wait_until([&] { return state(b) == "standby"; }, 20s)) << b.log();
  EXPECT_TRUE(b.worker("lease")["healthy"].get<bool>());
  ASSERT_TRUE(b.wait_for_log({"another instance holds the lease lease; standing by"}, 5s))
      << b.log();

  pqxx::connection c(schema.url());
  auto writers = [&] {
    pqxx::work tx(c);
    return tx.exec1("SELECT count(DISTINCT pid) FROM lease_probe")[0].as<int>();
  };
  std::this_thread::sleep_for(500ms);  // several cycles of the active one
  EXPECT_EQ(writers(), 1);
  EXPECT_EQ(state(b), "standby");

  // Kill the active manager outright: its worker dies with it (PR_SET_PDEATHSIG), the session
  // and its advisory lock go, and the standby takes over.
  const int a_worker = a->worker("lease")["pid"];
  a->signal(SIGKILL);
  a->wait_exit(5s);
  a.reset();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.wait_until([&] { return state(b) == "running" && b.worker("lease")["heartbeatState"] == "running"; }, 15s))
      << b.log();
  const double takeover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::cout << "takeover after kill -9 of the active manager: " << takeover_s << " s\n";
  const int b_worker = b.worker("lease")["pid"];
  ASSERT_TRUE(b.wait_until([&] { return writers() == 2; }, 10s));

  // No overlap: every write of the old holder precedes every write of the new one.
  pqxx::work tx(c);
  const auto r = tx.exec_params1(
      "SELECT (SELECT max(at) FROM lease_probe WHERE pid = $1) < "
      "(SELECT min(at) FROM lease_probe WHERE pid = $2)",
      a_worker, b_worker);
  EXPECT_TRUE(r[0].as<bool>());
  tx.commit();
  std::system(("rm -rf " + dir_a + " " + dir_b).c_str());
}

// Partition leases: two managers split four partitions two and two (the first one alone held all
// four and hands two over), no partition is ever written by two instances at once, and when one
// manager is killed -9 the other takes its partitions over within seconds.
TEST(Lease, TwoManagersSplitPartitionsAndTakeOverAKilledOnes) {
  TestSchema schema;
  if (!schema.available()) {
    GTEST_SKIP() << "SOCIALAI_TEST_DATABASE_URL not set";
  }
  const std::set<std::string> all = {"p0", "p1", "p2", "p3"};
  pqxx::connection c(schema.url());
  {
    // The lease worker's settings (rows, as its config section takes only the common keys):
    // four partitions, cycles of 1 s.
    apply_migrations(c, embedded_migrations());
    pqxx::work tx(c);
    tx.exec("INSERT INTO settings (key, value) VALUES ('lease_partitions', '4'), "
            "('lease_cycle_ms', '1000')");
    tx.commit();
  }
  const std::string dir_a = make_temp_dir(), dir_b = make_temp_dir();
  auto a = std::make_unique<ManagerProcess>(lease_config(schema.url()), dir_a);
  ASSERT_TRUE(a->wait_until([&] { return held(*a) == all; }, 20s)) << a->log();
  ManagerProcess b(lease_config(schema.url()), dir_b);
  ASSERT_TRUE(b.wait_until([&] { return held(b).size() == 2 && held(*a).size() == 2; }, 20s))
      << a->worker("lease").dump() << "\n" << b.worker("lease").dump() << "\n" << b.log();
  std::set<std::string> both = held(*a);
  const auto from_b = held(b);
  both.insert(from_b.begin(), from_b.end());
  EXPECT_EQ(both, all);
  EXPECT_EQ(state(b), "running");

  auto scalar = [&](const std::string& sql) {
    pqxx::work tx(c);
    return tx.exec1(sql)[0].as<int>();
  };
  // Progress signal: both write (and a's handover happened before b's first write).
  const int b_worker = b.worker("lease")["pid"];
  ASSERT_TRUE(b.wait_until(
      [&] { return scalar("SELECT count(*) FROM lease_probe WHERE pid = " + std::to_string(b_worker)) > 10; },
      10s));

  const int a_worker = a->worker("lease")["pid"];
  a->signal(SIGKILL);
  a->wait_exit(5s);
  a.reset();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.wait_until([&] { return held(b) == all; }, 15s)) << b.log();
  const double takeover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::cout << "partitions taken over after kill -9 of the other manager: " << takeover_s
            << " s (with the manager's 1 s status poll)\n";
  // b writes all four (each partition's rows by a precede b's).
  ASSERT_TRUE(b.wait_until(
      [&] {
        return scalar("SELECT count(DISTINCT partition) FROM lease_probe WHERE pid = " +
                      std::to_string(b_worker)) == 4;
      },
      10s));
  EXPECT_EQ(scalar("SELECT count(DISTINCT pid)::int FROM lease_probe WHERE pid IN (" +
                   std::to_string(a_worker) + ", " + std::to_string(b_worker) + ")"),
            2);
  // Never two writers of one partition at once: per partition, each pid's writes form a span
  // that overlaps no other pid's.
  EXPECT_EQ(scalar("WITH s AS (SELECT partition, pid, min(at) AS first, max(at) AS last "
                   "FROM lease_probe GROUP BY 1, 2) "
                   "SELECT count(*)::int FROM s x JOIN s y ON x.partition = y.partition "
                   "AND x.pid < y.pid WHERE x.first <= y.last AND y.first <= x.last"),
            0);
  EXPECT_EQ(scalar("SELECT count(*)::int FROM lease_probe WHERE partition IS NULL"), 0);
  std::system(("rm -rf " + dir_a + " " + dir_b).c_str());
}

TEST(Lease, WorkerNoteReachesTheStatusApiAndClears) {
  TestSchema schema;
  if (!schema.available()) {
    GTEST_SKIP() << "SOCIALAI_TEST_DATABASE_URL not set";
  }
  const std::string dir = make_temp_dir();
  ManagerProcess m(lease_config(schema.url()), dir);
  ASSERT_TRUE(m.wait_until([&] { return state(m) == "running"; }, 20s)) << m.log();
  EXPECT_TRUE(m.worker("lease")["note"].is_null());
  pqxx::connection c(schema.url());
  auto set_note = [&](const std::string& sql) {
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  };
  set_note("INSERT INTO settings (key, value) VALUES ('lease_note', 'budget <b>reached</b>')");
  ASSERT_TRUE(m.wait_until([&] { return m.worker("lease")["note"] == "budget <b>reached</b>"; }, 10s))
      << m.worker("lease").dump();
  set_note("DELETE FROM settings WHERE key = 'lease_note'");
  ASSERT_TRUE(m.wait_until([&] { return m.worker("lease")["note"].is_null(); }, 10s))
      << m.worker("lease").dump();
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace socialai::testing
