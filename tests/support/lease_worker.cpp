// lease_worker: the smallest exclusive worker (SPEC §8), for the lease and two-manager tests.
// Every cycle appends (pid, now) to lease_probe, so a test can see which instance was active
// when, and that two never were at once. Setting `note` becomes its operator note; setting
// `fail` (text) makes the cycle throw it, `fail_items` (N) fails N items and succeeds none.
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/worker_runtime.h"

namespace {

class LeaseWorker : public socialai::Worker {
 public:
  bool exclusive() const override { return true; }
  void run_cycle(socialai::WorkerContext& ctx) override {
    auto& db = ctx.db();
    db.with_transaction([&](pqxx::work& tx) {
      db.exec(tx,
              "CREATE TABLE IF NOT EXISTS lease_probe (pid int NOT NULL, "
              "at timestamptz NOT NULL DEFAULT clock_timestamp())");
      db.exec(tx, "INSERT INTO lease_probe (pid) VALUES ($1)", static_cast<int>(::getpid()));
    });
    ctx.set_note(ctx.setting_or("note", ""));  // settings row lease_note, for the note test
    if (const auto fail = ctx.setting_or("fail", ""); !fail.empty()) {
      throw std::runtime_error(fail);
    }
    if (const auto n = ctx.setting_int("fail_items", 0); n > 0) {
      for (std::int64_t i = 0; i < n; ++i) {
        ctx.item_failed("item-" + std::to_string(i), "refused by the test");
      }
      return;
    }
    ctx.item_ok();
  }
};

}  // namespace

int main(int argc, char** argv) { return socialai::run_worker<LeaseWorker>(argc, argv, "lease"); }
