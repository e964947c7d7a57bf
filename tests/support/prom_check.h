// A strict checker of the Prometheus text exposition format (0.0.4) for tests: every sample
// belongs to a family announced by "# TYPE" before it, names and labels are well formed,
// label values are properly escaped, values parse, no family or series appears twice.
#pragma once

#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace socialai::testing {

// "" when `text` is valid, else the first problem and its line.
inline std::string prometheus_syntax_error(const std::string& text) {
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$)");
  if (text.empty() || text.back() != '\n') {
    return "output must end with a newline";
  }
  std::istringstream in(text);
  std::string line, current;
  std::set<std::string> families, series;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    const std::string where = " (line " + std::to_string(n) + ": " + line + ")";
    if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, kType)) return "bad TYPE line" + where;
      if (!families.insert(m[1]).second) return "family declared twice" + where;
      current = m[1];
    } else if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, kHelp)) return "bad HELP line" + where;
    } else if (line.rfind("#", 0) == 0) {
      continue;
    } else if (line.empty()) {
      return "empty line" + where;
    } else {
      if (!std::regex_match(line, m, kSample)) return "bad sample" + where;
      if (m[1] != current) return "sample outside its family's TYPE block" + where;
      const std::string key = line.substr(0, line.rfind(' '));
      if (!series.insert(key).second) return "series repeated" + where;
    }
  }
  return "";
}

}  // namespace socialai::testing
