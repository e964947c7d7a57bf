// DbPoller: on its own thread, reads heartbeats, recent runs and feature flags for the
// configured workers every period and hands a DbSnapshot to `deliver` (which posts it into
// the event loop). Keeps the database out of the event loop's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "manager/worker_status.h"

namespace socialai::manager {

class DbPoller {
 public:
  using Deliver = std::function<void(DbSnapshot)>;

  DbPoller(std::string url, std::chrono::milliseconds period, Deliver deliver);
  ~DbPoller();  // stops and joins
  DbPoller(const DbPoller&) = delete;
  DbPoller& operator=(const DbPoller&) = delete;

  void start(std::vector<std::string> workers);
  // Thread-safe: the set of names to report on (after a reload).
  void set_workers(std::vector<std::string> workers);
  // Thread-safe: poll again now instead of at the next period.
  void poke();
  void stop();

 private:
  void run();

  std::string url_;
  std::chrono::milliseconds period_;
  Deliver deliver_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> workers_;
  bool stop_ = false, poke_ = false;
  std::thread thread_;
};

}  // namespace socialai::manager
