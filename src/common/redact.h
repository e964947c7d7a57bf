// Redaction of secrets in connection strings, for messages and --check-config.
#pragma once

#include <string>
#include <string_view>

namespace socialai {

// scheme://host[:port]/path of `url`: userinfo dropped, a query replaced by "?…", fragment
// dropped, key-looking path segments (20+ of [A-Za-z0-9_-]) replaced by "***". Safe for logs
// and error texts.
std::string redact_url(std::string_view url);

// A database URL (postgresql://user:password@host/db, ?password=, or libpq key=value form
// "host=h password=secret" / "password = 'a b'") with every password value replaced by "***";
// the user and host stay visible. Also safe on free text that quotes a connection string
// (error messages).
std::string redact_db_url(const std::string& url);

}  // namespace socialai
