// Db: one libpqxx connection with capped-backoff reconnects, query accounting and LISTEN.
// Not thread-safe: a Db belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/backoff.h"
#include "common/redact.h"

namespace socialai {

struct DbStats {
  std::int64_t queries = 0;
  double ms = 0;
};

// Seconds libpq waits for a connection (TCP connect, startup, authentication) unless the URL
// sets connect_timeout itself.
inline constexpr int kConnectTimeoutS = 10;

// `url` (URL or key=value form) with connect_timeout=`seconds` added unless it has one.
std::string with_connect_timeout(const std::string& url, int seconds);

class Db {
 public:
  // `sleep_fn(d)` waits up to d and returns false if the caller is stopping (workers pass a
  // wait that wakes on SIGTERM). Default: plain sleep, never stopping.
  using SleepFn = std::function<bool(std::chrono::milliseconds)>;

  explicit Db(std::string url, BackoffPolicy backoff = {std::chrono::milliseconds(250),
                                                        std::chrono::milliseconds(15000)});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Connects, retrying with capped, jittered backoff. Gives up (returns false) when sleep_fn
  // says stop or after max_attempts (0 = unlimited). Logs each failure without the password.
  bool connect(const SleepFn& sleep_fn, unsigned max_attempts = 0);
  // Sets application_name on every (re)connection, so operators can find the session in
  // pg_stat_activity. Call before connect().
  void set_application_name(std::string name) { application_name_ = std::move(name); }
  bool connected() const;
  void disconnect() noexcept;

  // REQUIRES: connected().
  pqxx::connection& conn();

  // Parameterized statement, counted in stats(). Every query goes through here or exec0.
  template <typename... Args>
  pqxx::result exec(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
    const auto t0 = std::chrono::steady_clock::now();
    pqxx::result r = tx.exec_params(sql, std::forward<Args>(args)...);
    account(t0);
    return r;
  }

  // Runs fn(tx) in a transaction and commits. Exceptions propagate (the transaction aborts).
  template <typename Fn>
  auto with_transaction(Fn&& fn) {
    pqxx::work tx(conn());
    if constexpr (std::is_void_v<decltype(fn(tx))>) {
      fn(tx);
      tx.commit();
    } else {
      auto result = fn(tx);
      tx.commit();
      return result;
    }
  }

  // LISTEN on channel (plain identifier). Notifications are read by wait_for_notification.
  void listen(const std::string& channel);

  // Waits until a notification arrives on a listened channel, `extra_fd` becomes readable,
  // or `timeout` passes. Returns the channels notified (empty on timeout / extra_fd).
  // Throws pqxx::broken_connection if the server went away.
  std::vector<std::string> wait_for_notification(std::chrono::milliseconds timeout,
                                                 int extra_fd = -1);

  DbStats stats() const { return stats_; }
  const std::string& url() const { return url_; }

 private:
  void account(std::chrono::steady_clock::time_point t0);

  std::string url_;
  std::string application_name_;
  BackoffPolicy backoff_;
  std::unique_ptr<pqxx::connection> conn_;
  std::vector<std::string> channels_;
  std::vector<std::string> pending_;
  std::vector<std::unique_ptr<pqxx::notification_receiver>> receivers_;
  DbStats stats_;
};

// This machine's name as written to worker_heartbeats.host by workers and read back by the
// manager ("unknown" if it cannot be had). One function, so both sides always agree.
std::string heartbeat_host();

}  // namespace socialai
