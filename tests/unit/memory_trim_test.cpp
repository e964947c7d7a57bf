// trim_resident_memory: clean file pages leave the resident set, and everything the process
// uses comes back on its next touch; pages with a private copy are never dropped.
#include "manager/memory_trim.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace socialai::manager {
namespace {

// A field of /proc/self/smaps_rollup, in kB.
long rollup_kb(const std::string& key) {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string k;
  long v = 0;
  std::string unit;
  while (in >> k) {
    if (k == key + ":") {
      in >> v;
      return v;
    }
    std::getline(in, unit);
  }
  return -1;
}

// Pointers in read-only data: relocated at load (a private copy of the page), so dropping that
// page would bring back the file's unrelocated bytes.
const char* const kNames[] = {"first", "second", "third"};

struct Shape {
  virtual ~Shape() = default;
  virtual int sides() const = 0;
};
struct Triangle final : Shape {
  int sides() const override { return 3; }
};

TEST(MemoryTrim, DropsCleanFilePagesAndEverythingComesBackOnUse) {
  std::ostringstream warm;
  warm << 2.5 << std::string(64, 'x');  // library code and data in use before the trim
  const long before = rollup_kb("Pss_File");
  ASSERT_GT(before, 0);

  const std::size_t dropped = trim_resident_memory();
  const long after = rollup_kb("Pss_File");
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(after, before) << "dropped " << dropped << " bytes of mappings";

  // Code, read-only data, unwinding tables, vtables and relocated pointers work as before.
  volatile int i = 1;
  EXPECT_STREQ(kNames[i], "second");
  std::ostringstream out;
  out << 3.25 << ' ' << std::string(3, 'y');
  EXPECT_EQ(out.str(), "3.25 yyy");
  EXPECT_THROW(throw std::runtime_error("unwound"), std::runtime_error);
  std::unique_ptr<Shape> s = std::make_unique<Triangle>();
  EXPECT_EQ(s->sides(), 3);
  // Twice is harmless.
  trim_resident_memory();
  EXPECT_STREQ(kNames[i + 1], "third");
}

}  // namespace
}  // namespace socialai::manager
