// Shared fixture of the reddit integration tests: a private schema, the real devnet with its
// Reddit service, a TestContext with the worker's settings, and the comparison of the stored
// rows with the devnet's truth.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "common/migrate.h"
#include "devnet_process.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/reddit/reddit_sync.h"

namespace socialai::testing {

using json = nlohmann::json;

// Routes spdlog's default logger into a string for the lifetime of the object.
class RedditLogCapture {
 public:
  RedditLogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~RedditLogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }
  // Lines containing every one of `needles`.
  int lines_with(std::initializer_list<std::string> needles) const {
    std::istringstream in(text());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      bool all = true;
      for (const auto& s : needles) {
        all = all && line.find(s) != std::string::npos;
      }
      n += all ? 1 : 0;
    }
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class RedditFixture : public ::testing::Test {
 protected:
  // Devnet flags for the Reddit service; tests may change them before SetUp via the ctor.
  std::vector<std::string> devnet_flags_ = {
      "--reddit-posts-per-sub", "40",     "--reddit-comments-per-post", "3",
      "--reddit-rate-limit",    "100000", "--reddit-rate-window",       "1"};
  std::vector<std::string> subs_ = {"alpha", "beta_two"};

  void SetUp() override {
    if (!socialai::testing::open_migrated_schema(schema_, db_)) {
      GTEST_SKIP() << socialai::testing::kNoTestDatabase;
    }
    devnet_ = std::make_unique<DevnetProcess>(devnet_flags_);
    ctx_ = std::make_unique<TestContext>(*db_, "reddit");
    std::string list;
    for (const auto& s : subs_) {
      list += (list.empty() ? "" : ",") + s;
    }
    ctx_->settings_ = {{"subreddits", list},
                       {"client_id", "devnet-client"},
                       {"client_secret", "devnet-secret"},
                       {"base_url", devnet_->url("/reddit")},
                       {"auth_url", devnet_->url("/reddit/api/v1/access_token")},
                       {"requests_per_minute", "600000"},
                       {"limit", "25"},
                       {"max_pages", "1000"}};
  }

  pqxx::result sql(const std::string& text) {
    return db_->with_transaction([&](pqxx::work& tx) { return db_->exec(tx, text); });
  }
  std::int64_t scalar(const std::string& text) { return sql(text)[0][0].as<std::int64_t>(); }

  json truth() {
    std::string list;
    for (const auto& s : subs_) {
      list += (list.empty() ? "" : ",") + s;
    }
    return devnet_->get("/_devnet/reddit/truth?full=1&subs=" + list);
  }
  json stats() { return devnet_->get("/_devnet/reddit/stats"); }

  // external_id → the row's synced columns, as the worker must have stored them.
  std::map<std::string, json> expected_rows(const json& t) {
    std::map<std::string, json> out;
    // "[deleted]" is nobody, whatever author_fullname came with it.
    const auto author = [](const json& d) {
      return d.contains("author_fullname") && d["author"] != "[deleted]" ? d["author_fullname"]
                                                                         : json(nullptr);
    };
    for (const auto& d : t["items"]["posts"]) {
      out[d["name"]] = {author(d),       d["subreddit"],     d["title"],
                        d["selftext"],   d["url"],           d["score"],
                        d["num_comments"], d["created_utc"], nullptr,
                        nullptr};
    }
    for (const auto& d : t["items"]["comments"]) {
      out[d["name"]] = {author(d),   d["subreddit"],  nullptr,
                        d["body"],   "https://www.reddit.com" + d["permalink"].get<std::string>(),
                        d["score"],  nullptr,         d["created_utc"],
                        d["parent_id"], d["link_id"]};
    }
    return out;
  }

  std::map<std::string, json> stored_rows() {
    std::map<std::string, json> out;
    for (const auto& r : sql(
             "SELECT external_id, author_external_id, community, title, content, url, score, "
             "reply_count, extract(epoch FROM created_at)::float8, parent_external_id, "
             "thread_external_id FROM external_posts WHERE source = 'reddit'")) {
      json row = json::array();
      for (int i = 1; i < 11; ++i) {
        if (r[i].is_null()) {
          row.push_back(nullptr);
        } else if (i == 6 || i == 7) {
          row.push_back(r[i].as<std::int64_t>());
        } else if (i == 8) {
          row.push_back(r[i].as<double>());
        } else {
          row.push_back(r[i].as<std::string>());
        }
      }
      out[r[0].as<std::string>()] = row;
    }
    return out;
  }

  // Differences between the tables and the truth ("" when equal). With subset = true, rows
  // still missing are fine but every stored row must be exact (nothing half-written).
  std::string compare(const json& t, bool subset = false) {
    const auto want = expected_rows(t);
    const auto have = stored_rows();
    std::ostringstream diff;
    int shown = 0;
    for (const auto& [id, row] : have) {
      const auto it = want.find(id);
      if (it == want.end()) {
        diff << "unexpected row " << id << "\n";
      } else if (it->second != row) {
        diff << "row " << id << " differs: have " << row.dump() << " want " << it->second.dump()
             << "\n";
      } else {
        continue;
      }
      if (++shown > 5) {
        return diff.str();
      }
    }
    if (!subset) {
      for (const auto& [id, row] : want) {
        if (have.count(id) == 0 && ++shown <= 5) {
          diff << "missing row " << id << "\n";
        }
      }
      std::map<std::string, std::string> profiles;
      for (const auto& r : sql("SELECT external_id, username FROM profiles WHERE source = 'reddit'")) {
        profiles[r[0].as<std::string>()] = r[1].as<std::string>();
      }
      const auto authors = t["items"]["authors"].get<std::map<std::string, std::string>>();
      if (profiles != authors) {
        diff << "profiles differ: have " << profiles.size() << " want " << authors.size() << "\n";
      }
    } else {
      for (const auto& r : sql("SELECT external_id FROM profiles WHERE source = 'reddit'")) {
        if (!t["items"]["authors"].contains(r[0].as<std::string>())) {
          diff << "unexpected profile " << r[0].as<std::string>() << "\n";
        }
      }
    }
    return diff.str();
  }

  // Runs cycles (validating first, as the runtime does) until the tables equal the truth or
  // `max_cycles` ran. Returns the cycles run.
  int sync_until_equal(int max_cycles, bool check_subset_each_cycle = false) {
    const json t = truth();
    for (int i = 1; i <= max_cycles; ++i) {
      run_one_cycle();
      if (check_subset_each_cycle) {
        EXPECT_EQ(compare(t, true), "") << "after cycle " << i;
      }
      if (compare(t).empty()) {
        return i;
      }
    }
    return max_cycles + 1;
  }

  void run_one_cycle() {
    if (!validated_) {
      worker_.validate(*ctx_);
      validated_ = true;
    }
    worker_.run_cycle(*ctx_);
  }

  std::optional<TestSchema> schema_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<DevnetProcess> devnet_;
  std::unique_ptr<TestContext> ctx_;
  RedditSync worker_;
  bool validated_ = false;
};

}  // namespace socialai::testing
