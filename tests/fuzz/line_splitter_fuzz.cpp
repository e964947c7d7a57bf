// Fuzzes manager::LineSplitter: the input is fed in fuzzer-chosen chunk sizes and the lines
// that come out are compared with a plain reference model (split at '\n', cut lines longer
// than the cap into numbered pieces, partial last line flagged). Checked for every input:
// the concatenation of the emitted text plus the '\n' separators equals the input; no line
// is longer than the cap; pieces are numbered 1, 2, ... in order, all but the last marked
// `continued`; nothing but the last line is `unterminated`.
//
// Input: byte 0 = cap (0 -> the real 64 KiB, else 1..255 bytes), byte 1 = largest chunk
// (0..255; a 0-byte feed is legal), the rest = the child's byte stream.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "manager/line_splitter.h"

namespace {

using socialai::manager::Line;
using socialai::manager::LineSplitter;

struct Owned {
  std::string text;
  std::uint32_t piece = 0;
  bool continued = false;
  bool unterminated = false;
  bool operator==(const Owned&) const = default;
};

// The specification, written the slow and obvious way.
std::vector<Owned> reference(std::string_view in, std::size_t cap) {
  std::vector<Owned> out;
  auto emit = [&](std::string_view line, bool unterminated) {
    if (line.size() <= cap) {
      out.push_back(Owned{std::string(line), 0, false, unterminated});
      return;
    }
    std::uint32_t piece = 0;
    while (line.size() > cap) {
      out.push_back(Owned{std::string(line.substr(0, cap)), ++piece, true, false});
      line.remove_prefix(cap);
    }
    out.push_back(Owned{std::string(line), ++piece, false, unterminated});
  };
  std::size_t start = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n') {
      emit(in.substr(start, i - start), false);
      start = i + 1;
    }
  }
  if (start < in.size()) {
    emit(in.substr(start), true);
  }
  return out;
}

// Copies the views now: they die at the next feed()/finish().
void take(std::vector<Line>& lines, std::vector<Owned>& out) {
  for (const auto& l : lines) {
    out.push_back(Owned{std::string(l.text), l.piece, l.continued, l.unterminated});
  }
  lines.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::size_t cap = data[0] == 0 ? socialai::manager::kMaxLineBytes : data[0];
  const std::size_t max_chunk = data[1];
  const std::string_view input = socialai::fuzz::as_view(data + 2, size - 2);
  socialai::fuzz::Choices choices(socialai::fuzz::as_view(data, size));

  LineSplitter splitter(cap);
  std::vector<Line> lines;
  std::vector<Owned> got;
  std::size_t fed = 0;
  while (fed < input.size()) {
    const std::size_t n = std::min(choices.next(0, max_chunk), input.size() - fed);
    splitter.feed(input.substr(fed, n), lines);
    take(lines, got);
    fed += n;
    // Bytes of an unfinished line are held back, never more than one line's worth.
    FUZZ_CHECK(splitter.pending_bytes() <= cap);
    if (max_chunk == 0) {
      break;  // only empty feeds: nothing may come out
    }
  }
  splitter.finish(lines);
  take(lines, got);
  splitter.finish(lines);  // a second finish adds nothing
  FUZZ_CHECK(lines.empty());
  FUZZ_CHECK(splitter.pending_bytes() == 0);

  if (max_chunk == 0) {
    FUZZ_CHECK(got.empty());
    return 0;
  }
  // The invariants one by one (clearer reports than the model comparison alone).
  std::string joined;
  std::uint32_t expect_piece = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Owned& l = got[i];
    FUZZ_CHECK(l.text.size() <= cap);
    FUZZ_CHECK(!l.unterminated || i + 1 == got.size());
    if (l.continued) {
      FUZZ_CHECK(l.piece == expect_piece + 1);
      FUZZ_CHECK(l.text.size() == cap);
      expect_piece = l.piece;
    } else {
      FUZZ_CHECK(l.piece == (expect_piece == 0 ? 0 : expect_piece + 1));
      expect_piece = 0;
    }
    joined += l.text;
    if (!l.continued && !l.unterminated) {
      joined += '\n';
    }
  }
  FUZZ_CHECK(expect_piece == 0);  // a cut line always gets its last piece
  FUZZ_CHECK(joined == input);
  FUZZ_CHECK(got == reference(input, cap));
  return 0;
}
