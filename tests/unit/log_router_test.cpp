// LogRouter: formats, keeps the last lines per worker, rotates its file; output to temp files.
#include "manager/log_router.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace socialai::manager {
namespace {

namespace fs = std::filesystem;

class LogRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/socialai-logrouter.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    out_ = ::open((dir_ + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  void TearDown() override {
    ::close(out_);
    fs::remove_all(dir_);
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
  int out_ = -1;
};

std::vector<Line> lines(const std::vector<std::string>& texts) {
  std::vector<Line> out;
  for (const auto& t : texts) out.push_back(Line{t});
  return out;
}

TEST_F(LogRouterTest, TextPrefixesAndMarksPieces) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  const std::vector<std::string> keep = {"hello", "tab\there", "ctl\x01", "bad\xff"};
  r.write_lines("w", Stream::kStdout, lines(keep));
  const std::string head = "aaaa", tail = "bbbb";
  r.write_lines("w", Stream::kStderr,
                {Line{head, 1, true, false}, Line{tail, 2, false, false}});
  r.flush();
  EXPECT_EQ(read("out"),
            "[w] hello\n[w] tab\there\n[w] ctl\\x01\n[w] bad\\xff\n[w] aaaa [...]\n"
            "[w] [...] bbbb\n");
}

// The text fast path (checks and copies 16 bytes at a time) must agree with the escaping
// path at every length and every position of a byte that needs escaping, in one batch whose
// escapes outgrow the space reserved for plain lines.
TEST_F(LogRouterTest, FastPathAgreesWithEscapingAtEveryLengthAndPosition) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  std::vector<std::string> texts;
  std::string want;
  for (std::size_t len = 0; len <= 48; ++len) {
    std::string plain;
    for (std::size_t i = 0; i < len; ++i) plain += static_cast<char>('a' + i % 26);
    texts.push_back(plain);
    want += "[w] " + plain + "\n";
    for (std::size_t at = 0; at < len; ++at) {
      for (const char bad : {'\x01', '\x7f', '\xff'}) {
        std::string t = plain;
        t[at] = bad;
        texts.push_back(t);
        std::string esc = plain.substr(0, at);
        if (bad == '\x7f') {
          esc += bad;  // DEL is printable as far as the log is concerned
        } else {
          esc += bad == '\x01' ? "\\x01" : "\\xff";
        }
        want += "[w] " + esc + plain.substr(at + 1) + "\n";
      }
    }
  }
  texts.push_back(std::string(200, '\x02'));  // 4x its size once escaped
  want += "[w] ";
  for (int i = 0; i < 200; ++i) want += "\\x02";
  want += "\n";
  r.write_lines("w", Stream::kStdout, lines(texts));
  r.flush();
  EXPECT_EQ(read("out"), want);
}

// write_output (split and format in one pass) must write exactly what LineSplitter and
// write_lines write for the same bytes, however they are cut into reads: plain lines, escapes,
// lines over the cap (pieces), empty lines, lines with their own timestamps and short ones that
// only look like a timestamp until their end, a partial last line flushed at EOF; a short
// worker name and one whose head is too long to be copied in the padded blocks.
TEST_F(LogRouterTest, OnePassOutputAgreesWithSplitterAndWriteLines) {
  // Each batch has its own receive time, which may differ between the two routers.
  const std::regex receive_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  auto untimed = [&](const std::string& s) { return std::regex_replace(s, receive_time, "TS"); };
  std::mt19937 rng(7);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> shapes = {
      "12:00:01", "12:00:0", "2026-01-02 03:04", "2026-01-02 03:04:05 own", "[12:00:01] x",
      "[2026-01-02 03:04:05] own", "[2026-01-02 03:04", "[2026-01-02 03:04x",
      "", "tab\tin", "ctl\x01", "utf-8 \xc3\xa9", "del\x7f"};
  for (const auto stamp :
       {LogOutput::Stamp::kAuto, LogOutput::Stamp::kNever, LogOutput::Stamp::kAlways}) {
    for (int round = 0; round < 4; ++round) {
      const std::string w = round == 3 ? std::string(120, 'n') : "w";
      std::string stream;
      const int n_lines = 3000;
      for (int i = 0; i < n_lines; ++i) {
        std::string line;
        switch (pick(4)) {
          case 0:
            line = shapes[pick(shapes.size())];
            break;
          case 1:
            line.assign(pick(150), 'x');  // over the cap of 40 at times
            break;
          default:
            for (std::size_t k = pick(60); k > 0; --k) line += static_cast<char>(' ' + pick(95));
        }
        if (!line.empty() && pick(50) == 0) {
          line[pick(line.size())] = '\x02';
        }
        stream += line;
        stream += '\n';
      }
      stream += "partial last";
      std::vector<std::string_view> reads;
      for (std::size_t at = 0; at < stream.size();) {
        const std::size_t n = std::min(stream.size() - at, 1 + pick(pick(8) == 0 ? 2000 : 120));
        reads.emplace_back(stream.data() + at, n);
        at += n;
      }
      LogOutput o;
      o.timestamps = stamp;
      o.stderr_tag = ":err";
      const std::string name = "run" + std::to_string(static_cast<int>(stamp)) + "-" +
                               std::to_string(round);
      const int fd_a = ::open((dir_ + "/" + name + ".a").c_str(), O_WRONLY | O_CREAT, 0644);
      const int fd_b = ::open((dir_ + "/" + name + ".b").c_str(), O_WRONLY | O_CREAT, 0644);
      std::uint64_t lines_a = 0, lines_b = 0;
      {
        LogRouter a(LogFormat::kText, fd_a, std::nullopt, o);
        LogRouter b(LogFormat::kText, fd_b, std::nullopt, o);
        LineSplitter split_a(40), split_b(40);
        std::vector<Line> batch;
        for (const auto read : reads) {
          batch.clear();
          split_a.feed(read, batch);
          a.write_lines(w, Stream::kStderr, batch);
          b.write_output(w, Stream::kStderr, split_b, read);
          ASSERT_EQ(split_a.pending_bytes(), split_b.pending_bytes());
        }
        batch.clear();
        split_a.finish(batch);
        a.write_lines(w, Stream::kStderr, batch);
        b.write_output(w, Stream::kStderr, split_b, {});
        a.flush();
        b.flush();
        lines_a = a.stats()[w].lines;
        lines_b = b.stats()[w].lines;
        for (auto& [ring_a, ring_b] : {std::pair{a.recent(w, 1000), b.recent(w, 1000)}}) {
          ASSERT_EQ(ring_a.size(), ring_b.size());
          for (std::size_t i = 0; i < ring_a.size(); ++i) {
            ASSERT_EQ(untimed(ring_a[i]), untimed(ring_b[i]));
          }
        }
      }
      ::close(fd_a);
      ::close(fd_b);
      const std::string want = untimed(read(name + ".a"));
      const std::string got = untimed(read(name + ".b"));
      EXPECT_GT(lines_a, static_cast<std::uint64_t>(n_lines));  // pieces counted too
      EXPECT_EQ(lines_a, lines_b);
      ASSERT_EQ(want, got) << name;
    }
  }
}

// Children's batches may be written straight from the calling thread (write-through) while
// the writer thread writes queued ones (the manager's own lines, from any thread) to stdout,
// log.file and a worker's own file: every line once, whole, in order per source, everywhere.
TEST_F(LogRouterTest, WriteThroughAndQueuedWritesNeverInterleave) {
  LogOutput o;
  o.worker_files = {{"w", dir_ + "/w.log"}};
  LogRouter r(LogFormat::kText, out_, LogFileOptions{dir_ + "/all.log", 1u << 30, 2}, o);
  constexpr int kBatches = 2000;
  std::thread manager([&r] {
    for (int i = 0; i < kBatches; ++i) r.write_manager("info", "m" + std::to_string(i));
  });
  for (int i = 0; i < kBatches; ++i) {
    const std::string a = "w" + std::to_string(i) + "a", b = "w" + std::to_string(i) + "b";
    r.write_lines("w", Stream::kStdout, lines({a, b}));
  }
  manager.join();
  r.flush();
  for (const std::string file : {"out", "all.log", "w.log"}) {
    std::istringstream in(read(file));
    std::string line;
    int next_w = 0, next_m = 0;
    while (std::getline(in, line)) {
      if (line.rfind("[w] w", 0) == 0) {
        const std::string want = "[w] w" + std::to_string(next_w / 2) + (next_w % 2 ? "b" : "a");
        ASSERT_EQ(line, want) << file;
        ++next_w;
      } else {
        const std::string want = " info m" + std::to_string(next_m);
        ASSERT_EQ(line.rfind("[manager] ", 0), 0u) << file << ": " << line;
        ASSERT_EQ(line.substr(line.size() - want.size()), want) << file;
        ++next_m;
      }
    }
    EXPECT_EQ(next_w, 2 * kBatches) << file;
    EXPECT_EQ(next_m, file == "w.log" ? 0 : kBatches) << file;
  }
}

// The manager's two reader threads write through to the same stdout file; a batch that finds
// the output busy is queued and written by the thread writing then, or by the writer thread:
// every line once, whole, in order per worker.
TEST_F(LogRouterTest, TwoReaderThreadsWritingThroughKeepEachWorkersOrder) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  constexpr int kBatches = 3000;
  auto reader = [&r](const std::string& worker) {
    for (int i = 0; i < kBatches; ++i) {
      std::vector<std::string> texts;
      for (int j = 0; j < 20; ++j) texts.push_back(worker + std::to_string(i * 20 + j));
      r.write_lines(worker, Stream::kStdout, lines(texts));
    }
  };
  std::thread a(reader, "a"), b(reader, "b");
  std::thread manager([&r] {
    for (int i = 0; i < kBatches; ++i) r.write_manager("info", "m" + std::to_string(i));
  });
  a.join();
  b.join();
  manager.join();
  r.flush();
  std::istringstream in(read("out"));
  std::string line;
  std::map<std::string, int> next;
  while (std::getline(in, line)) {
    const auto close = line.find("] ");
    ASSERT_NE(close, std::string::npos) << line;
    const std::string worker = line.substr(1, close - 1);
    if (worker == "manager") {
      const std::string want = " info m" + std::to_string(next[worker]++);
      ASSERT_EQ(line.substr(line.size() - want.size()), want);
    } else {
      ASSERT_EQ(line, "[" + worker + "] " + worker + std::to_string(next[worker]++));
    }
  }
  EXPECT_EQ(next["a"], kBatches * 20);
  EXPECT_EQ(next["b"], kBatches * 20);
  EXPECT_EQ(next["manager"], kBatches);
}

