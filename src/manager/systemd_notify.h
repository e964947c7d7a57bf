// SystemdNotifier: the sd_notify protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) through
// libsystemd. A no-op when the manager was not started by systemd (no NOTIFY_SOCKET).
// Thread: the event loop's.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace socialai::manager {

class SystemdNotifier {
 public:
  SystemdNotifier();  // reads NOTIFY_SOCKET / WATCHDOG_USEC (via sd_watchdog_enabled)

  bool enabled() const { return enabled_; }
  // How often to call watchdog(): half of WATCHDOG_USEC, if the watchdog is on.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  void ready();                          // READY=1
  void status(std::string_view text);    // STATUS=<text>
  void watchdog();                       // WATCHDOG=1
  void stopping();                       // STOPPING=1

 private:
  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace socialai::manager
