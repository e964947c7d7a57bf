// Shard leases with real binaries (SPEC §8 partition leases): two managers, each running the
// farcaster worker, on one database and one Snapchain devnet of four shards split the shards two
// and two; one manager is killed -9 while its worker applies events (the worker dies with it),
// the other's worker takes its shards over, and the tables end up equal to the hub's truth (what
// one clean sync writes): nothing lost, nothing twice.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "farcaster_fixture.h"

namespace socialai::farcaster {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

constexpr int kShards = 4;

class FarcasterShardsTest : public FarcasterFixture {
 protected:
  // The shards the instance `pid` holds, from its heartbeat ("shard:1, shard:3").
  std::set<std::string> held(pid_t pid) {
    const Rows r = query("SELECT coalesce(partitions, '') FROM worker_heartbeats WHERE pid = " +
                         std::to_string(pid));
    std::set<std::string> out;
    if (r.empty()) {
      return out;
    }
    const std::string text = r.begin()->at(0);
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t end = std::min(text.find(", ", pos), text.size());
      out.insert(text.substr(pos, end - pos));
      pos = end + 2;
    }
    return out;
  }

  std::uint64_t stored_cursor(int shard) {
    const Rows r =
        query("SELECT cursor FROM sync_state WHERE key = 'events:" + std::to_string(shard) + "'");
    return r.empty() ? 0 : json::parse(r.begin()->at(0))["next"].get<std::uint64_t>();
  }

  // Waits until `pred` holds (polling every 10 ms) or `timeout` passes; returns pred().
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::seconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (!pred() && Steady::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    return pred();
  }
};