TEST_F(LogRouterTest, StampsBareLinesTagsStderrAndCopiesAWorkersFile) {
  LogOutput o;
  o.timestamps = LogOutput::Stamp::kAuto;
  o.stderr_tag = ":err";
  o.worker_files = {{"w", dir_ + "/w.log"}};
  LogRouter r(LogFormat::kText, out_, std::nullopt, o);
  r.write_lines("w", Stream::kStdout, lines({"bare", "2026-01-02 03:04:05 own time", "12:00:01 x"}));
  r.write_lines("w", Stream::kStderr, lines({"oops"}));
  r.write_lines("v", Stream::kStdout, lines({"elsewhere"}));
  r.write_manager("info", "hello");
  r.flush();
  const std::string out = read("out");
  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  EXPECT_TRUE(std::regex_match(
      out, std::regex("\\[w\\] " + ts + " bare\n\\[w\\] 2026-01-02 03:04:05 own time\n"
                      "\\[w\\] 12:00:01 x\n\\[w:err\\] " + ts + " oops\n\\[v\\] " + ts +
                      " elsewhere\n\\[manager\\] " + ts + " info hello\n")))
      << out;
  const std::string mine = read("w.log");
  EXPECT_NE(mine.find(" bare\n"), std::string::npos) << mine;
  EXPECT_NE(mine.find("[w:err] "), std::string::npos) << mine;
  EXPECT_EQ(mine.find("elsewhere"), std::string::npos) << mine;
  EXPECT_EQ(mine.find("manager"), std::string::npos) << mine;
}

