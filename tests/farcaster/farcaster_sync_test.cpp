// The farcaster worker against the real devnet and a real PostgreSQL, in both hub dialects:
// full sync = devnet truth, idempotent re-runs, incremental growth with removes, kill -9 of the
// real binary mid-sync, and 20% injected faults.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/migrate.h"
#include "devnet_process.h"
#include "manager_harness.h"
#include "test_db.h"
#include "workers/farcaster/farcaster_sync.h"

namespace socialai::farcaster {
namespace {

using json = nlohmann::json;
using socialai::testing::DevnetProcess;
using Rows = std::set<std::vector<std::string>>;

constexpr int kUsers = 12;

std::vector<std::string> devnet_args(const std::string& dialect) {
  return {"--farcaster-users", std::to_string(kUsers), "--farcaster-casts-per-user", "25",
          "--farcaster-reactions-per-user", "6", "--farcaster-follows-per-user", "4",
          "--farcaster-removes", "0.15", "--farcaster-dialect", dialect};
}

std::string all_fids() {
  std::string s = "[";
  for (int f = 1; f <= kUsers; ++f) {
    s += (f > 1 ? "," : "") + std::to_string(f);
  }
  return s + "]";
}

std::string opt(const json& v) { return v.is_null() ? std::string() : v.get<std::string>(); }

class FarcasterSyncTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
  }

  void start_devnet(std::vector<std::string> extra = {}) {
    auto args = devnet_args(GetParam());
    args.insert(args.end(), extra.begin(), extra.end());
    devnet_ = std::make_unique<DevnetProcess>(args, 7);
  }

  HubSettings settings() const {
    HubSettings s;
    s.hub_url = devnet_->url("/farcaster");
    for (int f = 1; f <= kUsers; ++f) {
      s.fids.push_back(static_cast<std::uint64_t>(f));
    }
    s.page_size = 7;  // many pages per fid
    return s;
  }

  // One library cycle over every fid; returns the fids that failed.
  int sync_all(HubSync& hub) {
    int failed = 0;
    for (std::uint64_t fid : hub.fids_to_sync()) {
      try {
        hub.sync_fid(fid);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "fid " << fid << ": " << e.what();
        ++failed;
      }
    }
    return failed;
  }

  Rows query(const std::string& sql) {
    Rows out;
    db_->with_transaction([&](pqxx::work& tx) {
      for (const auto& row : db_->exec(tx, sql)) {
        std::vector<std::string> v;
        for (const auto& f : row) {
          v.push_back(f.is_null() ? "" : f.as<std::string>());
        }
        out.insert(v);
      }
    });
    return out;
  }

  std::int64_t scalar(const std::string& sql) {
    return db_->with_transaction(
        [&](pqxx::work& tx) { return db_->exec(tx, sql)[0][0].as<std::int64_t>(); });
  }

  // Every row version of the tables the worker writes, to prove a re-run changed nothing.
  std::string row_versions() {
    std::string out;
    for (const char* t : {"external_posts", "profiles", "reactions", "follows", "wallets",
                          "sync_state"}) {
      out += t;
      for (const auto& r :
           query(std::string("SELECT ctid::text, xmin::text FROM ") + t + " ORDER BY 1")) {
        out += " " + r[0] + "/" + r[1];
      }
      out += "\n";
    }
    return out;
  }

