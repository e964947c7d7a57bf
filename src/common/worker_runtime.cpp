// run_worker(): the shared worker lifecycle (SPEC §5). Single-threaded: one loop that waits on
// the database socket (NOTIFY), a signal self-pipe and the next deadline.
#include "common/worker_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/migrate.h"
#include "common/partition_leases.h"
#include "socialai/version.h"

namespace socialai {

std::string WorkerContext::setting_or(const std::string& key, const std::string& fallback) const {
  auto v = setting(key);
  return v && !v->empty() ? *v : fallback;
}

namespace {

std::optional<std::int64_t> parse_int(const std::string& v) {
  try {
    std::size_t used = 0;
    const auto n = std::stoll(v, &used);
    if (used == v.size()) {
      return n;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::int64_t WorkerContext::setting_int(const std::string& key, std::int64_t fallback) const {
  const auto v = setting(key);
  if (!v || v->empty()) {
    return fallback;
  }
  if (const auto n = parse_int(*v)) {
    return *n;
  }
  // A bad settings row falls back to what the config file says, then to the built-in value.
  const auto file = file_setting(key);
  const auto from_file = file && *file != *v ? parse_int(*file) : std::nullopt;
  const std::int64_t used = from_file.value_or(fallback);
  if (warned_.insert(key + "=" + *v).second) {
    spdlog::warn("setting {}={} is not an integer; using {} (from {})", key, *v, used,
                 from_file ? "the config file" : "the built-in default");
  }
  return used;
}

bool WorkerContext::pause(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds(20)));
  }
  return !stopping();
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kChannel = "socialai_config";
constexpr std::size_t kMaxBufferedErrors = 10000;
constexpr milliseconds kMaxHeartbeatEvery{30000};
// The single lease of worker $1 (an exclusive worker not split into partitions).
constexpr const char* kLeaseKey =
    "hashtextextended('socialai.worker.' || current_schema() || '.' || $1, 0)";
constexpr milliseconds kLeaseRetry{500};  // lease attempts and partition balancing: takeover within ~1 s
constexpr std::chrono::hours kPruneEvery{1};
constexpr std::int64_t kPruneBatch = 10000;

std::atomic<bool> g_stop{false};
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
  const char b = 1;
  [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &b, 1);
}

void install_signal_handlers() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Sleeps up to d; false if a stop signal arrived.
bool interruptible_sleep(milliseconds d) {
  if (g_stop.load()) {
    return false;
  }
  pollfd p{g_signal_pipe[0], POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(d.count()));
  return !g_stop.load();
}

struct Flags {
  std::string config;
  bool once = false;
  std::string log_format;
  std::map<std::string, std::string> extra;
};

void print_usage(const std::string& name, const Worker& w) {
  std::cout << "Usage: socialai-worker-" << name << " [--config FILE] [--once] "
            << "[--log-format text|json] [--version] [--help]\n"
            << "  --config FILE      configuration (default: $SOCIALAI_CONFIG)\n"
            << "  --once             one cycle; exit 0 if it succeeded, 1 if it or all its items failed\n"
            << "  --log-format FMT   text (default) or json lines\n"
            << w.extra_usage();
}

std::string name_from_binary(const char* argv0, std::string_view fallback) {
  if (const char* env = std::getenv("WORKER_NAME"); env != nullptr && *env != '\0') {
    return env;
  }
  const std::string base = std::filesystem::path(argv0 ? argv0 : "").filename().string();
  constexpr std::string_view kPrefix = "socialai-worker-";
  if (base.rfind(kPrefix, 0) == 0 && base.size() > kPrefix.size()) {
    return base.substr(kPrefix.size());
  }
  return std::string(fallback);
}

class Runtime final : public WorkerContext {
 public:
  Runtime(std::string name, Config config, Worker& worker)
      : name_(std::move(name)),
        config_(std::move(config)),
        worker_(worker),
        db_(config_.database.url),
        host_(heartbeat_host()),
        pid_(static_cast<int>(::getpid())) {
    db_.set_application_name("socialai-worker-" + name_);
    if (const auto* wc = config_.find_worker(name_)) {
      file_settings_ = wc->settings;
      interval_ = wc->interval;
      history_days_ = wc->history_days;
    }
    settings_ = file_settings_;
  }

