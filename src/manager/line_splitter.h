// LineSplitter: turns a child's byte stream into whole lines. Pure; one per child stream.
// A line longer than kMaxLineBytes is cut into marked pieces; a partial last line comes out
// at finish(). Views returned stay valid until the next feed()/finish() call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::manager {

inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct Line {
  std::string_view text;      // without the trailing '\n'
  std::uint32_t piece = 0;    // 0 for a whole line; 1, 2, ... for pieces of an over-long line
  bool continued = false;     // more pieces of this line follow
  bool unterminated = false;  // flushed at EOF without a '\n'
};

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = kMaxLineBytes) : max_line_(max_line) {}

  // Appends the complete lines (and over-long pieces) in `data` to `out`.
  void feed(std::string_view data, std::vector<Line>& out);

  // End of stream: appends a partial last line, if any.
  void finish(std::vector<Line>& out);

  std::size_t pending_bytes() const { return carry_.size(); }
  // True while a line begun in an earlier feed() is unfinished (bytes kept, or pieces out).
  bool mid_line() const { return !carry_.empty() || piece_ > 0; }
  std::size_t max_line() const { return max_line_; }

 private:
  std::size_t max_line_;
  std::string carry_;        // bytes of an unfinished line
  std::string scratch_;      // storage for the joined carry + head of the next chunk
  std::deque<std::string> pieces_;  // storage for pieces cut from carry_ in this call
  std::uint32_t piece_ = 0;  // pieces of the current long line already emitted
};

}  // namespace socialai::manager
