// TestSchema: a private schema per test in the PostgreSQL that scripts/test.sh starts
// (SOCIALAI_TEST_DATABASE_URL). Tests call GTEST_SKIP() when !available().
#pragma once

#include <string>

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

}  // namespace socialai::testing
