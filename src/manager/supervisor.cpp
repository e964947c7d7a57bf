// Supervisor: slots, spawn/exit/backoff handling, graceful stop, reload by difference.
#include "manager/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "common/redact.h"
#include "manager/child_process.h"
#include "manager/healdec.h"
#include "manager/orphan_guard.h"

extern char** environ;

namespace socialai::manager {
namespace {

// Variables every worker inherits: the process basics, locale, libpq's PG* (every worker
// connects to the database), TLS trust and proxies, and systemd's per-service directories and
// journal stream. Everything else (API keys, the admin token, another worker's URLs) reaches a
// worker only if its section references it as ${VAR} or lists it in env_passthrough. The
// notify socket and socket-activation variables are the manager's alone (a worker writing
// READY=1 to it would confuse systemd), so they are not here.
bool is_common_env(const std::string& key) {
  static const std::set<std::string> kExact = {
      "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
      "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "http_proxy", "https_proxy", "no_proxy",
      "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "JOURNAL_STREAM",
      "INVOCATION_ID", "STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CACHE_DIRECTORY",
      "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY"};
  return kExact.count(key) > 0 || key.rfind("LC_", 0) == 0 || key.rfind("PG", 0) == 0;
}

}  // namespace
}  // namespace socialai::manager

namespace socialai::manager {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// This child's own heartbeat row, if it wrote one (rows of other processes are ignored: a
// restarted child is judged by its process until its first heartbeat).
const Heartbeat* own_heartbeat(const DbWorkerInfo& db, int pid) {
  for (const auto& h : db.heartbeats) {
    if (h.pid == pid) {
      return &h;
    }
  }
  return nullptr;
}
constexpr auto kSampleEvery = std::chrono::seconds(2);
// Every fifth sample (10 s) also looks for descendants adopted while their worker lives (a
// daemon's double fork): that sweep lists /proc, whose cost grows with the host's processes.
// A worker's exit is followed by a sweep of its own (kSweepAfterExit).
constexpr int kAdoptionSweepEvery = 5;
constexpr auto kSweepAfterExit = std::chrono::milliseconds(100);
constexpr int kMemoryStrikes = 2;  // consecutive samples above max_memory_mb before a restart
}  // namespace

struct Supervisor::Slot {
  Slot(asio::io_context& ioc, WorkerConfig c)
      : cfg(std::move(c)), healdec(cfg.healdec, cfg.enabled), timer(ioc) {}

  WorkerConfig cfg;
  Healdec healdec;
  asio::steady_timer timer;  // restart delay, or SIGKILL deadline while stopping
  std::shared_ptr<ChildProcess> child;
  TimePoint started_at{};
  std::optional<ExitStatus> last_exit;
  std::string error;  // why it could not be started
  std::vector<std::function<void()>> on_reaped;  // waiting for the current child to go
  std::optional<std::pair<double, std::uint64_t>> usage;
  int memory_strikes = 0;
  DbWorkerInfo db;
};

// The children's pipes are read, split into lines and formatted on threads of their own (two
// when there are two cores), each with its own io_context and children assigned in turn: a
// flood of logs from many children then uses both cores (one thread was the limit), the
// threads never hand work to each other, and the supervisor's loop (timers, API, restarts)
// does none of the reading (its own messages still queue for the same output).
class LogReaders {
 public:
  LogReaders() {
    const unsigned n = std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < n; ++i) {
      loops_.push_back(std::make_unique<Loop>());
    }
    for (auto& l : loops_) {
      l->thread = std::thread([ctx = &l->ctx] { ctx->run(); });
    }
  }
  // Ends when every pipe reached EOF. REQUIRES: the children were killed or have exited.
  ~LogReaders() {
    for (auto& l : loops_) {
      l->work.reset();
    }
    for (auto& l : loops_) {
      l->thread.join();
    }
  }
  // The loop for the next child's pipes. Supervisor thread only.
  asio::io_context& next() { return loops_[next_++ % loops_.size()]->ctx; }

 private:
  struct Loop {
    asio::io_context ctx{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
        asio::make_work_guard(ctx)};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::size_t next_ = 0;
};

