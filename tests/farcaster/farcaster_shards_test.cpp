// Shard leases with the real worker binary (SPEC §8 partition leases): two instances of the
// farcaster worker on one database and one Snapchain devnet of four shards split the shards two
// and two; one is killed -9 while it applies events, the other takes its shards over, and the
// tables end up equal to the hub's truth (what one clean sync writes): nothing lost, nothing
// twice.
#include <chrono>
#include <csignal>
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

TEST_P(FarcasterShardsTest, TwoInstancesSplitTheShardsAndOneTakesOverAKilledOnes) {
  start_devnet({"--farcaster-shards", std::to_string(kShards), "--latency-ms", "2"});
  const std::string dir = socialai::testing::make_temp_dir();
  const std::string config = write_config(
      dir, 10,
      {{"mode", "events"}, {"event_page_size", 20}, {"poll_ms", 50}, {"tail_ms", 60000}});
  const std::string log_a = dir + "/a.log", log_b = dir + "/b.log";
  const std::set<std::string> all = {"shard:1", "shard:2", "shard:3", "shard:4"};

  // Whatever fails, no instance outlives the test.
  std::vector<pid_t> spawned;
  struct Reaper {
    std::vector<pid_t>& pids;
    ~Reaper() {
      for (pid_t p : pids) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
    }
  } reaper{spawned};

  // Alone, the first instance holds every shard and backfills every fid.
  const pid_t a = spawn_worker(config, log_a, false);
  spawned.push_back(a);
  ASSERT_TRUE(wait_for(
      [&] {
        return held(a) == all &&
               scalar("SELECT count(*) FROM sync_state WHERE key LIKE 'backfill:%'") == kUsers;
      },
      std::chrono::seconds(60)))
      << tail(log_a);
  // A second one joins: the first hands two shards over.
  const pid_t b = spawn_worker(config, log_b, false);
  spawned.push_back(b);
  ASSERT_TRUE(wait_for([&] { return held(a).size() == 2 && held(b).size() == 2; },
                       std::chrono::seconds(30)))
      << tail(log_a) << "\n---\n" << tail(log_b);
  std::set<std::string> both = held(a);
  for (const auto& s : held(b)) {
    EXPECT_EQ(both.count(s), 0u) << s << " held twice";
    both.insert(s);
  }
  EXPECT_EQ(both, all);

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
  // Kill a while it applies them (progress signal: a cursor of one of its shards moved).
  std::map<int, std::uint64_t> before;
  for (int s = 1; s <= kShards; ++s) {
    before[s] = stored_cursor(s);
  }
  const auto a_shards = held(a);
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
      << tail(log_a);
  ::kill(a, SIGKILL);
  const auto killed = Steady::now();
  ASSERT_EQ(wait_worker(a), -SIGKILL);
  spawned.erase(spawned.begin());
  bool mid_stream = false;
  for (const auto& name : a_shards) {
    const int s = std::stoi(name.substr(6));
    mid_stream = mid_stream || stored_cursor(s) <= last[s];
  }
  EXPECT_TRUE(mid_stream) << "a had read all its events before the kill: proves less";

  ASSERT_TRUE(wait_for([&] { return held(b) == all; }, std::chrono::seconds(30))) << tail(log_b);
  const double takeover_s = std::chrono::duration<double>(Steady::now() - killed).count();
  std::cout << "shards taken over " << takeover_s << " s after kill -9 (heartbeat seen)\n";

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
      << tail(log_b);
  ::kill(b, SIGTERM);
  EXPECT_EQ(wait_worker(b), 0) << tail(log_b);
  spawned.clear();
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
                                << tail(log_a) << "\n---\n" << tail(log_b);
  }
  expect_truth();
  EXPECT_EQ(scalar("SELECT count(*) - count(DISTINCT external_id) FROM external_posts"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM worker_runs WHERE error IS NOT NULL"), 0)
      << tail(log_a) << "\n---\n" << tail(log_b);
}

INSTANTIATE_TEST_SUITE_P(Snapchain, FarcasterShardsTest, ::testing::Values("snapchain"));

}  // namespace
}  // namespace socialai::farcaster
