// The farcaster worker against the real devnet and a real PostgreSQL, in both hub dialects:
// full sync = devnet truth, idempotent re-runs, incremental growth with removes, kill -9 of the
// real binary mid-sync, and 20% injected faults.
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "farcaster_fixture.h"

namespace socialai::farcaster {
namespace {

class FarcasterSyncTest : public FarcasterFixture {};

TEST_P(FarcasterSyncTest, FullSyncEqualsTruthAndDetectsDialect) {
  start_devnet();
  // Reactions the hub no longer has (to a URL and to a cast) are deleted by the fid's sync.
  query(
      "INSERT INTO reactions (source, target_url, actor_external_id, kind) VALUES "
      "('farcaster', 'https://warpcast.com/~/channel/gone', '1', 'like')");
  query(
      "INSERT INTO reactions (source, post_external_id, actor_external_id, kind) VALUES "
      "('farcaster', '0x00000000000000000000000000000000000000aa', '2', 'recast')");
  // A reaction has exactly one target: a cast or a URL.
  EXPECT_THROW(query("INSERT INTO reactions (source, actor_external_id, kind) VALUES "
                     "('farcaster', '3', 'like')"),
               pqxx::check_violation);
  HubSync hub(*db_, "farcaster", settings());
  EXPECT_EQ(dialect_name(hub.dialect()), GetParam());
  EXPECT_EQ(sync_all(hub), 0);
  expect_truth();
}

TEST_P(FarcasterSyncTest, SecondRunWritesNothing) {
  start_devnet();
  HubSync hub(*db_, "farcaster", settings());
  ASSERT_EQ(sync_all(hub), 0);
  const std::string before = row_versions();
  HubSync again(*db_, "farcaster", settings());
  FidResult total;
  for (std::uint64_t fid : again.fids_to_sync()) {
    const FidResult r = again.sync_fid(fid);
    total.casts_written += r.casts_written;
    total.casts_removed += r.casts_removed;
  }
  EXPECT_EQ(total.casts_written, 0);
  EXPECT_EQ(total.casts_removed, 0);
  EXPECT_EQ(before, row_versions());
}

TEST_P(FarcasterSyncTest, OtherChainsCopiesOfALinkAreLeftAlone) {
  start_devnet();
  HubSync hub(*db_, "farcaster", settings());
  ASSERT_EQ(sync_all(hub), 0);
  // The base worker's rows copy the link of the address's ethereum row when it creates them
  // (docs/evm.md); a re-sync of the fid must not unlink them (it did, so the outcome depended
  // on which worker ran last).
  const auto copied = scalar(
      "WITH c AS (INSERT INTO wallets (chain, address, profile_source, profile_external_id) "
      "SELECT 'base', address, profile_source, profile_external_id FROM wallets "
      "WHERE chain = 'ethereum' AND profile_source = 'farcaster' RETURNING 1) "
      "SELECT count(*) FROM c");
  ASSERT_GT(copied, 0);
  ASSERT_EQ(sync_all(hub), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM wallets WHERE chain = 'base' AND "
                   "profile_source = 'farcaster'"),
            copied);
}

TEST_P(FarcasterSyncTest, IncrementalGrowthAndRemoves) {
  start_devnet();
  HubSync hub(*db_, "farcaster", settings());
  ASSERT_EQ(sync_all(hub), 0);
  const json grown = devnet_->post("/_devnet/farcaster/grow", {{"casts", 4}, {"removes", 2}});
  ASSERT_EQ(grown["added"].get<int>(), 4 * kUsers);
  // Fids found in profiles are synced too, without being configured.
  HubSettings s = settings();
  s.fids = {1};
  HubSync next(*db_, "farcaster", s);
  ASSERT_EQ(next.fids_to_sync().size(), static_cast<std::size_t>(kUsers));
  FidResult total;
  for (std::uint64_t fid : next.fids_to_sync()) {
    const FidResult r = next.sync_fid(fid);
    total.casts_written += r.casts_written;
    total.casts_removed += r.casts_removed;
    total.casts += r.casts;
  }
  EXPECT_EQ(total.casts_written, 4 * kUsers);
  EXPECT_EQ(total.casts_removed, 2 * kUsers);
  // Only the tail was read again: far fewer casts than the whole set.
  EXPECT_LT(total.casts, 4 * kUsers + 7 * kUsers + 1);
  expect_truth();
}

TEST_P(FarcasterSyncTest, RefusedCursorRestartsFromTheBeginning) {
  start_devnet();
  HubSync hub(*db_, "farcaster", settings());
  ASSERT_EQ(sync_all(hub), 0);
  // Cursors from another hub, and a cast the worker must re-create from the first page.
  db_->with_transaction([&](pqxx::work& tx) {
    db_->exec(tx, "UPDATE sync_state SET cursor = 'not a token from this hub'");
    db_->exec(tx, "DELETE FROM external_posts WHERE id = (SELECT min(id) FROM external_posts)");
  });
  EXPECT_EQ(sync_all(hub), 0);
  expect_truth();
}

TEST_P(FarcasterSyncTest, KillNineMidSyncThenRestartConverges) {
  // Latency and small pages make the sync span many commits; each kill waits for a progress
  // signal (a share of the casts committed), never for a timer, so it cannot miss the sync on a
  // fast machine nor land before it started on a slow one.
  start_devnet({"--latency-ms", "10"});
  const std::string dir = socialai::testing::make_temp_dir();
  const std::string config = write_config(dir, 5, {{"mode", "poll"}});
  const std::string log = dir + "/worker.log";
  const auto total = devnet_->get("/_devnet/farcaster/truth")["counts"]["casts"].get<double>();
  auto tail = [&] { return FarcasterFixture::tail(log); };
  for (const double share : {0.15, 0.35, 0.55, 0.7}) {
    const pid_t pid = spawn_worker(config, log);
    const auto target = static_cast<std::int64_t>(share * total);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (scalar("SELECT count(*) FROM external_posts") < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(scalar("SELECT count(*) FROM external_posts"), target) << tail();
    ::kill(pid, SIGKILL);
    ASSERT_EQ(wait_worker(pid), -SIGKILL)
        << "the worker finished before the kill at " << share << "; the test proves nothing\n"
        << tail();
    EXPECT_LT(scalar("SELECT count(*) FROM external_posts"), static_cast<std::int64_t>(total));
  }
  const int rc = wait_worker(spawn_worker(config, log));
  ASSERT_EQ(rc, 0) << tail();
  expect_truth();
  EXPECT_EQ(scalar("SELECT count(*) - count(DISTINCT external_id) FROM external_posts"), 0);
}

TEST_P(FarcasterSyncTest, InjectedFaultsAreLoggedAndLeaveNothingHalfWritten) {
  start_devnet({"--fault-rate", "0.2", "--retry-after", "0"});
  const std::string dir = socialai::testing::make_temp_dir();
  const std::string config = write_config(dir, 10, {{"mode", "poll"}});
  const std::string log = dir + "/worker.log";
  int rc = 1;
  for (int run = 0; run < 8 && rc != 0; ++run) {
    rc = wait_worker(spawn_worker(config, log));
  }
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(rc, 0) << text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
  devnet_->set_faults("farcaster", 0.0);
  expect_truth();

  const json stats = devnet_->get("/_devnet/stats")["farcaster"]["faults"];
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
      ++n;
    }
    return n;
  };
  const auto fault = [&](const char* k) { return stats.value(k, std::size_t{0}); };
  ASSERT_GT(fault("malformed") + fault("429") + fault("5xx") + fault("truncate"), 0u);
  // Every malformed body is one log line naming the cause; every 429/5xx/cut transfer is a
  // retry line or, when the retries ran out, the failed item's line.
  EXPECT_EQ(count("malformed response"), fault("malformed")) << text;
  EXPECT_GE(count("retrying in") + count("failed: "),
            fault("429") + fault("5xx") + fault("truncate"))
      << text;
  EXPECT_GT(count("body is not valid JSON"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, FarcasterSyncTest, ::testing::Values("snapchain", "hubble"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace socialai::farcaster
