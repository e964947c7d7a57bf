// Db, migrations and the flag/settings NOTIFY triggers on a real PostgreSQL 15.
#include "common/db.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/migrate.h"
#include "test_db.h"

namespace socialai {
namespace {

using namespace std::chrono_literals;

class DbPg : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!schema_.available()) {
      GTEST_SKIP() << "SOCIALAI_TEST_DATABASE_URL not set (scripts/test.sh sets it)";
    }
  }
  testing::TestSchema schema_;
};

TEST_F(DbPg, MigrationsApplyOnceAndAreRecorded) {
  Db db(schema_.url());
  ASSERT_TRUE(db.connect(nullptr, 3));
  const auto first = apply_migrations(db.conn(), embedded_migrations());
  EXPECT_EQ(first.size(), embedded_migrations().size());
  EXPECT_TRUE(apply_migrations(db.conn(), embedded_migrations()).empty());
  const auto n = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx, "SELECT count(*) FROM schema_migrations")[0][0].as<int>();
  });
  EXPECT_EQ(static_cast<std::size_t>(n), embedded_migrations().size());
  // Seeded flags: reddit off, the rest on.
  const auto off = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx, "SELECT flag_name FROM feature_flags WHERE NOT enabled")[0][0]
        .as<std::string>();
  });
  EXPECT_EQ(off, "reddit_enabled");
}

TEST_F(DbPg, FailedMigrationRollsBackAndReports) {
  Db db(schema_.url());
  ASSERT_TRUE(db.connect(nullptr, 3));
  const std::vector<Migration> bad = {{"900_ok", "CREATE TABLE ok_t (x int)"},
                                      {"901_bad", "CREATE TABLE bad_t (x int); SELECT nope"}};
  EXPECT_THROW(apply_migrations(db.conn(), bad), std::exception);
  const auto names = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx,
                   "SELECT string_agg(name, ','), to_regclass('bad_t') IS NULL "
                   "FROM schema_migrations");
  });
  EXPECT_EQ(names[0][0].as<std::string>(), "900_ok");
  EXPECT_TRUE(names[0][1].as<bool>());  // the failing file left nothing behind
}

TEST_F(DbPg, FlagChangeNotifiesListener) {
  Db admin(schema_.url()), listener(schema_.url());
  ASSERT_TRUE(admin.connect(nullptr, 3));
  apply_migrations(admin.conn(), embedded_migrations());
  ASSERT_TRUE(listener.connect(nullptr, 3));
  listener.listen("socialai_config");
  // The channel is database-wide: tests running at the same time in other schemas notify it
  // too, so this test cannot expect silence or exact counts, only its own notifications.
  admin.with_transaction([&](pqxx::work& tx) {
    admin.exec(tx, "UPDATE feature_flags SET enabled = false WHERE flag_name = $1",
               std::string("search_enabled"));
  });
  const auto got = listener.wait_for_notification(5000ms);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], "socialai_config");
  admin.with_transaction([&](pqxx::work& tx) {
    admin.exec(tx, "INSERT INTO settings (key, value) VALUES ('search_batch_size', '5')");
  });
  EXPECT_FALSE(listener.wait_for_notification(5000ms).empty());
  EXPECT_GE(admin.stats().queries, 2);
}

TEST_F(DbPg, ListenerNoticesATerminatedSessionAtOnce) {
  Db admin(schema_.url());
  ASSERT_TRUE(admin.connect(nullptr, 3));
  for (int round = 0; round < 20; ++round) {  // the server's goodbye races the poll
    Db listener(schema_.url());
    ASSERT_TRUE(listener.connect(nullptr, 3));
    listener.listen("socialai_config");
    const int backend = listener.with_transaction(
        [&](pqxx::work& tx) { return listener.exec(tx, "SELECT pg_backend_pid()")[0][0].as<int>(); });
    admin.with_transaction([&](pqxx::work& tx) {
      admin.exec(tx, "SELECT pg_terminate_backend($1)", backend);
    });
    const auto t0 = std::chrono::steady_clock::now();
    bool broken = false;
    try {
      // Within the 30 s a worker waits between heartbeats, the loss must surface at once.
      while (std::chrono::steady_clock::now() - t0 < 30s) {
        listener.wait_for_notification(30000ms);
      }
    } catch (const pqxx::broken_connection&) {
      broken = true;
    }
    ASSERT_TRUE(broken) << "round " << round;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "round " << round;
  }
}

TEST_F(DbPg, ConnectGivesUpAfterAttemptsOnDeadServer) {
  Db db("postgresql://postgres@127.0.0.1:1/none?connect_timeout=1",
        BackoffPolicy{1ms, 5ms});
  EXPECT_FALSE(db.connect(nullptr, 2));
  EXPECT_FALSE(db.connected());
}

TEST_F(DbPg, RedactsPasswords) {
  EXPECT_EQ(redact_db_url("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(redact_db_url("host=h password=secret dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(redact_db_url("postgresql:///db?password=secret&x=1"),
            "postgresql:///db?password=***&x=1");
}

}  // namespace
}  // namespace socialai