TEST_F(LogRouterTest, JsonMergesChildObjects) {
  LogRouter r(LogFormat::kJson, out_, std::nullopt);
  const std::vector<std::string> keep = {R"({"level":"warn","msg":"m","ts":"child","n":1})",
                                         "plain \"text\"", "{not json"};
  r.write_lines("w", Stream::kStderr, lines(keep));
  r.flush();
  std::istringstream in(read("out"));
  std::string l1, l2, l3;
  std::getline(in, l1);
  std::getline(in, l2);
  std::getline(in, l3);
  EXPECT_NE(l1.find("\"worker\":\"w\",\"stream\":\"stderr\",\"ts\":\""), std::string::npos) << l1;
  EXPECT_NE(l1.find("\"child_ts\":\"child\""), std::string::npos) << l1;
  EXPECT_NE(l1.find("\"n\":1"), std::string::npos) << l1;
  EXPECT_NE(l2.find("\"msg\":\"plain \\\"text\\\"\""), std::string::npos) << l2;
  EXPECT_NE(l3.find("\"msg\":\"{not json\""), std::string::npos) << l3;
}

// Found by fuzzing (tests/fuzz/corpus/log_router/child_overrides): a child object with both
// "ts" and "child_ts" gave a line with "child_ts" twice.
TEST_F(LogRouterTest, JsonChildTsKeyComesOutOnce) {
  LogRouter r(LogFormat::kJson, out_, std::nullopt);
  r.write_lines("w", Stream::kStdout, lines({R"({"ts":"x","child_ts":"y","msg":"m"})"}));
  r.flush();
  const std::string out = read("out");
  EXPECT_NE(out.find("\"child_ts\":\"x\""), std::string::npos) << out;
  EXPECT_EQ(out.find("\"child_ts\"", out.find("\"child_ts\"") + 1), std::string::npos) << out;
}