struct Supervisor::Impl {
  Impl(asio::io_context& c, Config cfg, LogRouter& l, std::string dir)
      : ioc(c), config(std::move(cfg)), log(l), self_dir(std::move(dir)), sample_timer(c) {}
  // The reader threads end at the pipes' EOF: kill what still runs first.
  ~Impl() {
    for (auto& [name, s] : slots) {
      if (s->child) {
        s->child->kill_group(SIGKILL);
      }
    }
  }

  asio::io_context& ioc;
  Config config;
  LogRouter& log;
  std::string self_dir;
  std::map<std::string, std::shared_ptr<Slot>> slots;
  std::vector<std::string> order;  // configuration order, for status
  asio::steady_timer sample_timer;
  int samples = 0;
  asio::steady_timer sweep_timer{ioc};
  bool shutting_down = false;
  // Destroyed before the slots: joins the reader threads once the pipes reached EOF.
  LogReaders readers;
  // What the status poller last said about PostgreSQL: nullopt before its first answer.
  std::optional<bool> database_up;
  std::string database_error;

  std::vector<std::string> child_env(const Slot& s) const {
    std::set<std::string> wanted(config.common_env_refs.begin(), config.common_env_refs.end());
    wanted.insert(s.cfg.env_refs.begin(), s.cfg.env_refs.end());
    wanted.insert(s.cfg.env_passthrough.begin(), s.cfg.env_passthrough.end());
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) {
        std::string key = kv.substr(0, eq);
        if (is_common_env(key) || wanted.count(key) > 0) {
          env[std::move(key)] = kv.substr(eq + 1);
        }
      }
    }
    env["WORKER_NAME"] = s.cfg.name;
    if (!config.file.empty()) {
      env["SOCIALAI_CONFIG"] = std::filesystem::absolute(config.file).string();
    }
    for (const auto& [k, v] : s.cfg.env) {
      env[k] = v;
    }
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [k, v] : env) {
      out.push_back(k + "=" + v);
    }
    return out;
  }

  void spawn(const std::shared_ptr<Slot>& s) {
    if (shutting_down) {
      return;
    }
    const auto exe = resolve_executable(s->cfg.path, self_dir);
    if (!exe) {
      s->error = "executable not found: " + s->cfg.path;
      spdlog::error("{}: {} (looked beside the manager and in PATH); left in state fatal",
                    s->cfg.name, s->error);
      // Retrying cannot help until someone installs it: straight to fatal, operator restarts.
      s->healdec.on_unstartable();
      return;
    }
    SpawnSpec spec{*exe, s->cfg.args, child_env(*s), s->cfg.max_open_files, s->cfg.nice};
    std::weak_ptr<Slot> weak = s;
    const std::string name = s->cfg.name;
    LogRouter* router = &log;
    // Each stream's unfinished line between reads; a new child starts with none.
    auto splitters = std::make_shared<std::array<LineSplitter, 2>>();
    try {
      auto child = ChildProcess::spawn(
          ioc, spec,
          [router, name, splitters](Stream st, std::string_view bytes) {
            router->write_output(name, st, (*splitters)[st == Stream::kStderr ? 1 : 0], bytes);
          },
          [this, weak](ExitStatus st) {
            if (auto slot = weak.lock()) {
              on_exit(slot, st);
            }
          },
          &readers.next());
      s->child = std::move(child);
      s->error.clear();
      s->started_at = Clock::now();
      s->memory_strikes = 0;
      s->usage.reset();
      s->healdec.on_spawned(s->started_at);
      spdlog::info("{}: started (pid {})", name, s->child->pid());
    } catch (const std::exception& e) {
      s->error = e.what();
      spdlog::error("{}: cannot start {}: {}", name, *exe, e.what());
      apply(s, s->healdec.on_exit(Clock::now(), true));
    }
  }

  void apply(const std::shared_ptr<Slot>& s, HealdecAction a) {
    switch (a.kind) {
      case HealdecAction::kNone:
        break;
      case HealdecAction::kSpawnNow:
        spawn(s);
        break;
      case HealdecAction::kSpawnAfter: {
        spdlog::info("{}: restart {} of {} in {} ms", s->cfg.name, s->healdec.restart_count(),
                     s->cfg.healdec.max_restarts, a.delay.count());
        s->timer.expires_after(a.delay);
        std::weak_ptr<Slot> weak = s;
        s->timer.async_wait([this, weak](const boost::system::error_code& ec) {
          auto slot = weak.lock();
          if (ec || !slot) {
            return;
          }
          apply(slot, slot->healdec.on_delay_elapsed());
        });
        break;
      }
      case HealdecAction::kGiveUp:
        spdlog::error("{}: failed {} times in a row; giving up (state fatal) until an operator "
                      "starts it",
                      s->cfg.name, s->cfg.healdec.max_restarts + 1);
        break;
    }
  }

  void on_exit(const std::shared_ptr<Slot>& s, ExitStatus st) {
    s->child.reset();
    // The group was just SIGKILLed; its members, adopted by us (subreaper), are reaped once
    // they are gone. Soon, but after the restart below: never on the restart's path.
    sweep_timer.expires_after(kSweepAfterExit);
    sweep_timer.async_wait([](const boost::system::error_code& ec) {
      if (!ec) {
        OrphanGuard::reap_adopted();
      }
    });
    s->timer.cancel();
    s->last_exit = st;
    s->usage.reset();
    const bool failed = st.failed();
    if (failed) {
      spdlog::warn("{}: {}", s->cfg.name, st.describe());
    } else {
      spdlog::info("{}: {}", s->cfg.name, st.describe());
    }
    apply(s, s->healdec.on_exit(Clock::now(), failed));
    auto waiters = std::move(s->on_reaped);
    s->on_reaped.clear();
    for (auto& fn : waiters) {
      fn();
    }
  }

  // SIGTERM the group, SIGKILL after the timeout; `then` runs once no child remains.
  void stop(const std::shared_ptr<Slot>& s, std::function<void()> then) {
    const bool signal_it = s->healdec.on_stop_requested();
    s->timer.cancel();
    if (!s->child || !signal_it) {
      if (then) {
        then();
      }
      return;
    }
    if (then) {
      s->on_reaped.push_back(std::move(then));
    }
    terminate(s);
  }

  // Graceful kill of the current child, escalating to SIGKILL after stop_timeout.
  void terminate(const std::shared_ptr<Slot>& s) {
    s->child->kill_group(SIGTERM);
    s->timer.expires_after(s->cfg.healdec.stop_timeout);
    std::weak_ptr<Slot> weak = s;
    std::weak_ptr<ChildProcess> weak_child = s->child;
    s->timer.async_wait([weak, weak_child](const boost::system::error_code& ec) {
      auto slot = weak.lock();
      auto child = weak_child.lock();
      if (ec || !slot || !child || slot->child != child) {
        return;
      }
      spdlog::warn("{}: did not stop within {} ms; sending SIGKILL", slot->cfg.name,
                   slot->cfg.healdec.stop_timeout.count());
      child->kill_group(SIGKILL);
    });
  }

  void unhealthy(const std::shared_ptr<Slot>& s, const std::string& why) {
    if (!s->child || s->healdec.unhealthy_kill_pending() ||
        s->healdec.state() != WorkerState::kRunning) {
      return;
    }
    spdlog::warn("{}: unhealthy ({}); restarting", s->cfg.name, why);
    s->healdec.on_unhealthy();
    terminate(s);
  }

  void add(const WorkerConfig& w) {
    auto s = std::make_shared<Slot>(ioc, w);
    slots[w.name] = s;
    if (w.enabled) {
      spawn(s);
    }
  }

  void sample() {
    for (auto& [name, s] : slots) {
      if (!s->child) {
        continue;
      }
      s->usage = s->child->sample_usage();
      if (s->usage && s->cfg.max_memory_mb) {
        const auto limit = static_cast<std::uint64_t>(*s->cfg.max_memory_mb) * 1024 * 1024;
        s->memory_strikes = s->usage->second > limit ? s->memory_strikes + 1 : 0;
        if (s->memory_strikes >= kMemoryStrikes) {
          unhealthy(s, "resident memory " + std::to_string(s->usage->second >> 20) +
                           " MiB above max_memory_mb " + std::to_string(*s->cfg.max_memory_mb));
        }
      }
    }
    if (++samples % kAdoptionSweepEvery == 0) {
      OrphanGuard::reap_adopted();
    }
    sample_timer.expires_after(kSampleEvery);
    sample_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !shutting_down) {
        sample();
      }
    });
  }
};

