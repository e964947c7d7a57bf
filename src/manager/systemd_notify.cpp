// SystemdNotifier: the sd_notify(3) calls behind READY / STATUS / WATCHDOG / STOPPING.
// Every call is a no-op when NOTIFY_SOCKET is unset, and none of them throws.
#include "manager/systemd_notify.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include <systemd/sd-daemon.h>

namespace socialai::manager {
namespace {

// A watchdog shorter than this would turn the loop into a busy timer; systemd itself never
// arms one this short in practice.
constexpr std::chrono::microseconds kMinWatchdogInterval{1000};

// One warning per process: if the socket is gone (systemd restarted, or a stale variable),
// every watchdog tick would fail the same way.
bool g_warned = false;

void send(const char* state) noexcept {
  // unset_environment = 0: unsetting would race threads that read environ (getenv is not
  // synchronised with unsetenv), and the supervisor builds each child's environment itself.
  const int r = ::sd_notify(0, state);
  if (r < 0 && !g_warned) {
    g_warned = true;
    spdlog::warn("sd_notify failed: {}; further failures are not logged", std::strerror(-r));
  }
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  if (!enabled_) {
    return;
  }
  // sd_watchdog_enabled also honours WATCHDOG_PID: > 0 only if the watchdog is meant for us
  // (not for a parent that passed its environment down). Negative = malformed variables.
  std::uint64_t usec = 0;
  const int r = ::sd_watchdog_enabled(0, &usec);
  if (r > 0 && usec > 0) {
    // Half the timeout, as sd_watchdog_enabled(3) recommends, so one late tick is survivable.
    const auto half = std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
    watchdog_ = half < kMinWatchdogInterval ? kMinWatchdogInterval : half;
  } else if (r < 0) {
    spdlog::warn("ignoring malformed WATCHDOG_USEC/WATCHDOG_PID: {}", std::strerror(-r));
  }
}

void SystemdNotifier::ready() {
  if (enabled_) {
    send("READY=1");
  }
}

void SystemdNotifier::status(std::string_view text) {
  if (!enabled_) {
    return;
  }
  try {
    // One datagram carries newline-separated assignments, so a newline in the text would end
    // STATUS= early and the rest would be parsed as another (bogus) assignment.
    std::string msg = "STATUS=";
    msg.reserve(msg.size() + text.size());
    for (const char c : text) {
      msg.push_back(c == '\n' || c == '\r' ? ' ' : c);
    }
    send(msg.c_str());
  } catch (...) {
    // bad_alloc: a missed status line is harmless; never let it reach the event loop.
  }
}

void SystemdNotifier::watchdog() {
  if (enabled_) {
    send("WATCHDOG=1");
  }
}

void SystemdNotifier::stopping() {
  if (enabled_) {
    send("STOPPING=1");
  }
}

}  // namespace socialai::manager