TEST_F(LogRouterTest, RecentKeepsTheLastThousandLinesAcrossBatches) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  std::vector<std::string> keep;
  for (int batch = 0; batch < 30; ++batch) {
    keep.clear();
    for (int i = 0; i < 97; ++i) keep.push_back(std::to_string(batch * 97 + i));
    r.write_lines("w", Stream::kStdout, lines(keep));
  }
  r.write_lines("other", Stream::kStdout, lines({"x"}));
  const auto last = r.recent("w", 5000);
  ASSERT_EQ(last.size(), LogRouter::kRingLines);
  EXPECT_EQ(last.front(), "[w] " + std::to_string(30 * 97 - 1000));
  EXPECT_EQ(last.back(), "[w] " + std::to_string(30 * 97 - 1));
  const auto three = r.recent("w", 3);
  EXPECT_EQ(three, (std::vector<std::string>{"[w] 2907", "[w] 2908", "[w] 2909"}));
  EXPECT_TRUE(r.recent("nobody", 3).empty());
  EXPECT_EQ(r.stats().at("w").lines, 30u * 97u);
}

TEST_F(LogRouterTest, FileRotatesOnWholeLines) {
  LogFileOptions f{dir_ + "/agg.log", 4096, 3};
  {
    LogRouter r(LogFormat::kText, out_, f);
    std::vector<std::string> keep;
    for (int i = 0; i < 1000; ++i) keep.push_back("line " + std::to_string(i));
    r.write_lines("w", Stream::kStdout, lines(keep));
    r.flush();
  }
  ASSERT_TRUE(fs::exists(dir_ + "/agg.log.1"));
  ASSERT_TRUE(fs::exists(dir_ + "/agg.log.2"));
  EXPECT_FALSE(fs::exists(dir_ + "/agg.log.3"));  // max_files = 3 in all
  for (const char* name : {"agg.log", "agg.log.1", "agg.log.2"}) {
    const std::string text = read(name);
    EXPECT_LE(text.size(), 4096u) << name;
    EXPECT_EQ(text.rfind("[w] line ", 0), 0u) << name;  // starts on a line boundary
    EXPECT_EQ(text.back(), '\n') << name;
  }
  EXPECT_NE(read("agg.log").find("[w] line 999\n"), std::string::npos);
}

