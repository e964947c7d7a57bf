// Helpers shared by the fuzz targets: a check that survives NDEBUG, and a reader that takes
// parameters from the tail of the input (so the head stays a readable file for the corpus).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>
#include <typeinfo>

// A failed invariant is a finding: print it and abort (libFuzzer keeps the input; the corpus
// driver fails its ctest).
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace socialai::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Deterministic small numbers derived from the input bytes (FNV-1a), for choices such as
// chunk sizes that should vary with the input without a binary header in every corpus file.
class Choices {
 public:
  explicit Choices(std::string_view input) {
    for (const char c : input) {
      state_ = (state_ ^ static_cast<std::uint8_t>(c)) * 1099511628211ULL;
    }
  }
  // A value in [lo, hi].
  std::size_t next(std::size_t lo, std::size_t hi) {
    state_ ^= state_ >> 33;
    state_ *= 0xff51afd7ed558ccdULL;
    state_ ^= state_ >> 33;
    return lo + static_cast<std::size_t>(state_ % (hi - lo + 1));
  }

 private:
  std::uint64_t state_ = 14695981039346656037ULL;
};

// Runs `fn`; a decoder may reject input only with one of its declared error types. Any other
// exception (e.g. a JSON library exception leaking out of a decoder) is a finding.
template <typename... Allowed, typename Fn>
bool only_declared_errors(Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    if ((... || (dynamic_cast<const Allowed*>(&e) != nullptr))) {
      return false;
    }
    std::fprintf(stderr, "undeclared exception %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

}  // namespace socialai::fuzz
