// Array literal building and real[] parsing for the AI worker's bulk SQL.
#include "workers/ai/pg_array.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace socialai::ai {
namespace {

template <typename T>
std::string numbers(const std::vector<T>& values) {
  std::string s = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      s += ',';
    }
    s += std::to_string(values[i]);
  }
  s += '}';
  return s;
}

}  // namespace

std::string pg_array(const std::vector<std::int64_t>& values) { return numbers(values); }
std::string pg_array(const std::vector<int>& values) { return numbers(values); }

std::string pg_array(const std::vector<std::string>& values) {
  std::string s = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      s += ',';
    }
    s += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') {
        s += '\\';
      }
      s += c;
    }
    s += '"';
  }
  s += '}';
  return s;
}

std::string pg_vector(const Vector& v) {
  std::string s = "{";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      s += ',';
    }
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
    s += buf;
  }
  s += '}';
  return s;
}

Vector parse_pg_vector(std::string_view text) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    throw std::invalid_argument("not an array literal");
  }
  Vector v;
  const std::string body(text.substr(1, text.size() - 2));
  const char* p = body.c_str();
  while (*p != '\0') {
    char* end = nullptr;
    errno = 0;
    const float f = std::strtof(p, &end);
    if (end == p) {
      throw std::invalid_argument("bad number in array literal");
    }
    v.push_back(f);
    p = end;
    if (*p == ',') {
      ++p;
    }
  }
  return v;
}

}  // namespace socialai::ai