void check_supported(const Config& config) {
  for (const auto& w : config.workers) {
    for (const auto& [key, value] : {std::pair{"cpu_max", &w.cpu_max}, {"memory_max", &w.memory_max}}) {
      if (value->has_value()) {
        throw ConfigError(config.file, "workers." + w.name + "." + key,
                          "cgroup v2 limits are not applied by this manager version; remove "
                          "the key and limit the whole service instead (systemd drop-in: "
                          "CPUQuota= / MemoryMax=), or use max_memory_mb (RSS restart)");
      }
    }
  }
}

Supervisor::Supervisor(asio::io_context& ioc, Config config, LogRouter& log,
                       std::string self_dir)
    : impl_(std::make_unique<Impl>(ioc, std::move(config), log, std::move(self_dir))) {}

Supervisor::~Supervisor() = default;

void Supervisor::start_all() {
  for (const auto& w : impl_->config.workers) {
    impl_->order.push_back(w.name);
    impl_->add(w);
  }
  impl_->sample();
}

void Supervisor::apply_config(Config config) {
  Impl& m = *impl_;
  std::vector<std::string> order;
  for (const auto& w : config.workers) {
    order.push_back(w.name);
    const auto it = m.slots.find(w.name);
    if (it == m.slots.end()) {
      spdlog::info("reload: adding worker {}", w.name);
      m.add(w);
    } else if (!(it->second->cfg == w)) {
      spdlog::info("reload: worker {} changed; restarting it", w.name);
      auto old = it->second;
      m.slots.erase(it);
      auto fresh = std::make_shared<Slot>(m.ioc, w);
      m.slots[w.name] = fresh;
      // The callback owns `old` until its child is reaped.
      m.stop(old, [this, fresh, old] {
        if (fresh->cfg.enabled && impl_->slots.count(fresh->cfg.name) &&
            impl_->slots[fresh->cfg.name] == fresh) {
          impl_->spawn(fresh);
        }
      });
    }
  }
  for (auto it = m.slots.begin(); it != m.slots.end();) {
    const bool keep = std::any_of(config.workers.begin(), config.workers.end(),
                                  [&](const WorkerConfig& w) { return w.name == it->first; });
    if (keep) {
      ++it;
      continue;
    }
    spdlog::info("reload: removing worker {}", it->first);
    auto old = it->second;
    it = m.slots.erase(it);
    m.stop(old, [old] {});  // `old` lives until its child is reaped
  }
  m.order = std::move(order);
  m.config = std::move(config);
}