  // WorkerContext
  const std::string& name() const override { return name_; }
  const Config& config() const override { return config_; }
  Db& db() override { return db_; }
  std::optional<std::string> setting(const std::string& key) const override {
    const auto it = settings_.find(key);
    if (it == settings_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::optional<std::string> file_setting(const std::string& key) const override {
    const auto it = file_settings_.find(key);
    if (it == file_settings_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  bool stopping() const override { return g_stop.load(); }
  bool once() const override { return once_; }
  // Waits on the same things as the main loop (the signal pipe and NOTIFY), so a continuous
  // worker's cycle ends within `d` of a settings change and at once on SIGTERM.
  // A partitioned worker's leases are balanced here too (every kLeaseRetry): a cycle ends when
  // partitions were taken over or some are to be handed to another instance.
  bool pause(milliseconds d) override {
    if (g_stop.load()) {
      return false;
    }
    if (parts_) {
      const auto now = Clock::now();
      if (now >= next_balance_) {
        next_balance_ = now + kLeaseRetry;
        const bool took = parts_->balance(false);
        if (parts_->over_aim()) {
          next_balance_ = now;  // release right after this cycle
          return false;
        }
        if (took) {
          log_partitions();
          return false;  // the next cycle works on them too
        }
      }
      d = std::min(d, std::chrono::duration_cast<milliseconds>(next_balance_ - now));
    }
    if (Clock::now() >= next_heartbeat_) {
      heartbeat();  // a long continuous cycle still beats
    }
    if (!db_.wait_for_notification(d, g_signal_pipe[0]).empty()) {
      need_reload_ = true;
      return false;
    }
    return !g_stop.load();
  }
  void item_ok(std::int64_t n) override { items_ok_ += n; }
  std::vector<std::string> held_partitions() const override {
    return parts_ ? parts_->held() : std::vector<std::string>{};
  }
  void set_note(const std::string& note) override {
    if (note != this->note()) {
      WorkerContext::set_note(note);
      next_heartbeat_ = Clock::now();  // publish at once
    }
  }
  void item_failed(const std::string& item_ref, const std::string& error) override {
    ++items_failed_;
    spdlog::warn("item {} failed: {}", item_ref, error);
    if (errors_.size() < kMaxBufferedErrors) {
      errors_.emplace_back(item_ref, error);
    }
  }

  // Connects (and migrates once). False if stopped or, with limited attempts, gave up.
  bool ensure_connected(unsigned max_attempts) {
    if (db_.connected()) {
      return true;
    }
    if (config_.database.url.empty()) {
      spdlog::error("database.url is empty in {}; set DATABASE_URL", config_.file);
    }
    if (!db_.connect(interruptible_sleep, max_attempts)) {
      return false;
    }
    if (config_.database.migrate_on_start && !migrated_) {
      apply_migrations(db_.conn(), embedded_migrations());
      migrated_ = true;
    }
    if (!listening_) {
      db_.listen(kChannel);
      listening_ = true;
    }
    return true;
  }

  // Reads the flag and the settings; reports whether the worker is enabled.
  void reload() {
    bool enabled = true;
    std::map<std::string, std::string> merged = file_settings_;
    db_.with_transaction([&](pqxx::work& tx) {
      const auto flag = db_.exec(tx, "SELECT enabled FROM feature_flags WHERE flag_name = $1",
                                 name_ + "_enabled");
      if (!flag.empty()) {
        enabled = flag[0][0].as<bool>();
      }
      const std::string prefix = name_ + "_";
      for (const auto& row :
           db_.exec(tx, "SELECT key, value FROM settings WHERE left(key, $2) = $1", prefix,
                    static_cast<int>(prefix.size()))) {
        merged[row[0].as<std::string>().substr(prefix.size())] = row[1].as<std::string>();
      }
    });
    for (const auto& [key, value] : merged) {
      if (!file_settings_.count(key) && !is_known_setting(name_, key) &&
          unknown_warned_.insert(key).second) {
        spdlog::warn("settings row {}_{} names no setting of worker {}; it is ignored (typo?)",
                     name_, key, name_);
      }
    }
    if (merged != settings_) {
      if (loaded_) {
        spdlog::info("settings changed; re-validating");
      }
      settings_ = std::move(merged);
      validated_ = false;
      layout_known_ = false;  // the partitions may follow the settings
      if (setting("interval_ms")) {
        interval_ = milliseconds(setting_int("interval_ms", interval_.count()));
      }
    }
    if (enabled != enabled_ || !loaded_) {
      if (enabled) {
        spdlog::info("enabled (flag {}_enabled)", name_);
      } else {
        spdlog::info("disabled by flag {}_enabled; idling", name_);
      }
      if (enabled && !enabled_) {
        next_cycle_ = Clock::now();
      }
      enabled_ = enabled;
      state_ = enabled ? "running" : "disabled";
      next_heartbeat_ = Clock::now();  // publish the new state at once
    }
    loaded_ = true;
  }

  void heartbeat() {
    const std::optional<std::string> note =
        this->note().empty() ? std::nullopt : std::optional<std::string>(this->note());
    const std::optional<std::string> partitions =
        parts_ && !parts_->held().empty() ? std::optional<std::string>(parts_->held_text())
                                          : std::nullopt;
    db_.with_transaction([&](pqxx::work& tx) {
      db_.exec(tx,
               "INSERT INTO worker_heartbeats (worker, host, pid, state, note, partitions, "
               "beat_at) VALUES ($1, $2, $3, $4, $5, $6, now()) "
               "ON CONFLICT (worker, host, pid) DO UPDATE SET state = EXCLUDED.state, "
               "note = EXCLUDED.note, partitions = EXCLUDED.partitions, beat_at = now()",
               name_, host_, pid_, state_, note, partitions);
      if (!pruned_) {
        // Rows of earlier processes of this worker on this host (a live one beats at least
        // every 30 s, so an hour-old row is a dead process's).
        db_.exec(tx,
                 "DELETE FROM worker_heartbeats WHERE worker = $1 AND host = $2 AND pid <> $3 "
                 "AND beat_at < now() - interval '1 hour'",
                 name_, host_, pid_);
        pruned_ = true;
      }
    });
    next_heartbeat_ = Clock::now() + heartbeat_every();
  }

  // SPEC §8: an exclusive worker works only while it holds its advisory lock. The lock is
  // session-level on the worker's connection, so it dies with the process or the connection,
  // and it is keyed by the schema too, so separate deployments (or test schemas) in one
  // database do not exclude each other. Returns true while this instance is the active one.
  bool hold_lease() {
    if (parts_) {
      return hold_partitions();
    }
    if (!worker_.exclusive() || lease_held_) {
      return true;
    }
    bool got = false;
    db_.with_transaction([&](pqxx::work& tx) {
      const std::string sql = std::string("SELECT pg_try_advisory_lock(") + kLeaseKey + ")";
      got = db_.exec(tx, sql, name_)[0][0].as<bool>();
    });
    if (got) {
      lease_held_ = true;
      spdlog::info("holding the {} lease; active", name_);
      if (state_ == "standby") {
        state_ = enabled_ ? "running" : "disabled";
        next_cycle_ = Clock::now();
      }
      next_heartbeat_ = Clock::now();
      return true;
    }
    if (state_ != "standby") {
      spdlog::info("another instance holds the {} lease; standing by", name_);
      state_ = "standby";
      next_heartbeat_ = Clock::now();
    }
    return false;
  }

  // A partitioned worker (Worker::partitions): balances its partition leases between cycles
  // (every kLeaseRetry) and is active while it holds at least one.
  bool hold_partitions() {
    const auto now = Clock::now();
    bool changed = false;
    if (now >= next_balance_) {
      next_balance_ = now + kLeaseRetry;
      changed = parts_->balance(true);
      if (changed) {
        log_partitions();
      }
    }
    const bool active = !parts_->held().empty();
    if (!active && state_ != "standby") {
      spdlog::info("every {} partition is held by another instance; standing by", name_);
      state_ = "standby";
      changed = true;
    } else if (active && state_ == "standby") {
      state_ = "running";
      next_cycle_ = now;
      changed = true;
    }
    if (changed) {
      heartbeat();  // before the cycle: operators see the partitions at once
    }
    return active;
  }

  void log_partitions() const {
    spdlog::info("{}: holding {} of {} partitions ({} instance(s)){}{}", name_,
                 parts_->held().size(), parts_->partitions().size(), parts_->members(),
                 parts_->held().empty() ? "" : ": ", parts_->held_text());
  }

  // The worker's settings are validated before its first cycle (and again after a reload).
  void validate_once() {
    if (!validated_) {
      worker_.validate(*this);
      validated_ = true;
    }
  }

  // An exclusive worker's partitions (or its one lease) follow its validated settings, so
  // validate runs here, before the lease is taken; a failure is recorded like a failed cycle
  // and retried after the interval. Returns true once the layout is known.
  bool prepare_layout() {
    if (layout_known_) {
      return true;
    }
    const auto t0 = Clock::now();
    try {
      validate_once();
      std::vector<std::string> parts = worker_.partitions(*this);
      if (parts.empty()) {
        if (parts_) {
          parts_->leave();
          parts_.reset();
        }
      } else {
        if (lease_held_) {  // it was one lease until now
          db_.with_transaction([&](pqxx::work& tx) {
            db_.exec(tx, std::string("SELECT pg_advisory_unlock(") + kLeaseKey + ")", name_);
          });
          lease_held_ = false;
        }
        if (!parts_) {
          parts_.emplace(db_, name_);
        }
        parts_->set_partitions(std::move(parts));
        next_balance_ = Clock::now();
      }
      layout_known_ = true;
      return true;
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      db_.with_transaction([&](pqxx::work& tx) {
        db_.exec(tx,
                 "INSERT INTO worker_runs (worker, host, pid, finished_at, items_ok, "
                 "items_failed, error) VALUES ($1, $2, $3, now(), 0, 0, $4)",
                 name_, host_, pid_, std::string(e.what()));
      });
      spdlog::error("cycle failed after {:.0f} ms: {} (items ok=0 failed=0)", ms, e.what());
      if (parts_) {
        parts_->leave();  // back when it validates: the others take the partitions meanwhile
      }
      if (state_ == "starting") {
        state_ = "running";
      }
      heartbeat();
      return false;
    }
  }

  // worker_runs and worker_errors keep history_days of this worker's rows: a continuous worker
  // records a run every few seconds (8,640 a day at tail_ms 10 s). At most hourly, in bounded
  // batches, so a first prune of a long history never holds a long transaction.
  void prune_history() {
    const auto now = Clock::now();
    if (now < next_prune_) {
      return;
    }
    next_prune_ = now + kPruneEvery;
    std::int64_t runs = 0, errors = 0;
    for (std::int64_t n = kPruneBatch; n == kPruneBatch && !g_stop.load();) {
      n = db_.with_transaction([&](pqxx::work& tx) {
        const auto r = db_.exec(tx,
                                "DELETE FROM worker_runs WHERE id IN (SELECT id FROM worker_runs "
                                "WHERE worker = $1 AND started_at < now() - make_interval(days => $2) "
                                "LIMIT $3)",
                                name_, history_days_, kPruneBatch);
        const auto e = db_.exec(tx,
                                "DELETE FROM worker_errors WHERE id IN (SELECT id FROM worker_errors "
                                "WHERE worker = $1 AND created_at < now() - make_interval(days => $2) "
                                "LIMIT $3)",
                                name_, history_days_, kPruneBatch);
        runs += r.affected_rows();
        errors += e.affected_rows();
        return std::max<std::int64_t>(r.affected_rows(), e.affected_rows());
      });
    }
    if (runs + errors > 0) {
      spdlog::info("pruned {} worker_runs and {} worker_errors rows older than {} days", runs,
                   errors, history_days_);
    }
  }

  // Runs and records one cycle. Returns true if it succeeded: no error, and not every item
  // failed.
  bool run_cycle() {
    items_ok_ = 0;
    items_failed_ = 0;
    errors_.clear();
    const auto run_id = db_.with_transaction([&](pqxx::work& tx) {
      return db_.exec(tx,
                      "INSERT INTO worker_runs (worker, host, pid) VALUES ($1, $2, $3) "
                      "RETURNING id",
                      name_, host_, pid_)[0][0]
          .as<std::int64_t>();
    });
    const DbStats before = db_.stats();
    const auto t0 = Clock::now();
    std::optional<std::string> error;
    try {
      validate_once();
      worker_.run_cycle(*this);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const StopRequested& e) {
      spdlog::info("cycle interrupted by the stop: {}", e.what());
    } catch (const std::exception& e) {
      error = e.what();
    }
    const DbStats after = db_.stats();
    const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    db_.with_transaction([&](pqxx::work& tx) {
      db_.exec(tx,
               "UPDATE worker_runs SET finished_at = now(), items_ok = $2, items_failed = $3, "
               "db_queries = $4, db_ms = $5, error = $6 WHERE id = $1",
               run_id, items_ok_, items_failed_, after.queries - before.queries,
               after.ms - before.ms, error);
      for (const auto& [ref, err] : errors_) {
        db_.exec(tx, "INSERT INTO worker_errors (worker, item_ref, error) VALUES ($1, $2, $3)",
                 name_, ref, err);
      }
    });
    errors_.clear();
    // Every item failing is a failed cycle too (the manager counts it so: db_poller.cpp).
    const bool all_failed = items_ok_ == 0 && items_failed_ > 0;
    if (error) {
      spdlog::error("cycle failed after {:.0f} ms: {} (items ok={} failed={})", ms, *error,
                    items_ok_, items_failed_);
    } else if (all_failed) {
      spdlog::error("cycle failed after {:.0f} ms: every item failed (items ok=0 failed={})", ms,
                    items_failed_);
    } else if (items_ok_ + items_failed_ > 0) {
      spdlog::info("cycle done in {:.0f} ms: items ok={} failed={}", ms, items_ok_,
                   items_failed_);
    } else {
      spdlog::debug("cycle done in {:.0f} ms: nothing to do", ms);
    }
    state_ = "running";
    heartbeat();
    return !error && !all_failed;
  }

  int run_loop(bool once) {
    once_ = once;
    next_cycle_ = Clock::now();
    next_heartbeat_ = Clock::now();
    while (!g_stop.load()) {
      if (!ensure_connected(once ? 5 : 0)) {
        return g_stop.load() ? 0 : 1;
      }
      try {
        const auto now = Clock::now();
        if (need_reload_ || now >= next_cycle_) {
          reload();  // also the polling fallback: once per interval at least
          need_reload_ = false;
        }
        bool active = true;
        if (enabled_ && worker_.exclusive()) {
          if (!layout_known_ && now >= next_cycle_ && !prepare_layout()) {
            if (once) {
              return 1;
            }
            next_cycle_ = Clock::now() + interval_;
          }
          active = layout_known_ && hold_lease();
        }
        if (!enabled_) {
          if (parts_ && !parts_->held().empty()) {
            spdlog::info("{} disabled: releasing partitions {}", name_, parts_->held_text());
          }
          if (parts_) {
            parts_->leave();
            layout_known_ = false;
          }
          if (once) {
            return 0;
          }
          if (now >= next_cycle_) {
            next_cycle_ = now + interval_;
          }
        } else if (!active) {
          next_lease_try_ = Clock::now() + kLeaseRetry;
          if (now >= next_cycle_) {  // a standby re-reads its settings once per interval
            next_cycle_ = now + interval_;
          }
        } else if (Clock::now() >= next_cycle_) {
          const bool ok = run_cycle();
          prune_history();
          // A continuous worker paces itself inside its cycles; a failed cycle still waits.
          next_cycle_ = Clock::now() + (ok && worker_.continuous() ? milliseconds(0) : interval_);
          if (once) {
            return ok ? 0 : 1;
          }
        }
        if (Clock::now() >= next_heartbeat_) {
          heartbeat();
        }
        auto deadline = std::min(next_cycle_, next_heartbeat_);
        if (state_ == "standby") {
          deadline = std::min(deadline, next_lease_try_);
        }
        if (parts_) {
          deadline = std::min(deadline, next_balance_);
        }
        const auto wait = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        const auto notes =
            db_.wait_for_notification(std::max(wait, milliseconds(0)), g_signal_pipe[0]);
        if (!notes.empty()) {
          need_reload_ = true;
        }
      } catch (const pqxx::broken_connection& e) {
        spdlog::warn("database connection lost ({}); reconnecting", e.what());
        db_.disconnect();
        need_reload_ = true;
        if (lease_held_) {
          lease_held_ = false;  // the lock died with the session; take it again (or stand by)
          spdlog::warn("the {} lease was lost with the connection", name_);
        }
        if (parts_ && !parts_->held().empty()) {
          spdlog::warn("the {} partitions {} were lost with the connection", name_,
                       parts_->held_text());
        }
        if (parts_) {
          parts_->lost();
        }
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        if (once) {
          return 1;
        }
        interruptible_sleep(std::min<milliseconds>(interval_, milliseconds(5000)));
      }
    }
    spdlog::info("stopping");
    try {
      if (db_.connected()) {
        state_ = "stopped";
        heartbeat();
      }
    } catch (const std::exception& e) {
      spdlog::warn("final heartbeat failed: {}", e.what());
    }
    db_.disconnect();
    return 0;
  }

 private:
  milliseconds heartbeat_every() const {
    return std::clamp<milliseconds>(interval_, milliseconds(1000), kMaxHeartbeatEvery);
  }

  std::string name_;
  Config config_;
  Worker& worker_;
  Db db_;
  std::string host_;
  int pid_;
  std::map<std::string, std::string> file_settings_, settings_;
  std::set<std::string> unknown_warned_;
  milliseconds interval_{60000};
  int history_days_ = 14;
  Clock::time_point next_prune_;
  bool migrated_ = false, listening_ = false, loaded_ = false, enabled_ = false;
  bool validated_ = false, need_reload_ = true, pruned_ = false, lease_held_ = false;
  bool once_ = false, layout_known_ = false;
  std::optional<PartitionLeases> parts_;  // set for a worker with partitions
  Clock::time_point next_lease_try_, next_balance_;
  std::string state_ = "starting";
  Clock::time_point next_cycle_, next_heartbeat_;
  std::int64_t items_ok_ = 0, items_failed_ = 0;
  std::vector<std::pair<std::string, std::string>> errors_;
};

}  // namespace

int run_worker(int argc, char** argv, const WorkerFactory& factory,
               std::string_view default_name) {
  std::unique_ptr<Worker> worker = factory();
  const std::string name = name_from_binary(argc > 0 ? argv[0] : nullptr, default_name);
  Flags flags;
  const auto extra = worker->extra_flags();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      print_usage(name, *worker);
      return 0;
    } else if (a == "--version") {
      std::cout << "socialai-worker-" << name << " " << SOCIALAI_VERSION << "\n";
      return 0;
    } else if (a == "--once") {
      flags.once = true;
    } else if (a == "--config") {
      if (!value(&flags.config)) {
        return 2;
      }
    } else if (a == "--log-format") {
      if (!value(&flags.log_format)) {
        return 2;
      }
    } else if (a.rfind("--", 0) == 0 &&
               std::find(extra.begin(), extra.end(), a.substr(2)) != extra.end()) {
      if (!value(&flags.extra[a.substr(2)])) {
        return 2;
      }
    } else {
      std::cerr << "unknown argument: " << a << " (see --help)\n";
      return 2;
    }
  }
  if (flags.config.empty()) {
    if (const char* env = std::getenv("SOCIALAI_CONFIG")) {
      flags.config = env;
    }
  }
  if (flags.config.empty()) {
    std::cerr << "no configuration: pass --config FILE or set SOCIALAI_CONFIG\n";
    return kExitConfig;
  }
  Config config;
  try {
    config = load_config(flags.config, name);
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration: " << e.what() << "\n";
    return kExitConfig;
  }
  LogFormat format = LogFormat::kText;
  if (!parse_log_format(flags.log_format.empty() ? config.log.format : flags.log_format,
                        &format)) {
    std::cerr << "--log-format must be text or json\n";
    return 2;
  }
  // The worker's log goes to stdout; developer commands (--query …) keep stdout for results.
  init_logging(name, format, /*to_stdout=*/flags.extra.empty());
  install_signal_handlers();

  Runtime rt(name, std::move(config), *worker);
  try {
    if (!flags.extra.empty()) {
      spdlog::set_level(spdlog::level::warn);  // a developer command: only its own output
      if (!rt.ensure_connected(5)) {
        return 1;
      }
      rt.reload();
      return worker->run_command(rt, flags.extra);
    }
    spdlog::info("socialai-worker-{} {} starting (pid {})", name, SOCIALAI_VERSION, ::getpid());
    return rt.run_loop(flags.once);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}

}  // namespace socialai
