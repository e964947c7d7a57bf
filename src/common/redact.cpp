// Redaction of secrets in URLs and connection strings (no curl, no pqxx: config uses it too).
#include "common/redact.h"

#include <algorithm>
#include <cctype>

namespace socialai {

std::string redact_url(std::string_view url) {
  std::string out;
  std::string_view rest = url;
  // Without a valid scheme, curl reads the URL as authority-first, so we do too.
  if (const auto sep = url.find("://"); sep != std::string_view::npos && sep > 0) {
    const std::string_view scheme = url.substr(0, sep);
    const bool valid = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
    });
    if (valid) {
      out.append(url.substr(0, sep + 3));
      rest = url.substr(sep + 3);
    }
  }
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  out.append(authority);
  rest.remove_prefix(authority_end);
  const std::size_t path_end = std::min(rest.find_first_of("?#"), rest.size());
  // Path segments that look like keys (20+ characters of [A-Za-z0-9_-], as in
  // https://eth-mainnet.example/v2/<key>) are masked too.
  std::string_view path = rest.substr(0, path_end);
  while (!path.empty()) {
    const std::size_t slash = path.find('/', 1);
    const std::string_view seg = path.substr(0, slash);
    const std::string_view name = seg.substr(seg.front() == '/' ? 1 : 0);
    const bool keyish = name.size() >= 20 && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
    });
    out.append(keyish ? (seg.front() == '/' ? "/***" : "***") : seg);
    path.remove_prefix(seg.size());
  }
  if (path_end < rest.size() && rest[path_end] == '?') {
    out.append("?\u2026");
  }
  return out;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Masks the value of every `password=` (and `sslpassword=`, ...) in `text`, in both libpq
// forms: keyword=value (spaces around '=' allowed; value unquoted up to a space, or
// single-quoted with backslash escapes) and a URL query (value up to '&' or '#').
void mask_password_values(std::string& text) {
  for (std::size_t pos = 0; (pos = text.find("password", pos)) != std::string::npos;) {
    std::size_t i = pos + 8;
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    if (i >= text.size() || text[i] != '=') {
      pos += 8;
      continue;
    }
    ++i;
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    std::size_t end = i;
    if (end < text.size() && text[end] == '\'') {
      for (++end; end < text.size() && text[end] != '\''; ++end) {
        if (text[end] == '\\') {
          ++end;
        }
      }
      end = std::min(end + 1, text.size());
    } else {
      while (end < text.size() && !is_space(text[end]) && text[end] != '&' && text[end] != '#') {
        if (text[end] == '\\') {
          ++end;
        }
        ++end;
      }
      end = std::min(end, text.size());
    }
    text.replace(i, end - i, "***");
    pos = i + 3;
  }
}

}  // namespace

std::string redact_db_url(const std::string& url) {
  std::string out = url;
  // postgresql://user:password@host/db (and postgres://): the userinfo's password.
  for (std::size_t scheme = out.find("://"); scheme != std::string::npos;
       scheme = out.find("://", scheme + 3)) {
    const auto authority_end = std::min(out.find_first_of("/?# ", scheme + 3), out.size());
    const auto at = out.rfind('@', authority_end);
    const auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && at > scheme && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  mask_password_values(out);
  return out;
}

}  // namespace socialai