  // The database holds exactly the devnet's current truth.
  void expect_truth() {
    const json t = devnet_->get("/_devnet/farcaster/truth?full=1");
    Rows casts, reactions, follows, wallets, profiles;
    for (const auto& c : t["casts"]) {
      casts.insert({c["hash"].get<std::string>(), std::to_string(c["fid"].get<std::uint64_t>()),
                    c["text"].get<std::string>(), opt(c["parent_hash"]), opt(c["parent_url"]),
                    std::to_string(c["timestamp"].get<std::int64_t>() + kFarcasterEpoch)});
    }
    for (const auto& r : t["reactions"]) {  // [fid, cast hash or null, kind, url or null]
      reactions.insert({std::to_string(r[0].get<std::uint64_t>()), opt(r[1]),
                        r[2].get<std::string>(), opt(r[3])});
    }
    for (const auto& f : t["follows"]) {
      follows.insert({std::to_string(f[0].get<std::uint64_t>()),
                      std::to_string(f[1].get<std::uint64_t>())});
    }
    for (const auto& w : t["wallets"]) {
      wallets.insert({w[0].get<std::string>(), w[1].get<std::string>(),
                      std::to_string(w[2].get<std::uint64_t>())});
    }
    for (const auto& p : t["profiles"]) {
      profiles.insert({std::to_string(p["fid"].get<std::uint64_t>()),
                       p["USER_DATA_TYPE_USERNAME"].get<std::string>(),
                       p["USER_DATA_TYPE_DISPLAY"].get<std::string>(),
                       p["USER_DATA_TYPE_BIO"].get<std::string>(),
                       p["USER_DATA_TYPE_PFP"].get<std::string>()});
    }
    ASSERT_GT(casts.size(), 100u);
    EXPECT_EQ(casts.size(), t["counts"]["casts"].get<std::size_t>());
    EXPECT_EQ(casts, query("SELECT external_id, author_external_id, content, parent_external_id, "
                           "community, extract(epoch FROM created_at)::bigint::text "
                           "FROM external_posts WHERE source = 'farcaster'"));
    EXPECT_EQ(reactions, query("SELECT actor_external_id, post_external_id, kind, target_url "
                               "FROM reactions WHERE source = 'farcaster'"));
    // Reactions to URLs (channels, chain:// NFTs) are there, with a URL and no post.
    EXPECT_GT(t["counts"]["url_reactions"].get<int>(), 0);
    EXPECT_EQ(scalar("SELECT count(*) FROM reactions WHERE source = 'farcaster' AND "
                     "target_url IS NOT NULL AND post_external_id IS NULL"),
              t["counts"]["url_reactions"].get<int>());
    EXPECT_GT(scalar("SELECT count(*) FROM reactions WHERE target_url LIKE 'chain://eip155:1/erc721:%'"),
              0);
    EXPECT_EQ(follows, query("SELECT follower_external_id, followee_external_id FROM follows "
                             "WHERE source = 'farcaster'"));
    EXPECT_EQ(wallets, query("SELECT chain, address, profile_external_id FROM wallets "
                             "WHERE profile_source = 'farcaster'"));
    EXPECT_EQ(profiles, query("SELECT external_id, username, display_name, bio, avatar_url "
                              "FROM profiles WHERE source = 'farcaster'"));
    // Both chains appear, and mentions/embeds are kept in raw.
    EXPECT_GT(t["counts"]["wallets_solana"].get<int>(), 0);
    EXPECT_GT(scalar("SELECT count(*) FROM external_posts WHERE source = 'farcaster' "
                     "AND jsonb_array_length(raw->'mentions') > 0 "
                     "AND jsonb_array_length(raw->'mentionsPositions') > 0"),
              0);
    EXPECT_GT(scalar("SELECT count(*) FROM external_posts WHERE source = 'farcaster' "
                     "AND raw->'embeds' @> '[{\"castId\": {}}]'"),
              0);
  }

  // Runs the real worker binary: `--once --config`. Returns its pid (not waited for).
  pid_t spawn_worker(const std::string& config, const std::string& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(SOCIALAI_FARCASTER_WORKER_BIN, SOCIALAI_FARCASTER_WORKER_BIN, "--once", "--config",
              config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }

  int wait_worker(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  std::string write_config(const std::string& dir, int page_size) {
    const json cfg = {
        {"database", {{"url", schema_->url()}, {"migrate_on_start", true}}},
        {"workers",
         {{"farcaster",
           {{"hub_url", devnet_->url("/farcaster")},
            {"fids", json::parse(all_fids())},
            {"page_size", page_size},
            {"interval_ms", 1000}}}}}};
    const std::string path = dir + "/config.json";
    std::ofstream(path) << cfg.dump(2);
    return path;
  }

  std::optional<socialai::testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
};

TEST_P(FarcasterSyncTest, FullSyncEqualsTruthAndDetectsDialect) {
  start_devnet();
  // Reactions the hub no longer has (to a URL and to a cast) are deleted by the fid's sync.
  query("INSERT INTO reactions (source, target_url, actor_external_id, kind) VALUES "
        "('farcaster', 'https://warpcast.com/~/channel/gone', '1', 'like')");
  query("INSERT INTO reactions (source, post_external_id, actor_external_id, kind) VALUES "
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
  const std::string config = write_config(dir, 5);
  const std::string log = dir + "/worker.log";
  const auto total = devnet_->get("/_devnet/farcaster/truth")["counts"]["casts"].get<double>();
  auto tail = [&] {
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
  };
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
    ASSERT_EQ(wait_worker(pid), -SIGKILL) << "the worker finished before the kill at " << share
                                          << "; the test proves nothing\n"
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
  const std::string config = write_config(dir, 10);
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
