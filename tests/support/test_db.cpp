// TestSchema: schema-per-test isolation on the shared test cluster.
#include "test_db.h"

#include <cstdlib>
#include <random>

#include <pqxx/pqxx>
#include <stdexcept>

#include "common/db.h"
#include "common/migrate.h"

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
  pqxx::work tx(c);
  // pg_trgm exists once per database, in public (seen through every test schema's
  // search_path). Concurrent test processes on a fresh database would collide on an
  // unguarded CREATE EXTENSION, hence the lock.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext('socialai_test_pg_trgm'))");
  tx.exec("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
  tx.exec("CREATE SCHEMA " + tx.quote_name(name_));
  tx.commit();
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

bool open_migrated_schema(std::optional<TestSchema>& schema, std::unique_ptr<Db>& db) {
  const char* url = std::getenv("SOCIALAI_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    return false;
  }
  schema.emplace();
  db = std::make_unique<Db>(schema->url());
  if (!db->connect(nullptr, 3)) {
    throw std::runtime_error("cannot connect to the test database");
  }
  apply_migrations(db->conn(), embedded_migrations());
  return true;
}

}  // namespace socialai::testing
