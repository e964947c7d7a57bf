// Redaction of secrets in connection strings, for messages and --check-config.
#pragma once

#include <string>

namespace socialai {

// A database URL (postgresql://user:password@host/db or key=value form) with any password
// replaced by "***"; the user and host stay visible.
std::string redact_db_url(const std::string& url);

}  // namespace socialai
