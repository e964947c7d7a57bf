// ChildScan: the manager's children among all processes, reading only what may have become
// one since the last sweep. A table of processes stands in for /proc; every read is counted.
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "manager/orphan_guard.h"

namespace socialai::manager {
namespace {

constexpr pid_t kSelf = 100;

class ChildScanTest : public ::testing::Test {
 protected:
  // One sweep over `table` (pid -> parent); `known` are the tracked workers and the sentinel.
  std::vector<pid_t> sweep() {
    std::vector<ChildScan::Proc> procs;
    for (const auto& [pid, parent] : table) procs.push_back({pid, ino(pid)});
    reads.clear();
    auto out = scan.children(
        kSelf, procs,
        [this](pid_t p) {
          reads.insert(p);
          const auto it = table.find(p);
          return it == table.end() ? -1 : it->second;
        },
        [this](pid_t p) { return known.count(p) > 0; });
    std::sort(out.begin(), out.end());
    return out;
  }

  // A /proc directory's inode number: new for each process, even on a pid used before.
  ino_t ino(pid_t pid) const {
    const auto it = inode.find(pid);
    return it == inode.end() ? static_cast<ino_t>(pid) : it->second;
  }

  ChildScan scan;
  std::map<pid_t, ino_t> inode;
  std::map<pid_t, pid_t> table = {{1, 0},     {2, 0},       {40, 1},    {41, 2},
                                  {kSelf, 1}, {101, kSelf}, {102, 101}, {103, kSelf}};
  std::set<pid_t> known = {101, 103};  // a worker and the sentinel
  std::set<pid_t> reads;
};

TEST_F(ChildScanTest, ReadsEachOtherProcessOnceAndItsDescendantsEverySweep) {
  EXPECT_TRUE(sweep().empty());
  EXPECT_EQ(reads, (std::set<pid_t>{1, 2, 40, 41, kSelf, 102}));  // known ones are not read
  EXPECT_TRUE(sweep().empty());
  EXPECT_EQ(reads, (std::set<pid_t>{102}));  // the worker's child may be adopted any time
  table[200] = 40;                           // a new process elsewhere: read once
  EXPECT_TRUE(sweep().empty());
  EXPECT_EQ(reads, (std::set<pid_t>{102, 200}));
  EXPECT_TRUE(sweep().empty());
  EXPECT_EQ(reads, (std::set<pid_t>{102}));
}

TEST_F(ChildScanTest, FindsADescendantOnceItsParentDied) {
  sweep();
  table[104] = 102;  // a grandchild's child, then its parent dies (the worker lives on)
  EXPECT_TRUE(sweep().empty());
  table.erase(102);
  table[104] = kSelf;
  EXPECT_EQ(sweep(), (std::vector<pid_t>{104}));
  // The worker dies too: its other children come to the manager as well.
  table.erase(101);
  known.erase(101);
  table[105] = kSelf;
  EXPECT_EQ(sweep(), (std::vector<pid_t>{104, 105}));
}

TEST_F(ChildScanTest, AChildListedBeforeItsParentIsReadAgain) {
  sweep();
  // After pid wrap-around a child's pid can be below its parent's: the parent is not known
  // when the child is read, so the child is read again on the next sweep, then classified.
  table[300] = 400;
  table[400] = 41;  // not a descendant
  sweep();
  EXPECT_TRUE(reads.count(300) > 0 && reads.count(400) > 0);
  sweep();
  EXPECT_EQ(reads, (std::set<pid_t>{102, 300}));
  sweep();
  EXPECT_EQ(reads, (std::set<pid_t>{102}));
}

TEST_F(ChildScanTest, AReusedPidIsReadAsTheNewProcess) {
  sweep();
  // Pid 40 (not a descendant) exits and, between two sweeps, its pid goes to a process the
  // manager adopts: a new process, so a new inode for /proc/40.
  table[40] = kSelf;
  inode[40] = 9040;
  EXPECT_EQ(sweep(), (std::vector<pid_t>{40}));
}

TEST_F(ChildScanTest, EverythingIsReadAgainWithinTheRefreshEvenWithTheSameInode) {
  sweep();
  table[40] = kSelf;  // as above, on a kernel that kept the inode number
  int sweeps = 1;
  std::vector<pid_t> found;
  while (found.empty() && sweeps < 2 * ChildScan::kRefreshEvery) {
    found = sweep();
    ++sweeps;
  }
  EXPECT_EQ(found, (std::vector<pid_t>{40}));
  EXPECT_LE(sweeps, ChildScan::kRefreshEvery + 1);
}

TEST_F(ChildScanTest, AProcessGoneWhileReadIsSkipped) {
  sweep();
  table[500] = kSelf;
  const std::vector<ChildScan::Proc> procs = {{1, ino(1)}, {500, ino(500)}};
  table.erase(500);  // listed, then gone before its stat was read
  const auto out = scan.children(
      kSelf, procs, [this](pid_t p) { return table.count(p) ? table[p] : -1; },
      [](pid_t) { return false; });
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace socialai::manager