TEST_P(FarcasterShardsTest, TwoManagersSplitTheShardsAndOneTakesOverAKilledOnes) {
  start_devnet({"--farcaster-shards", std::to_string(kShards), "--latency-ms", "2"});
  json farcaster = {{"path", SOCIALAI_FARCASTER_WORKER_BIN},
                    {"hub_url", devnet_->url("/farcaster")},
                    {"fids", json::parse(all_fids())},
                    {"page_size", 10},
                    {"interval_ms", 1000},
                    {"mode", "events"},
                    {"event_page_size", 20},
                    {"poll_ms", 50},
                    {"tail_ms", 60000}};
  const std::string config = json{{"database", {{"url", schema_->url()}}},
                                  {"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
                                  {"healdec", {{"restart_delay_ms", 100}}},
                                  {"workers", {{"farcaster", farcaster}}}}
                                 .dump();
  const std::set<std::string> all = {"shard:1", "shard:2", "shard:3", "shard:4"};
  const std::string dir_a = socialai::testing::make_temp_dir();
  const std::string dir_b = socialai::testing::make_temp_dir();
  using socialai::testing::ManagerProcess;
  auto worker_pid = [](ManagerProcess& m) {
    const json w = m.worker("farcaster");
    return w.contains("pid") && w["pid"].is_number() ? w["pid"].get<pid_t>() : pid_t{0};
  };

  // Alone, the first manager's worker holds every shard and backfills every fid.
  auto a = std::make_unique<ManagerProcess>(config, dir_a);
  pid_t a_worker = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        a_worker = worker_pid(*a);
        return a_worker != 0 && held(a_worker) == all &&
               scalar("SELECT count(*) FROM sync_state WHERE key LIKE 'backfill:%'") == kUsers;
      },
      std::chrono::seconds(60)))
      << a->log();
  // A second manager starts: the first one's worker hands two shards over.
  ManagerProcess b(config, dir_b);
  pid_t b_worker = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        b_worker = worker_pid(b);
        return b_worker != 0 && held(a_worker).size() == 2 && held(b_worker).size() == 2;
      },
      std::chrono::seconds(30)))
      << a->log() << "\n---\n" << b.log();
  std::set<std::string> both = held(a_worker);
  for (const auto& s : held(b_worker)) {
    EXPECT_EQ(both.count(s), 0u) << s << " held twice";
    both.insert(s);
  }
  EXPECT_EQ(both, all);
  // The manager's status API shows what the worker holds (its status poll runs every second).
  EXPECT_TRUE(wait_for(
      [&] {
        const json w = b.worker("farcaster");
        const Rows r = query("SELECT partitions FROM worker_heartbeats WHERE pid = " +
                             std::to_string(b_worker));
        return w["state"] == "running" && w["partitions"].is_string() && !r.empty() &&
               w["partitions"].get<std::string>() == r.begin()->at(0);
      },
      std::chrono::seconds(10)))
      << b.worker("farcaster").dump();

  // A stream of events for every fid (of every shard); the last id of each shard is the end.
  const json posted = devnet_->post(
      "/_devnet/farcaster/events",
      {{"count", 2400}, {"fids", json::parse(all_fids())}, {"kinds", {"cast_add", "reaction_add",
                                                                     "link_add", "cast_remove",
                                                                     "user_data"}}});
  std::map<int, std::uint64_t> last;  // shard → last event id posted
  for (std::size_t i = 0; i < posted["ids"].size(); ++i) {
    const std::uint64_t fid = i % kUsers + 1;  // the post cycles through all_fids() in order
    const int shard = static_cast<int>(fid % kShards) + 1;
    last[shard] = std::max(last[shard], posted["ids"][i].get<std::uint64_t>());
  }
  // Kill the first manager (its worker dies with it) while its worker applies them (progress
  // signal: a cursor of one of its shards moved).
  std::map<int, std::uint64_t> before;
  for (int s = 1; s <= kShards; ++s) {
    before[s] = stored_cursor(s);
  }
  const auto a_shards = held(a_worker);
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& name : a_shards) {
          const int s = std::stoi(name.substr(6));
          if (stored_cursor(s) != before[s]) {
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(60)))
      << a->log();
  a->signal(SIGKILL);
  const auto killed = Steady::now();
  a->wait_exit(std::chrono::seconds(5));
  a.reset();
  bool mid_stream = false;
  for (const auto& name : a_shards) {
    const int s = std::stoi(name.substr(6));
    mid_stream = mid_stream || stored_cursor(s) <= last[s];
  }
  EXPECT_TRUE(mid_stream) << "a had read all its events before the kill: proves less";

  ASSERT_TRUE(wait_for([&] { return held(b_worker) == all; }, std::chrono::seconds(30)))
      << b.log();
  const double takeover_s = std::chrono::duration<double>(Steady::now() - killed).count();
  std::cout << "shards taken over " << takeover_s
            << " s after kill -9 of the other manager (heartbeat seen)\n";

  // b reads every shard to its end; then the tables equal the truth.
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& [s, id] : last) {
          if (stored_cursor(s) <= id) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(120)))
      << b.log();
  b.signal(SIGTERM);
  EXPECT_EQ(b.wait_exit(std::chrono::seconds(15)), 0) << b.log();
  // Which fids differ, if any (the full comparison below prints whole tables).
  const json t = devnet_->get("/_devnet/farcaster/truth?full=1");
  std::map<std::uint64_t, std::int64_t> want, have;
  for (const auto& c : t["casts"]) {
    ++want[c["fid"].get<std::uint64_t>()];
  }
  for (const auto& r :
       query("SELECT author_external_id, count(*) FROM external_posts GROUP BY 1")) {
    have[std::stoull(r[0])] = std::stoll(r[1]);
  }
  for (std::uint64_t f = 1; f <= kUsers; ++f) {
    EXPECT_EQ(want[f], have[f]) << "casts of fid " << f << " (shard " << f % kShards + 1
                                << "; a held " << ::testing::PrintToString(a_shards) << ")\n"
                                << b.log();
  }
  expect_truth();
  EXPECT_EQ(scalar("SELECT count(*) - count(DISTINCT external_id) FROM external_posts"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM worker_runs WHERE error IS NOT NULL"), 0) << b.log();
  std::system(("rm -rf " + dir_a + " " + dir_b).c_str());
}

INSTANTIATE_TEST_SUITE_P(Snapchain, FarcasterShardsTest, ::testing::Values("snapchain"));

}  // namespace
}  // namespace socialai::farcaster