void Supervisor::stop_all(std::function<void()> done) {
  Impl& m = *impl_;
  m.shutting_down = true;
  m.sample_timer.cancel();
  auto remaining = std::make_shared<std::size_t>(m.slots.size() + 1);
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  auto one_done = [remaining, finish] {
    if (--*remaining == 0 && *finish) {
      (*finish)();
    }
  };
  for (auto& [name, s] : m.slots) {
    m.stop(s, one_done);
  }
  one_done();
}

bool Supervisor::control(const std::string& name, Control action) {
  Impl& m = *impl_;
  const auto it = m.slots.find(name);
  if (it == m.slots.end()) {
    return false;
  }
  auto s = it->second;
  switch (action) {
    case Control::kStop:
      spdlog::info("{}: stop requested", name);
      m.stop(s, nullptr);
      break;
    case Control::kStart:
      spdlog::info("{}: start requested", name);
      m.apply(s, s->healdec.on_start_requested());
      break;
    case Control::kRestart:
      spdlog::info("{}: restart requested", name);
      m.stop(s, [this, s] { impl_->apply(s, s->healdec.on_start_requested()); });
      break;
  }
  return true;
}

void Supervisor::on_db_snapshot(DbSnapshot snapshot) {
  Impl& m = *impl_;
  m.database_up = snapshot.ok;
  m.database_error = snapshot.ok ? std::string() : redact_db_url(snapshot.error);
  if (!snapshot.ok) {
    return;  // keep the last known figures; the rows say the database is down
  }
  const auto now = Clock::now();
  for (auto& [name, s] : m.slots) {
    const auto it = snapshot.workers.find(name);
    s->db = it == snapshot.workers.end() ? DbWorkerInfo{} : it->second;
    const auto timeout = s->cfg.healdec.heartbeat_timeout;
    const Heartbeat* hb = s->child ? own_heartbeat(s->db, s->child->pid()) : nullptr;
    if (hb != nullptr && timeout.count() > 0 && hb->age_s > static_cast<double>(timeout.count()) &&
        now - s->started_at > timeout) {
      m.unhealthy(s, "heartbeat " + std::to_string(static_cast<long>(hb->age_s)) +
                         " s old, limit " + std::to_string(timeout.count()) + " s");
    }
  }
}

