// Applies sql/NNN_*.sql migrations in order, each in its own transaction, under an advisory
// lock, recording them in schema_migrations. Re-running is a no-op.
#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace socialai {

struct Migration {
  std::string name;  // e.g. "001_core"
  std::string sql;
};

// The migrations compiled into the binary (generated from sql/ by cmake/EmbedSql.cmake).
const std::vector<Migration>& embedded_migrations();

// Applies those not yet recorded. Returns the names applied. Throws on SQL errors (the
// failing migration's transaction is rolled back; earlier ones stay applied).
std::vector<std::string> apply_migrations(pqxx::connection& conn,
                                          const std::vector<Migration>& migrations);

}  // namespace socialai