// The cursor reads behind `socialai-ctl logs -f`: reading in small steps while batches of any
// size keep coming yields every line once, in order; lines that left the ring are counted.
TEST_F(LogRouterTest, CursorReadsLoseAndRepeatNothing) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  EXPECT_EQ(r.tail("w", 10).next, 0u);
  EXPECT_TRUE(r.since("w", 0, 10).lines.empty());
  int written = 0;
  std::uint64_t cursor = 0;
  std::vector<std::string> seen;
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string> batch;
    for (int i = 0; i < round % 7 + 1; ++i) batch.push_back(std::to_string(written++));
    r.write_lines("w", Stream::kStdout, lines(batch));
    r.write_lines("other", Stream::kStdout, lines({"noise"}));
    const auto s = r.since("w", cursor, 3);  // at most 3 per read: falls behind, catches up
    EXPECT_EQ(s.skipped, 0u);
    EXPECT_EQ(s.next, cursor + s.lines.size());
    seen.insert(seen.end(), s.lines.begin(), s.lines.end());
    cursor = s.next;
  }
  for (auto s = r.since("w", cursor, 3); !s.lines.empty(); s = r.since("w", cursor, 3)) {
    seen.insert(seen.end(), s.lines.begin(), s.lines.end());
    cursor = s.next;
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(written));
  for (int i = 0; i < written; ++i) {
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], "[w] " + std::to_string(i));
  }
  EXPECT_EQ(cursor, static_cast<std::uint64_t>(written));

  // The tail and its cursor come from one snapshot.
  const auto t = r.tail("w", 2);
  EXPECT_EQ(t.lines, (std::vector<std::string>{"[w] " + std::to_string(written - 2),
                                               "[w] " + std::to_string(written - 1)}));
  EXPECT_EQ(t.next, cursor);
  // A cursor from another manager process (ahead of the newest line) reads from the start.
  const auto foreign = r.since("w", cursor + 1000, 1);
  EXPECT_EQ(foreign.lines, (std::vector<std::string>{"[w] 0"}));
  EXPECT_EQ(foreign.next, 1u);
}

TEST_F(LogRouterTest, CursorBehindTheRingCountsWhatWasDropped) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  std::vector<std::string> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(std::to_string(i));
  for (int k = 0; k < 30; ++k) r.write_lines("w", Stream::kStdout, lines(batch));  // 3,000 lines
  const auto s = r.since("w", 5, LogRouter::kRingLines);
  const std::uint64_t held = 3000 - 5 - s.skipped;
  EXPECT_GE(held, LogRouter::kRingLines);  // at least the ring's size is kept
  EXPECT_EQ(s.lines.size(), LogRouter::kRingLines);
  EXPECT_EQ(s.lines.front(), "[w] " + std::to_string((5 + s.skipped) % 100));
  EXPECT_EQ(s.next, 5 + s.skipped + LogRouter::kRingLines);
}

TEST_F(LogRouterTest, SubscribersHearTheirWorkerUntilTheHandleGoes) {
  LogRouter r(LogFormat::kText, out_, std::nullopt);
  int woken = 0;
  auto sub = r.subscribe("w", [&woken] { ++woken; });
  r.write_lines("w", Stream::kStdout, lines({"a", "b"}));
  r.write_lines("other", Stream::kStdout, lines({"c"}));
  r.write_lines("w", Stream::kStderr, lines({"d"}));
  EXPECT_EQ(woken, 2);
  sub.reset();
  r.write_lines("w", Stream::kStdout, lines({"e"}));
  EXPECT_EQ(woken, 2);
}

}  // namespace
}  // namespace socialai::manager

namespace socialai::manager {
namespace {

TEST(LinePriority, LevelWordsTimestampsJsonAndPrefixes) {
  EXPECT_EQ(line_priority("2026-12-04T03:22:15.431Z warning http POST …", false), 4);
  EXPECT_EQ(line_priority("2026-12-04 03:22:15 ERROR boom", false), 3);
  EXPECT_EQ(line_priority("[2026-12-04 03:22:15.446] [info] applied migration", false), 6);
  EXPECT_EQ(line_priority("error: it broke", true), 3);
  EXPECT_EQ(line_priority("DEBUG details", false), 7);
  EXPECT_EQ(line_priority("critical: disk", false), 2);
  EXPECT_EQ(line_priority("<3>kernel style", false), 3);
  EXPECT_EQ(line_priority(R"({"ts":"…","level":"warning","msg":"x"})", false), 4);
  EXPECT_EQ(line_priority("plain words", false), 6);
  EXPECT_EQ(line_priority("plain words", true), 4);  // stderr without a level
  EXPECT_EQ(line_priority("", true), 4);
  EXPECT_EQ(line_priority("informational is not a level", false), 6);
}

}  // namespace
}  // namespace socialai::manager
