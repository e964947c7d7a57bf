// socialai-manager: flags, configuration, event loop, signals; exit 0 / 1 / 78.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "common/config.h"
#include "common/db.h"
#include "common/redact.h"
#include "common/logging.h"
#include "common/migrate.h"
#include "manager/api_routes.h"
#include "manager/orphan_guard.h"
#include "manager/db_poller.h"
#include "manager/http_api.h"
#include "manager/log_router.h"
#include "manager/memory_trim.h"
#include "manager/supervisor.h"
#include "manager/systemd_notify.h"
#include "socialai/version.h"

namespace {

using namespace socialai;
using namespace socialai::manager;

// GnuTLS is mapped only as a dependency of libpq's libldap (TLS to PostgreSQL is OpenSSL's),
// yet its library constructor initializes it at load: system priorities, p11-kit's module
// list, ~340 KB of the idle manager's PSS for nothing. With GNUTLS_NO_IMPLICIT_INIT set it
// waits for gnutls_global_init(), which libldap calls itself if it ever needs TLS. The
// variable must be in the environment before the libraries load, hence one re-exec of the
// same executable with the same arguments at start. Set the variable (to anything) to skip.
void reexec_without_gnutls_init(char** argv) {
  if (std::getenv("GNUTLS_NO_IMPLICIT_INIT") != nullptr) {
    return;
  }
  void* gnutls = ::dlopen("libgnutls.so.30", RTLD_LAZY | RTLD_NOLOAD);
  if (gnutls == nullptr) {
    return;  // not mapped: nothing to save
  }
  ::dlclose(gnutls);
  ::setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
  ::execv("/proc/self/exe", argv);
  // No /proc, or not allowed: run on as we are.
}

// The manager's own messages join the aggregated log as worker "manager", so they can never
// interleave with children's lines.
class RouterSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RouterSink(LogRouter& r) : router_(r) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    router_.write_manager(std::string_view(level.data(), level.size()),
                          std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogRouter& router_;
};

void usage() {
  std::cout << "Usage: socialai-manager [--config FILE] [--check-config] [--migrate]\n"
               "                        [--log-format text|json] [--version] [--help]\n"
               "  --config FILE     configuration (default: $SOCIALAI_CONFIG)\n"
               "  --check-config    validate, print the resolved config (secrets redacted), exit\n"
               "  --migrate         apply database migrations and exit\n"
               "  --log-format FMT  aggregated log as text (default) or json lines\n"
               "Signals: SIGTERM/SIGINT stop everything; SIGHUP reloads the configuration.\n"
               "Exit status: 0 ok, 1 runtime failure, 2 usage, 78 invalid configuration.\n";
}

std::string self_dir() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

bool migrate_now(const Config& config, unsigned attempts) {
  if (config.database.url.empty()) {
    spdlog::error("database.url is empty; cannot migrate");
    return false;
  }
  Db db(config.database.url);
  if (!db.connect(nullptr, attempts)) {
    return false;
  }
  try {
    const auto applied = apply_migrations(db.conn(), embedded_migrations());
    spdlog::info("migrations: {} applied, database is current", applied.size());
    return true;
  } catch (const std::exception& e) {
    spdlog::error("migration failed: {}", e.what());
    return false;
  }
}

// --check-config: the `settings` rows that would be ignored (no such worker, or no such
// setting of it), as warnings on stderr. Best effort: an unreachable or unmigrated database
// is a note, and the exit status stays that of the file's check.
void report_settings_rows(const Config& config) {
  if (config.database.url.empty()) {
    return;
  }
  try {
    pqxx::connection c(with_connect_timeout(config.database.url, 3));
    pqxx::read_transaction tx(c);
    if (tx.exec("SELECT to_regclass('settings') IS NULL")[0][0].as<bool>()) {
      return;  // not migrated yet: no rows to check
    }
    for (const auto& row : tx.exec("SELECT key FROM settings ORDER BY key")) {
      const std::string key = row[0].as<std::string>();
      const WorkerConfig* owner = nullptr;  // the longest worker name that prefixes the key
      for (const auto& w : config.workers) {
        const std::string prefix = w.name + "_";
        if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
            (owner == nullptr || w.name.size() > owner->name.size())) {
          owner = &w;
        }
      }
      if (owner == nullptr) {
        std::cerr << "warning: settings row " << key << " names no configured worker; ignored\n";
        continue;
      }
      const std::string k = key.substr(owner->name.size() + 1);
      if (owner->settings.count(k) == 0 && !is_known_setting(owner->name, k)) {
        std::cerr << "warning: settings row " << key << " names no setting of worker "
                  << owner->name << "; it is ignored (typo?)\n";
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "note: settings rows not checked (" << redact_db_url(e.what()) << ")\n";
  }
}

// workers.<name>.log_file, by worker name.
std::map<std::string, std::string> worker_log_files(const Config& config) {
  std::map<std::string, std::string> files;
  for (const auto& w : config.workers) {
    if (w.log_file) {
      files[w.name] = *w.log_file;
    }
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_without_gnutls_init(argv);
  std::string config_path, log_format;
  bool check_only = false, migrate_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--version") {
      std::cout << "socialai-manager " << SOCIALAI_VERSION << "\n";
      return 0;
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--migrate") {
      migrate_only = true;
    } else if ((a == "--config" || a == "--log-format") && i + 1 < argc) {
      (a == "--config" ? config_path : log_format) = argv[++i];
    } else {
      std::cerr << "socialai-manager: unknown or incomplete argument: " << a << " (see --help)\n";
      return 2;
    }
  }
  if (config_path.empty()) {
    if (const char* env = std::getenv("SOCIALAI_CONFIG")) {
      config_path = env;
    }
  }
  if (config_path.empty()) {
    std::cerr << "socialai-manager: no configuration: pass --config FILE or set SOCIALAI_CONFIG\n";
    return kExitConfig;
  }
  Config config;
  try {
    config = load_config(config_path);
    check_supported(config);
  } catch (const ConfigError& e) {
    std::cerr << "socialai-manager: invalid configuration: " << e.what() << "\n";
    return kExitConfig;
  }
  if (check_only) {
    std::cout << redacted_config_json(config) << "\n";
    report_settings_rows(config);
    return 0;
  }
  if (!migrate_only) {
    OrphanGuard::start();  // before any thread: it forks
  }
  LogFormat format = LogFormat::kText;
  if (!parse_log_format(log_format.empty() ? config.log.format : log_format, &format)) {
    std::cerr << "socialai-manager: --log-format must be text or json\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  std::optional<LogFileOptions> file;
  if (config.log.file) {
    file = LogFileOptions{*config.log.file, config.log.max_bytes, config.log.max_files};
  }
  LogOutput output;
  output.timestamps = config.log.timestamps == "never"    ? LogOutput::Stamp::kNever
                      : config.log.timestamps == "always" ? LogOutput::Stamp::kAlways
                                                          : LogOutput::Stamp::kAuto;
  output.stderr_tag = config.log.stderr_tag;
  output.journal = config.log.journal == "always" ||
                   (config.log.journal == "auto" && fd_is_journal_stream(STDOUT_FILENO));
  output.worker_files = worker_log_files(config);
  output.max_bytes = config.log.max_bytes;
  output.max_files = config.log.max_files;
  std::unique_ptr<LogRouter> router;
  try {
    router = std::make_unique<LogRouter>(format, STDOUT_FILENO, file, output);
  } catch (const std::exception& e) {
    std::cerr << "socialai-manager: " << e.what() << "\n";
    return 1;
  }
  auto logger = std::make_shared<spdlog::logger>("manager", std::make_shared<RouterSink>(*router));
  spdlog::set_default_logger(logger);

  if (migrate_only) {
    const bool ok = migrate_now(config, 5);
    router->flush();
    return ok ? 0 : 1;
  }
  spdlog::info("socialai-manager {} starting with {} ({} workers)", SOCIALAI_VERSION,
               config.file, config.workers.size());
  if (config.database.migrate_on_start && !config.database.url.empty() &&
      !migrate_now(config, 3)) {
    spdlog::warn("migrations not applied at start; workers retry on their own");
  }

  int exit_code = 0;
  try {
    boost::asio::io_context ioc(1);
    const auto started = std::chrono::steady_clock::now();
    Supervisor sup(ioc, config, *router, self_dir());
    SystemdNotifier systemd;
    bool database_up = false;
    std::unique_ptr<DbPoller> poller;
    if (!config.database.url.empty()) {
      poller = std::make_unique<DbPoller>(
          config.database.url, std::chrono::seconds(2),
          [&ioc, &sup, &database_up](DbSnapshot snap) {
            boost::asio::post(ioc, [&sup, &database_up, s = std::move(snap)]() mutable {
              database_up = s.ok;
              sup.on_db_snapshot(std::move(s));
            });
          });
    }
    const std::string config_file = config.file;
    auto running_status = [&sup] {
      std::size_t running = 0;
      const auto rows = sup.status();
      for (const auto& r : rows) {
        running += r.state == "running" ? 1 : 0;
      }
      return std::to_string(running) + " of " + std::to_string(rows.size()) + " workers running";
    };
    // SIGHUP and POST /api/reload: apply the difference, or keep everything on a bad file.
    auto reload = [&]() -> std::string {
      try {
        Config fresh = load_config(config_file);
        check_supported(fresh);
        spdlog::info("reloading {}", config_file);
        router->set_worker_files(worker_log_files(fresh));
        sup.apply_config(std::move(fresh));
        if (poller) {
          poller->set_workers(sup.worker_names());
          poller->poke();
        }
        systemd.status(running_status());
        return {};
      } catch (const ConfigError& e) {
        spdlog::error("new configuration rejected, keeping the running one: {}", e.what());
        return std::string("configuration rejected: ") + e.what();
      }
    };
    ApiHooks hooks;
    hooks.reload = reload;
    hooks.manager_metrics = [&] {
      ManagerMetrics m;
      m.uptime_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      m.database_up = database_up;
      return m;
    };
    HttpApi api(ioc, config.http.listen, make_api_handler(sup, *router, std::move(hooks)));

    // Once start-up is over (workers spawned, the API listening), its pages leave the resident
    // set (memory_trim.h).
    boost::asio::steady_timer trim(ioc, std::chrono::seconds(1));
    trim.async_wait([](const boost::system::error_code& ec) {
      if (!ec) {
        spdlog::debug("start-up pages dropped: {} KB of mappings", trim_resident_memory() / 1024);
      }
    });

    // The watchdog is fed from the event loop, so a loop that hangs stops feeding it.
    boost::asio::steady_timer watchdog(ioc);
    std::function<void()> feed_watchdog = [&] {
      systemd.watchdog();
      systemd.status(running_status());  // keeps `systemctl status` current as workers come and go
      watchdog.expires_after(*systemd.watchdog_interval());
      watchdog.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) {
          feed_watchdog();
        }
      });
    };

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    signals.add(SIGUSR1);
    bool stopping = false, stopped = false;
    std::function<void()> wait_signal;
    wait_signal = [&] {
      signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) {
          return;
        }
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP received");
          reload();
        } else if (sig == SIGUSR1) {
          router->reopen_file();
          spdlog::info("SIGUSR1: reopened the log file");
        } else if (!stopping) {
          stopping = true;
          spdlog::info("received {}; stopping all workers", sig == SIGTERM ? "SIGTERM" : "SIGINT");
          systemd.stopping();
          systemd.status("stopping workers");
          api.stop();
          watchdog.cancel();
          trim.cancel();
          sup.stop_all([&] {
            spdlog::info("all workers stopped; exiting");
            if (poller) {
              poller->stop();
            }
            stopped = true;
            signals.cancel();
          });
        }
        // Keep listening (a second SIGTERM while stopping is absorbed) until everything is
        // stopped; stop_all may finish synchronously, so check before re-arming.
        if (!stopped) {
          wait_signal();
        }
      });
    };
    wait_signal();
    sup.start_all();
    api.start();
    if (poller) {
      poller->start(sup.worker_names());
    }
    // The bound port, which differs from the configured one when that is 0 (any free port).
    const std::string& listen = config.http.listen;
    spdlog::info("listening on http://{}:{}", listen.substr(0, listen.rfind(':')), api.port());
    systemd.ready();
    systemd.status(running_status());
    if (systemd.watchdog_interval()) {
      feed_watchdog();
    }
    ioc.run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    exit_code = 1;
  }
  router->flush();
  return exit_code;
}
