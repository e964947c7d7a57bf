// TestSchema: a private schema per test in the PostgreSQL that scripts/test.sh starts
// (SOCIALAI_TEST_DATABASE_URL). Tests call GTEST_SKIP() when !available().
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace socialai {
class Db;
}

namespace socialai::testing {

class TestSchema {
 public:
  TestSchema();   // creates schema t_<random> when the URL is set
  ~TestSchema();  // drops it
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  bool available() const { return !base_url_.empty(); }
  const std::string& name() const { return name_; }
  // A libpq URL whose connections use search_path = <schema>, public.
  const std::string& url() const { return url_; }

 private:
  std::string base_url_, name_, url_;
};

// A fixture's database: a new private schema with every migration applied and a connected Db
// on it. False (nothing opened) when SOCIALAI_TEST_DATABASE_URL is unset, so the caller can
// GTEST_SKIP(); throws if the database cannot be reached.
bool open_migrated_schema(std::optional<TestSchema>& schema, std::unique_ptr<Db>& db);

inline constexpr const char* kNoTestDatabase =
    "SOCIALAI_TEST_DATABASE_URL not set (scripts/test.sh sets it)";

}  // namespace socialai::testing
