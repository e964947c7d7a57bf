// TestContext: a WorkerContext over a real Db for integration tests of one worker's cycle:
// settings from a map, item outcomes kept for assertions, stop on request.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/db.h"
#include "common/worker_runtime.h"

namespace socialai::testing {

class TestContext : public WorkerContext {
 public:
  TestContext(Db& db, std::string name) : db_(db), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  const Config& config() const override { return config_; }
  Db& db() override { return db_; }
  std::optional<std::string> setting(const std::string& key) const override {
    const auto it = settings_.find(key);
    return it == settings_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool stopping() const override { return stop_; }
  void item_ok(std::int64_t n) override { items_ok_ += n; }
  void item_failed(const std::string& item_ref, const std::string& error) override {
    failed_.emplace_back(item_ref, error);
  }

  std::map<std::string, std::string> settings_;
  std::int64_t items_ok_ = 0;
  std::vector<std::pair<std::string, std::string>> failed_;
  std::atomic<bool> stop_{false};
  Config config_;

 private:
  Db& db_;
  std::string name_;
};

}  // namespace socialai::testing
