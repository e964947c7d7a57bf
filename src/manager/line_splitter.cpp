// LineSplitter: memchr-driven, copies only what straddles two reads.
#include "manager/line_splitter.h"

#include <algorithm>
#include <cstring>

namespace socialai::manager {

// flatten: the per-line push_back is inlined (called out of line it was 5 % of the manager's
// time under a log flood).
[[gnu::flatten]] void LineSplitter::feed(std::string_view data, std::vector<Line>& out) {
  // Views into scratch_ from an earlier call are dead now; reuse it.
  scratch_.clear();
  pieces_.clear();
  const char* p = data.data();
  const char* end = p + data.size();
  if (mid_line()) {
    // Finish the line that started in an earlier read.
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* stop = nl ? nl : end;
    while (p < stop) {
      if (carry_.size() == max_line_) {
        // The line outgrew the cap: its head leaves as a marked piece. pieces_ owns it,
        // since scratch_ may still be needed for the end of this line.
        pieces_.push_back(std::move(carry_));
        carry_.clear();
        out.push_back(Line{pieces_.back(), ++piece_, true, false});
      }
      const std::size_t take = std::min(max_line_ - carry_.size(), static_cast<std::size_t>(stop - p));
      carry_.append(p, take);
      p += take;
    }
    if (nl == nullptr) {
      return;
    }
    scratch_.swap(carry_);
    carry_.clear();
    out.push_back(Line{scratch_, piece_ ? piece_ + 1 : 0, false, false});
    piece_ = 0;
    p = nl + 1;
  }
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (nl == nullptr) {
      break;
    }
    const char* line_end = nl;
    while (static_cast<std::size_t>(line_end - p) > max_line_) {
      out.push_back(Line{std::string_view(p, max_line_), ++piece_, true, false});
      p += max_line_;
    }
    out.push_back(Line{std::string_view(p, static_cast<std::size_t>(line_end - p)),
                       piece_ ? piece_ + 1 : 0, false, false});
    piece_ = 0;
    p = nl + 1;
  }
  // Remainder without '\n': cut full pieces now, keep the rest.
  while (static_cast<std::size_t>(end - p) > max_line_) {
    out.push_back(Line{std::string_view(p, max_line_), ++piece_, true, false});
    p += max_line_;
  }
  carry_.assign(p, static_cast<std::size_t>(end - p));
}

void LineSplitter::finish(std::vector<Line>& out) {
  scratch_.clear();
  if (!mid_line()) {
    return;
  }
  scratch_.swap(carry_);
  carry_.clear();
  out.push_back(Line{scratch_, piece_ ? piece_ + 1 : 0, false, true});
  piece_ = 0;
}

}  // namespace socialai::manager
