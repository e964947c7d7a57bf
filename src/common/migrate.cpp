// Migration runner: in order, one transaction each, under a cluster-wide advisory lock.
#include "common/migrate.h"

#include <set>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace socialai {
namespace {
// Arbitrary constant shared by every socialai process: serializes concurrent migrators.
constexpr long long kMigrationLockKey = 0x50c1a1a1;
}  // namespace

std::vector<std::string> apply_migrations(pqxx::connection& conn,
                                          const std::vector<Migration>& migrations) {
  std::vector<std::string> applied;
  {
    pqxx::nontransaction nt(conn);
    nt.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }
  try {
    {
      pqxx::work tx(conn);
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    std::set<std::string> done;
    {
      pqxx::read_transaction tx(conn);
      for (const auto& row : tx.exec("SELECT name FROM schema_migrations")) {
        done.insert(row[0].as<std::string>());
      }
    }
    for (const auto& m : migrations) {
      if (done.count(m.name)) {
        continue;
      }
      pqxx::work tx(conn);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (name) VALUES ($1)", m.name);
      tx.commit();
      spdlog::info("applied migration {}", m.name);
      applied.push_back(m.name);
    }
  } catch (...) {
    try {
      pqxx::nontransaction nt(conn);
      nt.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    } catch (...) {
    }
    throw;
  }
  pqxx::nontransaction nt(conn);
  nt.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
  return applied;
}

}  // namespace socialai
