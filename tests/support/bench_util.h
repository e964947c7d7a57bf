// Shared by the benchmarks: timing, percentiles and the common start of a database benchmark.
#pragma once

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "test_db.h"

namespace socialai::bench {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

inline double ms_since(Clock::time_point t0) { return ms_between(t0, Clock::now()); }

// Nearest-rank percentile, p in [0, 1]; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline bool quick_flag(int argc, char** argv) {
  return argc > 1 && std::string(argv[1]) == "--quick";
}

// A database benchmark's private schema, with logs quietened (stdout is the Markdown table).
// Null, after a message on stderr, when SOCIALAI_TEST_DATABASE_URL is unset.
inline std::unique_ptr<testing::TestSchema> bench_schema(const char* bench_name) {
  spdlog::set_level(spdlog::level::warn);
  auto schema = std::make_unique<testing::TestSchema>();
  if (!schema->available()) {
    std::cerr << bench_name << ": SOCIALAI_TEST_DATABASE_URL is not set\n";
    return nullptr;
  }
  return schema;
}

}  // namespace socialai::bench