std::vector<WorkerStatus> Supervisor::status() const {
  const Impl& m = *impl_;
  std::vector<WorkerStatus> rows;
  const auto now = Clock::now();
  for (const auto& name : m.order) {
    const auto it = m.slots.find(name);
    if (it == m.slots.end()) {
      continue;
    }
    Slot& s = *it->second;
    s.healdec.tick(now);
    WorkerStatus r;
    r.name = name;
    r.state = std::string(to_string(s.healdec.state()));
    r.enabled = s.cfg.enabled && s.db.flag_enabled.value_or(true);
    if (s.child) {
      r.pid = s.child->pid();
      r.uptime_seconds = std::chrono::duration<double>(now - s.started_at).count();
    }
    r.restart_count = s.healdec.restart_count();
    r.total_restarts = s.healdec.total_restarts();
    r.last_run = s.db.last_run;
    r.last_success = s.db.last_success;
    // A failed cycle is a failed attempt too (a cycle that cannot reach its RPC has no items).
    const auto failed = s.db.items_failed_hour + s.db.failed_cycles_hour;
    const auto attempted = s.db.items_ok_hour + failed;
    if (attempted > 0) {
      r.error_rate = static_cast<double>(failed) / static_cast<double>(attempted);
    } else if (s.db.last_run) {
      r.error_rate = 0.0;
    }
    if (s.db.last_run) {
      r.items_per_minute = static_cast<double>(s.db.items_ok_10min) / 10.0;
    }
    const Heartbeat* hb = s.child ? own_heartbeat(s.db, s.child->pid()) : nullptr;
    if (hb != nullptr) {
      r.heartbeat_state = hb->state;
      r.note = hb->note;
      r.partitions = hb->partitions;
      // A running child that waits for another instance's lease (SPEC §8) shows as standby.
      if (hb->state == "standby" && s.healdec.state() == WorkerState::kRunning) {
        r.state = "standby";
      }
    }
    // A running child idle because its feature flag is off shows as disabled.
    const bool flag_off = hb != nullptr ? hb->state == "disabled" : s.db.flag_enabled == false;
    if (flag_off && s.healdec.state() == WorkerState::kRunning) {
      r.state = "disabled";
    }
    r.db = s.db;
    if (m.database_up) {
      r.database = *m.database_up ? "up" : "down";
      if (!*m.database_up) {
        r.database_error = m.database_error;
      }
    }
    const bool hb_fresh =
        hb == nullptr || s.cfg.healdec.heartbeat_timeout.count() == 0 ||
        hb->age_s <= static_cast<double>(s.cfg.healdec.heartbeat_timeout.count());
    // docs/healdec.md "Health": the table this follows.
    r.healthy = s.healdec.state() == WorkerState::kRunning && hb_fresh &&
                !s.healdec.unhealthy_kill_pending();
    const bool working = s.healdec.state() == WorkerState::kRunning && r.state == "running";
    const bool db_down = m.database_up && !*m.database_up;
    const int limit = s.cfg.healdec.failed_cycles_unhealthy;
    if (!s.error.empty()) {
      r.error = s.error;
    } else if (working && db_down) {
      r.healthy = false;  // a worker cannot record (or, mostly, do) anything without it
      r.error = "database unavailable: " + m.database_error;
    } else if (working && !hb_fresh) {
      r.error = "heartbeat " + std::to_string(static_cast<long>(hb->age_s)) + " s old";
    } else if (working && s.db.last_cycle_error) {
      r.error = redact_db_url(*s.db.last_cycle_error);
      if (limit > 0 && s.db.consecutive_failed_cycles >= limit) {
        r.healthy = false;
      }
    }
    if (s.last_exit) {
      r.last_exit = s.last_exit->describe();
    }
    if (s.usage) {
      r.cpu_seconds = s.usage->first;
      r.rss_bytes = s.usage->second;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> Supervisor::worker_names() const { return impl_->order; }

const Config& Supervisor::config() const { return impl_->config; }

}  // namespace socialai::manager
