// PostgreSQL array literals for bulk statements (unnest($1::text[], ...)) and parsing real[]
// values back. Values travel as parameters; only the literal syntax is built here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workers/ai/provider.h"

namespace socialai::ai {

std::string pg_array(const std::vector<std::int64_t>& values);
std::string pg_array(const std::vector<int>& values);
// Quoted elements ("a\"b"), so any text survives.
std::string pg_array(const std::vector<std::string>& values);
// {0.1,-0.2,...} with enough digits to round-trip a float.
std::string pg_vector(const Vector& v);
// Parses a real[] text value ("{0.1,0.2}"); throws std::invalid_argument on garbage.
Vector parse_pg_vector(std::string_view text);

}  // namespace socialai::ai
