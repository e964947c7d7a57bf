// FarcasterFixture: what the farcaster integration tests share: a private schema, the real
// devnet (12 fids × 25 casts), truth comparison of every table the worker writes, row versions
// (to prove a re-run wrote nothing), and the real worker binary run under a config file.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "devnet_process.h"
#include "manager_harness.h"
#include "test_db.h"
#include "workers/farcaster/farcaster_sync.h"

namespace socialai::farcaster {

using json = nlohmann::json;
using socialai::testing::DevnetProcess;
using Rows = std::set<std::vector<std::string>>;

constexpr int kUsers = 12;

inline std::vector<std::string> devnet_args(const std::string& dialect) {
  return {"--farcaster-users",
          std::to_string(kUsers),
          "--farcaster-casts-per-user",
          "25",
          "--farcaster-reactions-per-user",
          "6",
          "--farcaster-follows-per-user",
          "4",
          "--farcaster-removes",
          "0.15",
          "--farcaster-dialect",
          dialect};
}

inline std::string all_fids() {
  std::string s = "[";
  for (int f = 1; f <= kUsers; ++f) {
    s += (f > 1 ? "," : "") + std::to_string(f);
  }
  return s + "]";
}

inline std::string opt(const json& v) { return v.is_null() ? std::string() : v.get<std::string>(); }

class FarcasterFixture : public ::testing::TestWithParam<std::string> {
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
    for (const char* t :
         {"external_posts", "profiles", "reactions", "follows", "wallets", "sync_state"}) {
      out += t;
      for (const auto& r :
           query(std::string("SELECT ctid::text, xmin::text FROM ") + t + " ORDER BY 1")) {
        out += " " + r[0] + "/" + r[1];
      }
      out += "\n";
    }
    return out;
  }

  // The database holds exactly the devnet's current truth (of `fids` only, "1,2", if set).
  void expect_truth(const std::string& fids = "") {
    const json t = devnet_->get("/_devnet/farcaster/truth?full=1" +
                                (fids.empty() ? std::string() : "&fids=" + fids));
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
      follows.insert(
          {std::to_string(f[0].get<std::uint64_t>()), std::to_string(f[1].get<std::uint64_t>())});
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
    EXPECT_GT(
        scalar("SELECT count(*) FROM reactions WHERE target_url LIKE 'chain://eip155:1/erc721:%'"),
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

  // Runs the real worker binary: `[--once] --config`. Returns its pid (not waited for).
  pid_t spawn_worker(const std::string& config, const std::string& log, bool once = true) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      if (once) {
        ::execl(SOCIALAI_FARCASTER_WORKER_BIN, SOCIALAI_FARCASTER_WORKER_BIN, "--once", "--config",
                config.c_str(), static_cast<char*>(nullptr));
      } else {
        ::execl(SOCIALAI_FARCASTER_WORKER_BIN, SOCIALAI_FARCASTER_WORKER_BIN, "--config",
                config.c_str(), static_cast<char*>(nullptr));
      }
      ::_exit(127);
    }
    return pid;
  }

  // The last 4000 bytes of a log file, for failure messages.
  static std::string tail(const std::string& log) {
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
  }

  int wait_worker(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  // A config file for the worker binary; `extra` keys go into its farcaster section.
  std::string write_config(const std::string& dir, int page_size,
                           const json& extra = json::object()) {
    json cfg = {{"database", {{"url", schema_->url()}, {"migrate_on_start", true}}},
                {"workers",
                 {{"farcaster",
                   {{"hub_url", devnet_->url("/farcaster")},
                    {"fids", json::parse(all_fids())},
                    {"page_size", page_size},
                    {"interval_ms", 1000}}}}}};
    cfg["workers"]["farcaster"].update(extra);
    const std::string path = dir + "/config.json";
    std::ofstream(path) << cfg.dump(2);
    return path;
  }

  std::optional<socialai::testing::TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
};

}  // namespace socialai::farcaster
