// Token files: permission check on the opened descriptor (no window between check and read).
#include "ctl/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace socialai::ctl {
namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// KEY=VALUE with KEY in [A-Za-z_][A-Za-z0-9_]*, optionally after "export ".
bool is_assignment(std::string_view line, std::string_view* key, std::string_view* value) {
  if (line.substr(0, 7) == "export ") {
    line = trim(line.substr(7));
  }
  const auto eq = line.find('=');
  if (eq == 0 || eq == std::string_view::npos) {
    return false;
  }
  for (std::size_t i = 0; i < eq; ++i) {
    const char c = line[i];
    const bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  *key = line.substr(0, eq);
  *value = trim(line.substr(eq + 1));
  if (value->size() >= 2 && (value->front() == '"' || value->front() == '\'') &&
      value->back() == value->front()) {
    *value = value->substr(1, value->size() - 2);
  }
  return true;
}

}  // namespace

std::string token_from_text(std::string_view text) {
  std::string_view first;
  bool env_form = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::string_view key, value;
    if (is_assignment(line, &key, &value)) {
      env_form = true;
      if (key == "SOCIALAI_ADMIN_TOKEN") {
        return std::string(value);
      }
    } else if (first.empty()) {
      first = line;
    }
  }
  return env_form ? std::string() : std::string(first);
}

std::string read_token_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    throw TokenFileError("cannot read token file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot stat it: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    problem = std::string("it is accessible by group or others (mode ") + mode +
              "); make it private: chmod 600 " + path;
  } else {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < (1u << 20)) {
      text.append(buf, static_cast<std::size_t>(n));
    }
    if (n < 0) {
      problem = std::string("cannot read it: ") + std::strerror(errno);
    }
  }
  ::close(fd);
  if (!problem.empty()) {
    throw TokenFileError("refusing token file " + path + ": " + problem);
  }
  std::string token = token_from_text(text);
  if (token.empty()) {
    throw TokenFileError("token file " + path +
                         " holds no token (a line with the token, or SOCIALAI_ADMIN_TOKEN=...)");
  }
  return token;
}

}  // namespace socialai::ctl
