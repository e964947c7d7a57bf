// LineSplitter: whole lines across reads, long-line pieces, partial flush at EOF.
#include "manager/line_splitter.h"

#include <gtest/gtest.h>

#include <random>

namespace socialai::manager {
namespace {

std::vector<std::string> texts(const std::vector<Line>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.emplace_back(l.text);
  return out;
}

TEST(LineSplitter, SplitsWholeLines) {
  LineSplitter s;
  std::vector<Line> out;
  s.feed("a\nbb\nccc", out);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"a", "bb"}));
  out.clear();
  s.feed("c\n\n", out);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"cccc", ""}));
  EXPECT_EQ(out[0].piece, 0u);
}

TEST(LineSplitter, PartialLineFlushedAtFinish) {
  LineSplitter s;
  std::vector<Line> out;
  s.feed("done\nno newline", out);
  out.clear();
  s.finish(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "no newline");
  EXPECT_TRUE(out[0].unterminated);
  out.clear();
  s.finish(out);
  EXPECT_TRUE(out.empty());
}

TEST(LineSplitter, LongLineCutIntoMarkedPieces) {
  LineSplitter s(10);
  std::vector<Line> out;
  const std::string data = std::string(25, 'x') + "\nok\n";  // views point into it
  s.feed(data, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].text.size(), 10u);
  EXPECT_EQ(out[0].piece, 1u);
  EXPECT_TRUE(out[0].continued);
  EXPECT_EQ(out[1].piece, 2u);
  EXPECT_TRUE(out[1].continued);
  EXPECT_EQ(out[2].text.size(), 5u);
  EXPECT_EQ(out[2].piece, 3u);
  EXPECT_FALSE(out[2].continued);
  EXPECT_EQ(out[3].text, "ok");
  EXPECT_EQ(out[3].piece, 0u);
}

TEST(LineSplitter, LongLineAcrossManySmallReads) {
  LineSplitter s(8);
  std::vector<Line> all;
  std::vector<std::string> got;
  const std::string line = std::string(20, 'y');
  for (char c : line + "\n") {
    std::vector<Line> out;
    s.feed(std::string_view(&c, 1), out);
    for (auto& l : out) got.emplace_back(l.text);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"yyyyyyyy", "yyyyyyyy", "yyyy"}));
}

TEST(LineSplitter, ExactlyFullLineIsWhole) {
  LineSplitter s(4);
  std::vector<Line> out;
  s.feed("abcd", out);
  EXPECT_TRUE(out.empty());
  s.feed("\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "abcd");
  EXPECT_EQ(out[0].piece, 0u);
}

// Any chunking of the same bytes yields the same lines (property check with a fixed seed).
TEST(LineSplitter, ChunkingDoesNotMatter) {
  std::mt19937 rng(42);
  std::string data;
  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    std::string line(rng() % 40, static_cast<char>('a' + i % 26));
    data += line + "\n";
    expected.push_back(line);
  }
  LineSplitter s(64);
  std::vector<std::string> got;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 300, data.size() - pos);
    std::vector<Line> out;
    s.feed(std::string_view(data).substr(pos, n), out);
    for (auto& l : out) got.emplace_back(l.text);
    pos += n;
  }
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace socialai::manager
