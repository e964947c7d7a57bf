// TestSchema: schema-per-test isolation on the shared test cluster.
#include "test_db.h"

#include <cstdlib>
#include <random>

#include <pqxx/pqxx>

namespace socialai::testing {

TestSchema::TestSchema() {
  const char* url = std::getenv("SOCIALAI_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    return;
  }
  base_url_ = url;
  std::random_device rd;
  name_ = "t_" + std::to_string(rd()) + std::to_string(rd() % 1000);
  pqxx::connection c(base_url_);
  pqxx::nontransaction tx(c);
  tx.exec("CREATE SCHEMA " + tx.quote_name(name_));
  tx.exec("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
  url_ = base_url_ + (base_url_.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + name_ + "%2Cpublic";
}

TestSchema::~TestSchema() {
  if (name_.empty()) {
    return;
  }
  try {
    pqxx::connection c(base_url_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP SCHEMA " + tx.quote_name(name_) + " CASCADE");
  } catch (...) {
  }
}

}  // namespace socialai::testing
