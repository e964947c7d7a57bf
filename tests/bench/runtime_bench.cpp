// Worker runtime benchmarks against a real PostgreSQL (SOCIALAI_TEST_DATABASE_URL):
//   - flag change → worker acts: a real worker binary (socialai-worker-search) is disabled and
//     re-enabled by UPDATE feature_flags; the time runs from the commit until the worker has
//     written its new state (a test-only trigger on worker_heartbeats NOTIFYs the benchmark).
//     Once with LISTEN/NOTIFY (the product) and once with the config trigger dropped, so the
//     worker only sees changes through its polling fallback (every interval_ms), as a
//     flag service that polls would;
//   - idle queries per second of one idle worker (transactions counted by pg_stat_database
//     over a window in which the worker has nothing to do).
// Prints a Markdown table. Usage: bench_runtime [--quick]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/migrate.h"
#include "bench_util.h"
#include "manager_harness.h"
#include "test_db.h"

namespace {

using namespace std::chrono_literals;
using socialai::bench::Clock;
using socialai::bench::ms_since;
using socialai::bench::percentile;

pid_t start_worker(const std::string& config, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* f = std::fopen(log.c_str(), "w");
    ::dup2(::fileno(f), 1);
    ::dup2(::fileno(f), 2);
    ::execl(SOCIALAI_SEARCH_WORKER_BIN, SOCIALAI_SEARCH_WORKER_BIN, "--config", config.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

void stop_worker(pid_t pid) {
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

// Receives the probe trigger's notifications (the state a worker just wrote).
struct StateReceiver : pqxx::notification_receiver {
  explicit StateReceiver(pqxx::connection_base& c) : notification_receiver(c, "bench_hb") {}
  void operator()(const std::string& payload, int) override { last = payload; }
  std::string last;
};

// Waits for a heartbeat notification carrying `state`; returns false on timeout.
bool wait_state(pqxx::connection& listen, StateReceiver& rx, const std::string& state,
                std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (rx.last == state) {
      rx.last.clear();
      return true;
    }
    listen.await_notification(0, 20000);
  }
  return false;
}

// Flips search_enabled `flips` times; returns the latency of each flip in ms.
std::vector<double> flip_latencies(const std::string& url, int flips) {
  pqxx::connection listen(url), writer(url);
  StateReceiver rx(listen);
  std::vector<double> out;
  bool enabled = true;
  for (int i = 0; i < flips; ++i) {
    enabled = !enabled;
    const auto t0 = Clock::now();
    {
      pqxx::work tx(writer);
      tx.exec_params("UPDATE feature_flags SET enabled = $1 WHERE flag_name = 'search_enabled'",
                     enabled);
      tx.commit();
    }
    if (!wait_state(listen, rx, enabled ? "running" : "disabled", 10s)) {
      std::cerr << "flip " << i << ": no state change within 10 s\n";
      break;
    }
    out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + (i * 7) % 20));  // desynchronise
  }
  return out;
}

std::string config_file(const std::string& dir, const std::string& url, int interval_ms) {
  const std::string path = dir + "/config.json";
  std::ofstream(path) << nlohmann::json{
      {"database", {{"url", url}}},
      {"workers", {{"search", {{"interval_ms", interval_ms}}}}}}.dump();
  return path;
}

void install_probe(const std::string& url) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec(R"sql(
    CREATE OR REPLACE FUNCTION bench_hb_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('bench_hb', NEW.state); RETURN NEW; END $$;
    DROP TRIGGER IF EXISTS bench_hb ON worker_heartbeats;
    CREATE TRIGGER bench_hb AFTER INSERT OR UPDATE ON worker_heartbeats
      FOR EACH ROW EXECUTE FUNCTION bench_hb_notify();)sql");
  tx.commit();
}

void wait_running(const std::string& url) {
  pqxx::connection c(url);
  for (int i = 0; i < 200; ++i) {
    pqxx::work tx(c);
    const auto r = tx.exec("SELECT 1 FROM worker_heartbeats WHERE worker = 'search' AND state = 'running'");
    if (!r.empty()) return;
    tx.commit();
    std::this_thread::sleep_for(50ms);
  }
}

long transactions(const std::string& url) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  return tx.exec1("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                  "WHERE datname = current_database()")[0].as<long>();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = socialai::bench::quick_flag(argc, argv);
  const auto schema_ptr = socialai::bench::bench_schema("bench_runtime");
  if (!schema_ptr) {
    return 2;
  }
  const auto& schema = *schema_ptr;
  const std::string url = schema.url();
  const std::string dir = socialai::testing::make_temp_dir();
  const int flips = quick ? 10 : 200, poll_flips = quick ? 4 : 40;
  const int poll_interval_ms = 1000;

  {
    pqxx::connection c(url);
    socialai::apply_migrations(c, socialai::embedded_migrations());
  }
  // LISTEN/NOTIFY: a long interval, so only the notification can explain a fast reaction.
  pid_t w = start_worker(config_file(dir, url, 600000), dir + "/worker.log");
  wait_running(url);
  install_probe(url);
  const auto notify = flip_latencies(url, flips);
  // Leave it enabled and idle, then count its queries over a window.
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec("UPDATE feature_flags SET enabled = true WHERE flag_name = 'search_enabled'");
    tx.commit();
  }
  // Backends flush their statistics when idle for 10 s at most (PostgreSQL 15): wait until the
  // flips' transactions are all counted, so the window sees only the idle worker.
  std::this_thread::sleep_for(12s);
  const auto window = quick ? 5s : 60s;
  const long q0 = transactions(url);
  std::this_thread::sleep_for(window);
  const long q1 = transactions(url) - 1;  // minus our own first count
  stop_worker(w);

  // Pure polling: no NOTIFY, the worker re-reads flags every interval.
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec("DROP TRIGGER feature_flags_notify ON feature_flags");
    tx.exec("UPDATE feature_flags SET enabled = true WHERE flag_name = 'search_enabled'");
    tx.commit();
  }
  w = start_worker(config_file(dir, url, poll_interval_ms), dir + "/worker.log");
  std::this_thread::sleep_for(1500ms);
  const auto polling = flip_latencies(url, poll_flips);
  stop_worker(w);
  std::system(("rm -rf " + dir).c_str());

  if (notify.empty() || polling.empty()) {
    std::cerr << "bench_runtime: the worker did not react\n";
    return 1;
  }
  const double qps = static_cast<double>(q1 - q0) /
                     std::chrono::duration<double>(window).count();
  std::printf("| figure | LISTEN/NOTIFY (socialai) | polling every %d ms | ratio |\n|---|---|---|---|\n",
              poll_interval_ms);
  std::printf("| flag change → worker acts, p50 (%zu / %zu flips) | %.1f ms | %.1f ms | %.3fx |\n",
              notify.size(), polling.size(), percentile(notify, 0.5), percentile(polling, 0.5),
              percentile(notify, 0.5) / percentile(polling, 0.5));
  std::printf("| flag change → worker acts, p99 | %.1f ms | %.1f ms | %.3fx |\n",
              percentile(notify, 0.99), percentile(polling, 0.99),
              percentile(notify, 0.99) / percentile(polling, 0.99));
  std::printf("| min–max | %.1f–%.1f ms | %.1f–%.1f ms | |\n", percentile(notify, 0),
              percentile(notify, 1), percentile(polling, 0), percentile(polling, 1));
  std::printf("\nIdle worker (search, interval 600 s, heartbeat every 30 s): %.3f transactions/s "
              "over %lld s (whole database, includes nothing else).\n",
              qps, static_cast<long long>(window.count()));
  return 0;
}
