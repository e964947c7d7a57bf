// Fuzzes the manager's log formatting (manager::LogRouter, text and JSON) over what a child
// writes, split by the real LineSplitter with an 80-byte cap so long-line pieces occur. The
// router writes to a memfd; after flush() the output is read back. Checked for every input:
// exactly one output line per Line, in both formats; a text line starts with "[w] " and holds
// no raw control byte or invalid UTF-8 (escaped, not dropped); a JSON line is one valid JSON
// object (UTF-8) with no duplicate key, our "worker"/"stream"/"ts" fields winning over the
// child's, and piece numbers for cut lines; recent() returns min(lines, 1000). The same bytes
// cut into reads (sizes taken from the input) through write_output, the one-pass path, give
// the same text output.
//
// Input: the child's stdout bytes.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "manager/line_splitter.h"
#include "manager/log_router.h"

namespace {

using socialai::manager::Line;
using socialai::manager::LogRouter;

// Keys of the top-level object, to catch duplicates (nlohmann keeps only the last).
struct KeyCheck : nlohmann::json_sax<nlohmann::json> {
  int depth = 0;
  std::set<std::string> keys;
  bool duplicate = false;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth, true; }
  bool key(string_t& k) override {
    if (depth == 1 && !keys.insert(k).second) duplicate = true;
    return true;
  }
  bool end_object() override { return --depth, true; }
  bool start_array(std::size_t) override { return ++depth, true; }
  bool end_array() override { return --depth, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

bool valid_utf8_without_controls(std::string_view s) {
  // nlohmann's dump() validates UTF-8; a control byte is checked separately.
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return false;
  }
  try {
    static_cast<void>(nlohmann::json(std::string(s)).dump());
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
  return true;
}

struct Sink {
  int fd;
  std::unique_ptr<LogRouter> router;
  explicit Sink(socialai::LogFormat format)
      : fd(::memfd_create("fuzz-log", MFD_CLOEXEC)),
        router(std::make_unique<LogRouter>(format, fd, std::nullopt)) {}
  std::vector<std::string> drain() {
    router->flush();
    std::string all;
    char buf[65536];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
      all.append(buf, static_cast<std::size_t>(n));
      at += n;
    }
    FUZZ_CHECK(::ftruncate(fd, 0) == 0);
    FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0);
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i] == '\n') {
        lines.push_back(all.substr(start, i - start));
        start = i + 1;
      }
    }
    FUZZ_CHECK(start == all.size());  // every output line is terminated
    return lines;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Sink* text = new Sink(socialai::LogFormat::kText);  // reachable: not a leak
  static Sink* json = new Sink(socialai::LogFormat::kJson);
  static Sink* reads = new Sink(socialai::LogFormat::kText);
  const std::string_view input = socialai::fuzz::as_view(data, size);

  socialai::manager::LineSplitter splitter(80);
  std::vector<Line> lines;
  splitter.feed(input, lines);
  splitter.finish(lines);
  text->router->write_lines("w", socialai::manager::Stream::kStdout, lines);
  json->router->write_lines("w", socialai::manager::Stream::kStderr, lines);

  socialai::manager::LineSplitter read_splitter(80);
  for (std::size_t at = 0, k = 0; at < size; ++k) {
    const std::size_t n = std::min<std::size_t>(size - at, 1 + data[k % size] * 7u % 300);
    reads->router->write_output("w", socialai::manager::Stream::kStdout, read_splitter,
                                input.substr(at, n));
    at += n;
  }
  reads->router->write_output("w", socialai::manager::Stream::kStdout, read_splitter, {});

  const auto text_out = text->drain();
  FUZZ_CHECK(reads->drain() == text_out);
  FUZZ_CHECK(text_out.size() == lines.size());
  for (const auto& l : text_out) {
    FUZZ_CHECK(l.rfind("[w] ", 0) == 0);
    FUZZ_CHECK(valid_utf8_without_controls(l));
  }
  const auto json_out = json->drain();
  FUZZ_CHECK(json_out.size() == lines.size());
  for (std::size_t i = 0; i < json_out.size(); ++i) {
    KeyCheck keys;
    const bool ok = nlohmann::json::sax_parse(json_out[i], &keys);
    if (!ok || keys.duplicate) {
      std::fprintf(stderr, "bad JSON log line: %s\n", json_out[i].c_str());
    }
    FUZZ_CHECK(ok);
    FUZZ_CHECK(!keys.duplicate);
    const auto obj = nlohmann::json::parse(json_out[i]);
    FUZZ_CHECK(obj.is_object());
    FUZZ_CHECK(obj.at("worker") == "w");
    FUZZ_CHECK(obj.at("stream") == "stderr");
    FUZZ_CHECK(obj.at("ts").is_string());
    if (lines[i].piece > 0) {
      FUZZ_CHECK(obj.at("piece") == lines[i].piece);
    }
  }
  FUZZ_CHECK(text->router->recent("w", 5000).size() <= LogRouter::kRingLines);
  return 0;
}
