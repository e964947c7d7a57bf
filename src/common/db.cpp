// Db: connect with capped backoff, count queries, LISTEN/NOTIFY over poll().
#include "common/db.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <spdlog/spdlog.h>

namespace socialai {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::string& channel, std::vector<std::string>* sink)
      : pqxx::notification_receiver(c, channel), sink_(sink) {}
  void operator()(const std::string&, int) override { sink_->push_back(channel()); }

 private:
  std::vector<std::string>* sink_;
};

}  // namespace

std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) {
    return url;  // the operator's own choice
  }
  const std::string kv = "connect_timeout=" + std::to_string(seconds);
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    const auto hash = url.find('#');
    const std::string base = url.substr(0, hash);
    return base + (base.find('?') == std::string::npos ? "?" : "&") + kv;
  }
  return url.empty() ? kv : url + " " + kv;
}

Db::Db(std::string url, BackoffPolicy backoff) : url_(std::move(url)), backoff_(backoff) {}

Db::~Db() { disconnect(); }

bool Db::connect(const SleepFn& sleep_fn, unsigned max_attempts) {
  for (unsigned attempt = 0;; ++attempt) {
    try {
      // Without connect_timeout, libpq waits for the kernel's TCP timeouts: a URL naming a port
      // where something else listens (or nothing answers) hangs each attempt for minutes.
      conn_ = std::make_unique<pqxx::connection>(with_connect_timeout(url_, kConnectTimeoutS));
      if (!application_name_.empty()) {
        pqxx::nontransaction tx(*conn_);
        tx.exec_params("SELECT set_config('application_name', $1, false)", application_name_);
      }
      for (const auto& ch : channels_) {
        receivers_.push_back(std::make_unique<Receiver>(*conn_, ch, &pending_));
      }
      if (attempt > 0) {
        spdlog::info("database connected after {} retries", attempt);
      }
      return true;
    } catch (const std::exception& e) {
      receivers_.clear();
      conn_.reset();
      std::string why = e.what();
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
        why.pop_back();
      }
      const auto delay = jittered_delay(backoff_, attempt, random_unit());
      spdlog::warn("database {} unavailable ({}); retry {} in {} ms", redact_db_url(url_), redact_db_url(why),
                   attempt + 1, delay.count());
      if (max_attempts != 0 && attempt + 1 >= max_attempts) {
        return false;
      }
      if (sleep_fn ? !sleep_fn(delay) : (std::this_thread::sleep_for(delay), false)) {
        return false;
      }
    }
  }
}

bool Db::connected() const { return conn_ != nullptr && conn_->is_open(); }

void Db::disconnect() noexcept {
  try {
    receivers_.clear();
    if (conn_) {
      conn_->disconnect();
    }
  } catch (...) {
  }
  conn_.reset();
}

pqxx::connection& Db::conn() {
  if (!conn_) {
    throw pqxx::broken_connection("not connected");
  }
  return *conn_;
}

void Db::listen(const std::string& channel) {
  channels_.push_back(channel);
  if (conn_) {
    receivers_.push_back(std::make_unique<Receiver>(*conn_, channel, &pending_));
  }
}

std::vector<std::string> Db::wait_for_notification(std::chrono::milliseconds timeout,
                                                   int extra_fd) {
  auto& c = conn();
  // libpq may read the server's goodbye and mark the connection bad without pqxx throwing;
  // its socket is then -1, and polling -1 would sleep through the whole timeout.
  const auto check_alive = [&c] {
    if (!c.is_open() || c.sock() < 0) {
      throw pqxx::broken_connection("database connection closed");
    }
  };
  c.get_notifs();
  check_alive();
  if (pending_.empty()) {
    pollfd fds[2] = {{c.sock(), POLLIN, 0}, {extra_fd, POLLIN, 0}};
    const int n = ::poll(fds, extra_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      c.get_notifs();  // throws broken_connection when the server hung up
      check_alive();
      if (fds[0].revents & (POLLHUP | POLLERR) && pending_.empty()) {
        throw pqxx::broken_connection("database connection closed");
      }
    }
  }
  std::vector<std::string> out;
  out.swap(pending_);
  return out;
}

void Db::account(std::chrono::steady_clock::time_point t0) {
  ++stats_.queries;
  stats_.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                   .count();
}

std::string heartbeat_host() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("unknown");
}

}  // namespace socialai
