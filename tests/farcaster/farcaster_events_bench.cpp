// Farcaster events-mode benchmark (docs/farcaster.md): over 100,000 tracked fids, the idle
// cost of following the event stream beside per-fid polling (requests counted by the devnet),
// freshness (event appended at the hub → row in PostgreSQL) at a sustained event rate, and
// ingest of an event backlog, in both hub dialects. `--quick` is a small pass for ctest.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "bench_util.h"
#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "workers/farcaster/event_follower.h"

namespace {

using namespace socialai;
using namespace socialai::farcaster;
using bench::Clock;
using json = nlohmann::json;

constexpr std::uint64_t kNetwork = 100000;

struct Figures {
  std::string dialect;
  double events_idle_per_min = 0;  // requests per minute, events mode, nothing new
  double poll_per_fid = 0;         // requests per fid per cycle, per-fid polling
  double poll_fids_per_s = 0;      // fids reconciled per second by per-fid polling
  double fresh_p50 = 0, fresh_p99 = 0;
  std::size_t fresh_n = 0, fresh_appended = 0;
  double offered_rate = 0, achieved_rate = 0;
  double ingest_eps = 0;
  std::int64_t ingest_events = 0;
};

std::int64_t requests(testing::DevnetProcess& devnet) {
  return devnet.get("/_devnet/stats")["farcaster"]["requests"].get<std::int64_t>();
}

Figures run(const std::string& dialect, bool quick) {
  Figures f;
  f.dialect = dialect;
  testing::DevnetProcess devnet({"--farcaster-dialect", dialect, "--farcaster-users", "1000",
                                 "--farcaster-casts-per-user", "3", "--farcaster-network",
                                 std::to_string(kNetwork), "--farcaster-late-share", "0"});
  testing::TestSchema schema;
  Db db(schema.url());
  if (!db.connect(nullptr, 3)) {
    throw std::runtime_error("cannot connect to the test database");
  }
  apply_migrations(db.conn(), embedded_migrations());
  HubSettings s;
  s.hub_url = devnet.url("/farcaster");
  for (std::uint64_t fid = 1; fid <= kNetwork; ++fid) {
    s.fids.push_back(fid);
  }
  s.mode = SyncMode::kEvents;

  // Per-fid polling, the reference: a sample of fids synced once, then timed a second time
  // (nothing new: the idle cost), requests counted by the devnet.
  {
    HubSync hub(db, "farcaster", s);
    const int sample = quick ? 50 : 300;
    for (int fid = 1; fid <= sample; ++fid) {
      hub.sync_fid(static_cast<std::uint64_t>(fid));
    }
    const std::int64_t r0 = requests(devnet);
    const auto t0 = Clock::now();
    for (int fid = 1; fid <= sample; ++fid) {
      hub.sync_fid(static_cast<std::uint64_t>(fid));
    }
    f.poll_fids_per_s = sample / (bench::ms_since(t0) / 1000);
    f.poll_per_fid = static_cast<double>(requests(devnet) - r0) / sample;
  }

  // Events mode in its steady state: every fid backfilled (marked so; the backfill itself is
  // the per-fid sync measured above), the cycle as the worker runs it.
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx,
            "INSERT INTO sync_state (worker, key, cursor) SELECT 'farcaster', 'backfill:' || g, "
            "'1' FROM generate_series(1, $1::bigint) g ON CONFLICT DO NOTHING",
            static_cast<std::int64_t>(kNetwork));
  });
  testing::TestContext ctx(db, "farcaster");
  {
    HubSettings idle = s;
    idle.tail_cycle = std::chrono::milliseconds(quick ? 3000 : 30000);
    HubSync hub(db, "farcaster", idle);
    EventFollower follower(hub);
    follower.start();
    follower.run_cycle(ctx);  // settles: fids read, cursors at the head
    const std::int64_t r0 = requests(devnet);
    const auto t0 = Clock::now();
    follower.run_cycle(ctx);
    f.events_idle_per_min =
        static_cast<double>(requests(devnet) - r0) / (bench::ms_since(t0) / 60000);
  }

  // Freshness at a sustained rate: each event's append time (the devnet's) against the row's
  // write time (updated_at: the transaction's start, a few ms before its commit).
  HubSettings tail = s;
  tail.tail_cycle = std::chrono::milliseconds(quick ? 4000 : 20000);
  HubSync hub(db, "farcaster", tail);
  EventFollower follower(hub);
  follower.start();
  follower.refresh_fids();
  follower.poll();
  f.offered_rate = quick ? 300 : 1000;
  const std::uint64_t since = devnet.get("/_devnet/farcaster/events/times")["next"];
  const std::int64_t appended0 = devnet.get("/_devnet/farcaster/events")["appended"];
  const auto t0 = Clock::now();
  devnet.post("/_devnet/farcaster/events/rate", {{"rate", f.offered_rate}});
  follower.run_cycle(ctx);
  devnet.post("/_devnet/farcaster/events/rate", {{"rate", 0}});
  const std::int64_t appended1 = devnet.get("/_devnet/farcaster/events")["appended"];
  f.achieved_rate = static_cast<double>(appended1 - appended0) / (bench::ms_since(t0) / 1000);
  const json times = devnet.get("/_devnet/farcaster/events/times?since=" + std::to_string(since));
  std::vector<std::string> hashes;
  std::map<std::string, std::int64_t> appended_at;
  for (const auto& c : times["casts"]) {
    hashes.push_back(c[0].get<std::string>());
    appended_at[hashes.back()] = c[1].get<std::int64_t>();
  }
  f.fresh_appended = hashes.size();
  std::vector<double> lag;
  db.with_transaction([&](pqxx::work& tx) {
    std::string arr = "{";
    for (const auto& h : hashes) {
      arr += (arr.size() > 1 ? "," : "") + h;
    }
    for (const auto& row :
         db.exec(tx,
                 "SELECT external_id, (extract(epoch FROM updated_at) * 1000)::bigint "
                 "FROM external_posts WHERE external_id = ANY($1::text[])",
                 arr + "}")) {
      lag.push_back(
          static_cast<double>(row[1].as<std::int64_t>() - appended_at[row[0].as<std::string>()]));
    }
  });
  f.fresh_n = lag.size();
  f.fresh_p50 = bench::percentile(lag, 0.5);
  f.fresh_p99 = bench::percentile(lag, 0.99);

  // Ingest: a backlog of events (the usual mix, any fid of the network) read and applied from
  // the cursor, 1,000 per request and per transaction, synchronous commit.
  follower.poll();
  const int backlog = quick ? 5000 : 100000;
  for (int done = 0; done < backlog; done += 20000) {
    devnet.post("/_devnet/farcaster/events", {{"count", std::min(20000, backlog - done)}});
  }
  const auto ti = Clock::now();
  const PollStats p = follower.poll();
  f.ingest_eps = static_cast<double>(p.events) / (bench::ms_since(ti) / 1000);
  f.ingest_events = p.events;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = bench::quick_flag(argc, argv);
  const auto schema = bench::bench_schema("farcaster_events_bench");
  if (!schema) {
    return 0;
  }
  std::vector<Figures> all;
  try {
    for (const char* d : quick ? std::vector<const char*>{"hubble"}
                               : std::vector<const char*>{"hubble", "snapchain"}) {
      all.push_back(run(d, quick));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "farcaster_events_bench: %s\n", e.what());
    return 1;
  }
  std::printf("\n### Idle cost over %llu tracked fids (nothing new at the hub)\n\n",
              static_cast<unsigned long long>(kNetwork));
  std::printf(
      "| hub | events mode: requests/min | per-fid polling: requests/cycle | "
      "polling: one cycle takes | polling ÷ events (requests/min, 1 cycle/min) |\n"
      "|---|---:|---:|---:|---:|\n");
  for (const Figures& f : all) {
    const double per_cycle = f.poll_per_fid * static_cast<double>(kNetwork);
    std::printf("| %s | %.0f | %.0f (%.1f per fid) | %.0f min | %.0f× |\n", f.dialect.c_str(),
                f.events_idle_per_min, per_cycle, f.poll_per_fid,
                static_cast<double>(kNetwork) / f.poll_fids_per_s / 60,
                per_cycle / f.events_idle_per_min);
  }
  std::printf("\n### Freshness and ingest (events mode, poll_ms 200, synchronous commit)\n\n");
  std::printf(
      "| hub | offered events/s | appended events/s | casts seen | fresh p50 | fresh p99 "
      "| backlog ingest events/s |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Figures& f : all) {
    std::printf("| %s | %.0f | %.0f | %zu of %zu | %.0f ms | %.0f ms | %.0f (%lld events) |\n",
                f.dialect.c_str(), f.offered_rate, f.achieved_rate, f.fresh_n, f.fresh_appended,
                f.fresh_p50, f.fresh_p99, f.ingest_eps, static_cast<long long>(f.ingest_events));
  }
  return 0;
}
