// lease_worker: the smallest exclusive worker (SPEC §8), for the lease and two-manager tests.
// Every cycle appends (pid, now) to lease_probe, so a test can see which instance was active
// when, and that two never were at once. Setting `note` becomes its operator note; setting
// `fail` (text) makes the cycle throw it, `fail_items` (N) fails N items and succeeds none.
// Setting `partitions` (N > 0) splits it into partitions p0..p(N-1) (partition leases): every
// cycle then appends one row per held partition, and a cycle lasts `cycle_ms`, pausing the way
// a continuous worker does, so a test sees handovers happen mid-cycle too.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/worker_runtime.h"

namespace {

class LeaseWorker : public socialai::Worker {
 public:
  bool exclusive() const override { return true; }
  std::vector<std::string> partitions(socialai::WorkerContext& ctx) override {
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < ctx.setting_int("partitions", 0); ++i) {
      out.push_back("p" + std::to_string(i));
    }
    partitioned_ = !out.empty();
    return out;
  }
  bool continuous() const override { return partitioned_; }
  void run_cycle(socialai::WorkerContext& ctx) override {
    auto& db = ctx.db();
    const auto held = ctx.held_partitions();
    const auto cycle = std::chrono::milliseconds(ctx.setting_int("cycle_ms", 0));
    const auto until = std::chrono::steady_clock::now() + cycle;
    do {
      db.with_transaction([&](pqxx::work& tx) {
        db.exec(tx,
                "CREATE TABLE IF NOT EXISTS lease_probe (pid int NOT NULL, partition text, "
                "at timestamptz NOT NULL DEFAULT clock_timestamp())");
        if (held.empty()) {
          db.exec(tx, "INSERT INTO lease_probe (pid) VALUES ($1)", static_cast<int>(::getpid()));
        }
        for (const std::string& p : held) {
          db.exec(tx, "INSERT INTO lease_probe (pid, partition) VALUES ($1, $2)",
                  static_cast<int>(::getpid()), p);
        }
      });
    } while (std::chrono::steady_clock::now() < until && ctx.pause(std::chrono::milliseconds(20)));
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

 private:
  bool partitioned_ = false;
};

}  // namespace

int main(int argc, char** argv) { return socialai::run_worker<LeaseWorker>(argc, argv, "lease"); }
