// LogRouter: format under one lock per batch, write on a dedicated thread.
#include "manager/log_router.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

namespace socialai::manager {
namespace {

// Back-pressure bound: past this, producers wait for the writer (children then block on
// their pipes; nothing is dropped).
constexpr std::size_t kMaxPending = 1024 * 1024;

std::string now_iso() {
  std::string out;
  append_utc_timestamp(out, std::chrono::system_clock::now());
  return out;
}

// Printable ASCII (0x20..0x7f) for the log is what needs no escaping. As signed bytes those are
// exactly the ones greater than 0x1f (0x80 and up are negative).
bool printable(char c) { return static_cast<signed char>(c) > 0x1f; }

#if defined(__SSE2__)
// The same test for 16 bytes at once.
bool printable(__m128i v) {
  return _mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f))) == 0xffff;
}
__m128i load16(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
#endif

// True when every byte is printable: the fast path, 16 at a time with SSE2.
bool all_ascii_printable(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
#if defined(__SSE2__)
  for (; n >= 16; p += 16, n -= 16) {
    if (!printable(load16(p))) {
      return false;
    }
  }
#endif
  return std::all_of(p, p + n, [](char c) { return printable(c); });
}

// Copies `n` bytes to `dst` if they are all printable, checking and copying in one pass; false
// (with `dst` partly written) otherwise.
bool copy_printable(char* dst, const char* src, std::size_t n) {
#if defined(__SSE2__)
  auto block = [&](std::size_t at) {
    const __m128i v = load16(src + at);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + at), v);
    return printable(v);
  };
  if (n >= 16) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      if (!block(i)) {
        return false;
      }
    }
    return i == n || block(n - 16);  // the tail as an overlapping last block
  }
#endif
  for (std::size_t i = 0; i < n; ++i) {
    if (!printable(src[i])) {
      return false;
    }
    dst[i] = src[i];
  }
  return true;
}

// Text mode: valid UTF-8 passes through; invalid bytes and control characters become \xNN.
void append_text_escaped(std::string& out, std::string_view s) {
  if (all_ascii_printable(s)) {
    out.append(s);
    return;
  }
  std::string json;
  append_json_escaped(json, s);  // validates UTF-8; escapes bad bytes as \u00XX
  // Turn the JSON escapes back into a readable text form.
  for (std::size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '\\' || i + 1 >= json.size()) {
      out += json[i];
      continue;
    }
    const char e = json[++i];
    if (e == 'u' && i + 4 < json.size() + 0) {
      out += "\\x";
      out.append(json, i + 3, 2);
      i += 4;
    } else if (e == '"') {
      out += '"';
    } else if (e == '\\') {
      out += '\\';
    } else if (e == 't') {
      out += '\t';
    } else {
      out += '\\';
      out += e;
    }
  }
}

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (s.size() < at + n) {
    return false;
  }
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

// True when the line begins (after an optional '[') with a date-time "YYYY-MM-DD[T ]HH:MM" or
// a time "HH:MM:SS": the child stamped it itself.
bool starts_with_timestamp(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    s.remove_prefix(1);
  }
  if (digits(s, 0, 4) && s.size() > 16 && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' &&
      digits(s, 8, 2) && (s[10] == 'T' || s[10] == ' ') && digits(s, 11, 2) && s[13] == ':' &&
      digits(s, 14, 2)) {
    return true;
  }
  return digits(s, 0, 2) && s.size() >= 8 && s[2] == ':' && digits(s, 3, 2) && s[5] == ':' &&
         digits(s, 6, 2);
}

const char* stream_name(Stream s) {
  switch (s) {
    case Stream::kStdout: return "stdout";
    case Stream::kStderr: return "stderr";
    case Stream::kManager: return "manager";
  }
  return "";
}

// The size of a batch in text format when every line is plain.
std::size_t text_estimate(const std::vector<Line>& lines, std::string_view prefix,
                          std::string_view ts) {
  std::size_t n = 0;
  for (const auto& l : lines) {
    n += l.text.size() + prefix.size() + ts.size() + 2;
  }
  return n;
}

}  // namespace

LogRouter::LogRouter(LogFormat format, int out_fd, std::optional<LogFileOptions> file,
                     LogOutput output)
    : format_(format), out_fd_(out_fd), file_opts_(std::move(file)), output_(std::move(output)) {
  if (file_opts_) {
    main_file_.path = file_opts_->path;
    open_file(main_file_);
    if (main_file_.fd < 0) {
      throw std::runtime_error("cannot open log file " + file_opts_->path + ": " +
                               std::strerror(errno));
    }
  }
  worker_paths_ = output_.worker_files;
  worker_paths_changed_ = true;
  struct stat st {};
  write_through_ = !output_.journal && ::fstat(out_fd_, &st) == 0 &&
                   (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)));
  writer_ = std::thread([this] { writer_loop(); });
}

LogRouter::~LogRouter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_data_.notify_all();
  writer_.join();
  if (main_file_.fd >= 0) {
    ::close(main_file_.fd);
  }
  for (auto& [name, f] : worker_files_) {
    if (f.fd >= 0) {
      ::close(f.fd);
    }
  }
}

void LogRouter::set_worker_files(std::map<std::string, std::string> files) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_paths_ = std::move(files);
    worker_paths_changed_ = true;
  }
  cv_data_.notify_one();
}

void LogRouter::format_line(std::string& out, const std::string& prefix,
                            const std::string& worker, Stream stream, const Line& line,
                            std::string_view ts) const {
  if (format_ == LogFormat::kText) {
    out.append(prefix);
    if (!ts.empty() && (output_.timestamps == LogOutput::Stamp::kAlways ||
                        !starts_with_timestamp(line.text))) {
      out.append(ts);  // the receive time, for a line that carries none of its own
      out.push_back(' ');
    }
    if (line.piece > 1) {
      out.append("[...] ");
    }
    append_text_escaped(out, line.text);
    if (line.continued) {
      out.append(" [...]");
    }
    out.push_back('\n');
    return;
  }
  // JSON: the child's own fields when it wrote a JSON object, else "msg".
  out += "{\"worker\":\"";
  append_json_escaped(out, worker);
  out += "\",\"stream\":\"";
  out += stream_name(stream);
  out += "\",\"ts\":\"";
  out.append(ts);
  out += '"';
  if (line.piece > 0) {
    out += ",\"piece\":" + std::to_string(line.piece);
    out += line.continued ? ",\"continued\":true" : ",\"continued\":false";
  }
  bool merged = false;
  if (line.piece == 0 && !line.text.empty() && line.text.front() == '{') {
    auto obj = nlohmann::json::parse(line.text, nullptr, /*allow_exceptions=*/false);
    if (obj.is_object()) {
      if (obj.contains("ts")) {
        out += ",\"child_ts\":" + obj["ts"].dump();  // ours win; the child's is kept
        obj.erase("child_ts");  // one key once: a JSON reader would keep only the last
      }
      obj.erase("worker");
      obj.erase("stream");
      obj.erase("ts");
      for (auto& [k, v] : obj.items()) {
        out += ",\"";
        append_json_escaped(out, k);
        out += "\":";
        out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      merged = true;
    }
  }
  if (!merged) {
    out += ",\"msg\":\"";
    append_json_escaped(out, line.text);
    out += '"';
  }
  out += "}\n";
}

void LogRouter::Bytes::reserve(std::size_t n) {
  if (n <= cap_) {
    return;
  }
  // Powers of two from 64 KiB: a recycled chunk fits the next batch without reallocating
  // (freeing and allocating ~200 KB blocks churned the heap's top and its page mappings).
  n = std::max<std::size_t>(std::bit_ceil(n), 64 * 1024);
  std::unique_ptr<char[]> bigger(new char[n]);  // not value-initialized: no memset
  if (size_ > 0) {
    std::memcpy(bigger.get(), data_.get(), size_);
  }
  data_ = std::move(bigger);
  cap_ = n;
}

void LogRouter::format_text(Bytes& out, const std::string& prefix, const std::string& worker,
                            Stream stream, const std::vector<Line>& lines, std::string_view ts,
                            std::size_t estimate) const {
  // The hot path of the aggregated log: a plain line (whole, printable ASCII) is its head and
  // one checking copy into space reserved once per batch, without std::string's per-call
  // checks. Other lines (pieces, escapes) go through format_line.
  const bool always = output_.timestamps == LogOutput::Stamp::kAlways;
  out.reserve(out.size() + estimate);
  std::string slow;
  // "[name] <receive time> ": one copy per line instead of two.
  const std::string stamped = ts.empty() ? std::string() : prefix + std::string(ts) + ' ';
  for (const auto& l : lines) {
    if (l.piece == 0) {
      const std::string& head =
          !ts.empty() && (always || !starts_with_timestamp(l.text)) ? stamped : prefix;
      char* w = out.room(head.size() + l.text.size() + 1);
      std::memcpy(w, head.data(), head.size());
      w += head.size();
      if (copy_printable(w, l.text.data(), l.text.size())) {
        w += l.text.size();
        *w++ = '\n';
        out.commit(w);
        continue;
      }
    }
    slow.clear();  // pieces, control bytes, UTF-8: escaped and marked (overwrites the above)
    format_line(slow, prefix, worker, stream, l, ts);
    out.append(slow);
  }
}

std::string LogRouter::batch_time(Stream stream) const {
  // One receive time per batch: JSON always carries it; text when stamping is on (never on
  // the manager's own lines, which start with their time).
  const bool stamp = format_ == LogFormat::kJson ||
                     (output_.timestamps != LogOutput::Stamp::kNever && stream != Stream::kManager);
  return stamp ? now_iso() : std::string();
}

std::string LogRouter::line_prefix(const std::string& worker, Stream stream) const {
  return "[" + worker + (stream == Stream::kStderr ? output_.stderr_tag : std::string()) + "] ";
}

void LogRouter::write_lines(const std::string& worker, Stream stream,
                            const std::vector<Line>& lines) {
  if (lines.empty()) {
    return;
  }
  // Format outside the lock: only the queueing in submit() is shared with the writer thread.
  ChunkPtr chunk = take_chunk();
  const std::string ts = batch_time(stream);
  const std::string prefix = line_prefix(worker, stream);
  const std::size_t estimate = text_estimate(lines, prefix, ts);
  if (format_ == LogFormat::kText) {
    format_text(chunk->text, prefix, worker, stream, lines, ts, estimate);
  } else {
    chunk->text.reserve(estimate * 2);
    std::string line;
    for (const auto& l : lines) {
      line.clear();
      format_line(line, prefix, worker, stream, l, ts);
      chunk->text.append(line);
    }
  }
  chunk->lines = lines.size();
  if (output_.journal) {
    for (const auto& l : lines) {
      chunk->raw.append(l.text);
      chunk->raw_ends.push_back(static_cast<std::uint32_t>(chunk->raw.size()));
    }
  }
  submit(worker, stream, std::move(chunk));
}

void LogRouter::write_output(const std::string& worker, Stream stream, LineSplitter& split,
                             std::string_view bytes) {
  static thread_local std::vector<Line> lines;  // kept: their capacity serves the next call
  lines.clear();
  if (bytes.empty()) {
    split.finish(lines);
    write_lines(worker, stream, lines);
    return;
  }
  if (format_ != LogFormat::kText || output_.journal) {
    split.feed(bytes, lines);  // a line at a time through format_line (or the journal)
    write_lines(worker, stream, lines);
    return;
  }
  ChunkPtr chunk = take_chunk();
  const std::string ts = batch_time(stream);
  const std::string prefix = line_prefix(worker, stream);
  Bytes& out = chunk->text;
  out.reserve(bytes.size() + bytes.size() / 2);  // 100-byte lines and a stamped head fit
  std::size_t count = 0;
  // Three parts, each through what suits it: the end of a line begun in an earlier read (the
  // splitter joins it), whole lines (one pass), and an unfinished last line (the splitter
  // keeps it, or cuts pieces from it).
  if (split.mid_line()) {
    const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
    const std::size_t n =
        nl == nullptr ? bytes.size() : static_cast<const char*>(nl) - bytes.data() + 1;
    count += format_split(out, bytes.substr(0, n), split, prefix, worker, stream, ts);
    bytes.remove_prefix(n);
  }
  const void* last = ::memrchr(bytes.data(), '\n', bytes.size());
  const std::size_t body =
      last == nullptr ? 0 : static_cast<const char*>(last) - bytes.data() + 1;
  count += format_body(out, bytes.substr(0, body), split, prefix, worker, stream, ts);
  if (body < bytes.size()) {
    count += format_split(out, bytes.substr(body), split, prefix, worker, stream, ts);
  }
  if (count == 0) {  // the start of a line only: the splitter keeps it
    std::lock_guard<std::mutex> lock(mu_);
    recycle(chunk);
    return;
  }
  chunk->lines = count;
  submit(worker, stream, std::move(chunk));
}

std::size_t LogRouter::format_split(Bytes& out, std::string_view part, LineSplitter& split,
                                    const std::string& prefix, const std::string& worker,
                                    Stream stream, std::string_view ts) const {
  static thread_local std::vector<Line> lines;
  lines.clear();
  split.feed(part, lines);
  format_text(out, prefix, worker, stream, lines, ts, text_estimate(lines, prefix, ts));
  return lines.size();
}

std::size_t LogRouter::format_body(Bytes& out, std::string_view body, LineSplitter& split,
                                   const std::string& prefix, const std::string& worker,
                                   Stream stream, std::string_view ts) const {
  // Each line: its head is written, then its bytes are copied 16 at a time while the copy
  // looks for the first byte below 0x20. A '\n' there ends a plain line; anything else (a
  // control byte, UTF-8, a line over the cap, a short line whose timestamp test needed its
  // end) rewinds the line and sends it through the splitter and format_text. The blocks may
  // copy up to 15 bytes past a line's end: the next line's head overwrites them.
  const bool always = output_.timestamps == LogOutput::Stamp::kAlways;
  const std::string stamped = ts.empty() ? std::string() : prefix + std::string(ts) + ' ';
  // The two heads padded to whole 16-byte blocks, copied a block at a time below (a memcpy
  // call per line cost more than the head's bytes); a longer head goes through memcpy.
  constexpr std::size_t kPaddedHead = 128;
  char padded[2][kPaddedHead] = {};
  const bool blocks = stamped.size() <= kPaddedHead - 16 && prefix.size() <= kPaddedHead - 16;
  if (blocks) {
    std::memcpy(padded[0], prefix.data(), prefix.size());
    std::memcpy(padded[1], stamped.data(), stamped.size());
  }
  // starts_with_timestamp() looks at no more than this many bytes of a line.
  constexpr std::size_t kStampProbe = 18;
  const std::size_t max_line = split.max_line();
  constexpr std::size_t kSlack = 64;  // room kept past the copy position
  const char* p = body.data();
  const char* const end = p + body.size();
  std::size_t count = 0;
  while (p < end) {
    const char* const s = p;
    const std::size_t line_at = out.size();
    const std::size_t avail = static_cast<std::size_t>(end - s);
    // A timestamp starts with a digit, or '[' and a digit: most lines are ruled out inline.
    const bool maybe_timestamp = static_cast<unsigned char>(*s - '0') < 10 || *s == '[';
    const bool stamp_it =
        !ts.empty() &&
        (always || !maybe_timestamp || !starts_with_timestamp({s, std::min(avail, kStampProbe)}));
    const std::string& head = stamp_it ? stamped : prefix;
    char* w = out.room(head.size() + kSlack);
    char* limit = w + (out.capacity() - out.size()) - kSlack;
#if defined(__SSE2__)
    if (blocks) {  // the line overwrites what the last block copies past the head's end
      const char* from = padded[stamp_it ? 1 : 0];
      for (std::size_t i = 0; i < head.size(); i += 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w + i), load16(from + i));
      }
    } else {
      std::memcpy(w, head.data(), head.size());
    }
#else
    std::memcpy(w, head.data(), head.size());
#endif
    w += head.size();
#if defined(__SSE2__)
    const __m128i floor = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
      const __m128i v = load16(p);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
      const unsigned stops =
          static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpgt_epi8(v, floor))) ^ 0xffffu;
      if (stops != 0) {
        const int at = std::countr_zero(stops);
        p += at;
        w += at;
        break;
      }
      p += 16;
      w += 16;
      if (w > limit) {
        out.commit(w);
        w = out.room(out.capacity());  // doubles
        limit = w + (out.capacity() - out.size()) - kSlack;
      }
    }
#endif
    // The last few bytes of the body (it ends with '\n', so this stops there at the latest).
    while (printable(*p)) {
      if (w > limit) {
        out.commit(w);
        w = out.room(out.capacity());
        limit = w + (out.capacity() - out.size()) - kSlack;
      }
      *w++ = *p++;
    }
    const std::size_t len = static_cast<std::size_t>(p - s);
    const bool plain =
        *p == '\n' && len <= max_line &&
        (len >= kStampProbe || ts.empty() || always ||
         starts_with_timestamp({s, len}) == !stamp_it);
    if (plain) {
      *w++ = '\n';
      out.commit(w);
      ++p;
      ++count;
      continue;
    }
    out.commit(out.data() + line_at);  // rewind this line
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    count += format_split(out, {s, static_cast<std::size_t>(nl - s) + 1}, split, prefix, worker,
                          stream, ts);
    p = nl + 1;
  }
  return count;
}

void LogRouter::submit(const std::string& worker, Stream stream, ChunkPtr chunk) {
  chunk->worker = worker;
  chunk->stream = stream;
  const std::size_t bytes = chunk->text.size();
  ChunkPtr shared = std::move(chunk);

  std::unique_lock<std::mutex> lock(mu_);
  // Write-through: when no other thread is writing, this one writes what is queued and its own
  // batch itself, while the bytes are still in this core's cache (handing them to the writer
  // thread cost ~15 % of the manager's CPU under a many-child flood, the bytes crossing
  // cores); the writer thread takes over what queues while a write is under way. Only into
  // outputs that cannot stall the caller (regular files, /dev/null).
  const bool direct =
      write_through_ && !output_busy_ && !worker_paths_changed_ && !reopen_.load();
  if (!direct) {
    // Back-pressure: a small queue keeps the bytes in cache between formatting and write(2).
    cv_room_.wait(lock, [this] { return pending_bytes_ < kMaxPending || done_; });
    pending_.push_back(shared);
    pending_bytes_ += bytes;
  }
  accepted_ += bytes;
  Ring& ring = rings_[worker];
  ring.chunks.push_back(shared);
  ring.lines += shared->lines;
  ring.total += shared->lines;
  while (ring.chunks.size() > 1 && ring.lines - ring.chunks.front()->lines >= kRingLines) {
    ring.lines -= ring.chunks.front()->lines;
    recycle(ring.chunks.front());
    ring.chunks.pop_front();
  }

  auto& st = stats_[worker];
  st.lines += shared->lines;
  st.bytes += bytes;
  if (!direct) {
    // The thread writing now hands what is queued on when it is done: waking the writer
    // thread before that would only send it back to sleep.
    const bool wake = !output_busy_;
    lock.unlock();
    if (wake) {
      cv_data_.notify_one();
    }
  } else {
    // What other reader threads queue while this one writes, it writes next (they go on
    // reading and formatting meanwhile), a few rounds at most: this thread's own stream waits
    // meanwhile, so what still queues after that is the writer thread's.
    constexpr int kMaxRounds = 4;
    static thread_local std::vector<ChunkPtr> batch;
    std::size_t batch_bytes = claim_output(batch) + bytes;
    batch.push_back(shared);  // after what was queued before it
    for (int round = 1;; ++round) {
      lock.unlock();
      cv_room_.notify_all();
      write_out(batch, batch_bytes);
      lock.lock();
      release_output(batch, batch_bytes);
      if (round == kMaxRounds || pending_.empty() || worker_paths_changed_ || reopen_.load()) {
        break;
      }
      batch_bytes = claim_output(batch);
    }
    const bool queued = !pending_.empty() || worker_paths_changed_ || reopen_.load();
    lock.unlock();
    cv_flushed_.notify_all();
    if (queued) {
      cv_data_.notify_one();  // the writer thread's
    }
  }
  // A follower that subscribed before its since() call sees the count (mu_ orders the two).
  if (sub_count_.load(std::memory_order_relaxed) != 0) {
    notify(worker);
  }
}

LogRouter::ChunkPtr LogRouter::take_chunk() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      ChunkPtr c = std::move(free_.back());
      free_.pop_back();
      return c;
    }
  }
  return std::make_shared<Chunk>();
}

void LogRouter::recycle(ChunkPtr& chunk) {
  constexpr std::size_t kMaxFree = 32;
  // use_count() only grows under mu_ (recent() copies under it), so 1 here means ours alone.
  if (chunk.use_count() == 1 && free_.size() < kMaxFree && chunk->text.capacity() <= (1u << 20)) {
    chunk->text.clear();
    chunk->lines = 0;
    chunk->raw.clear();
    chunk->raw_ends.clear();
    free_.push_back(std::move(chunk));
  }
  chunk.reset();
}

void LogRouter::write_manager(std::string_view level, std::string_view msg) {
  std::string text;
  if (format_ == LogFormat::kText) {
    text.reserve(msg.size() + level.size() + 40);
    text += now_iso();
    text += ' ';
    text.append(level);
    text += ' ';
    text.append(msg);
  } else {
    text = "{\"level\":\"";
    append_json_escaped(text, level);
    text += "\",\"msg\":\"";
    append_json_escaped(text, msg);
    text += "\"}";
  }
  std::vector<Line> one{Line{text}};
  write_lines("manager", Stream::kManager, one);
}

std::vector<std::string> LogRouter::recent(const std::string& worker, std::size_t n) const {
  std::vector<ChunkPtr> chunks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = rings_.find(worker);
    if (it == rings_.end()) {
      return {};
    }
    chunks.assign(it->second.chunks.begin(), it->second.chunks.end());
  }
  // Newest first, then reversed: split only as much as asked for.
  std::vector<std::string> out;
  n = std::min(n, kRingLines);
  for (auto c = chunks.rbegin(); c != chunks.rend() && out.size() < n; ++c) {
    std::string_view text = (*c)->text;
    if (!text.empty() && text.back() == '\n') {
      text.remove_suffix(1);
    }
    while (out.size() < n) {
      const auto nl = text.rfind('\n');
      out.emplace_back(nl == std::string_view::npos ? text : text.substr(nl + 1));
      if (nl == std::string_view::npos) {
        break;
      }
      text = text.substr(0, nl);
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

LogRouter::Slice LogRouter::since(const std::string& worker, std::uint64_t after,
                                  std::size_t max) const {
  return slice(worker, after, max);
}

LogRouter::Slice LogRouter::tail(const std::string& worker, std::size_t n) const {
  return slice(worker, std::nullopt, std::min(n, kRingLines));
}

LogRouter::Slice LogRouter::slice(const std::string& worker, std::optional<std::uint64_t> after,
                                  std::size_t max) const {
  std::vector<ChunkPtr> chunks;
  std::uint64_t total = 0, held = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (const auto it = rings_.find(worker); it != rings_.end()) {
      chunks.assign(it->second.chunks.begin(), it->second.chunks.end());
      total = it->second.total;
      held = it->second.lines;
    }
  }
  const std::uint64_t first = total - held + 1;  // the number of the oldest line held
  std::uint64_t from = after ? *after : total - std::min<std::uint64_t>(held, max);
  if (from > total) {
    from = 0;  // a cursor from another manager process: everything held is new to the caller
  }
  Slice out;
  if (from + 1 < first) {
    out.skipped = first - 1 - from;
    from = first - 1;
  }
  std::uint64_t seq = first;  // the number of the next line in `chunks`
  for (auto c = chunks.begin(); c != chunks.end() && out.lines.size() < max; ++c) {
    if (seq + (*c)->lines <= from + 1) {
      seq += (*c)->lines;  // wholly at or before the cursor
      continue;
    }
    const std::string_view text = (*c)->text;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < (*c)->lines && out.lines.size() < max; ++i, ++seq) {
      const auto nl = text.find('\n', pos);
      const auto end = nl == std::string_view::npos ? text.size() : nl;
      if (seq > from) {
        out.lines.emplace_back(text.substr(pos, end - pos));
      }
      pos = end + 1;
    }
  }
  out.next = from + out.lines.size();
  return out;
}

LogRouter::Subscription LogRouter::subscribe(const std::string& worker,
                                             std::function<void()> fn) {
  std::shared_ptr<Subscriber> sub(new Subscriber{worker, std::move(fn)}, [this](Subscriber* s) {
    {
      std::lock_guard<std::mutex> lock(subs_mu_);
      subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
      sub_count_.fetch_sub(1);
    }
    delete s;
  });
  std::lock_guard<std::mutex> lock(subs_mu_);
  subs_.push_back(sub.get());
  sub_count_.fetch_add(1);
  return sub;
}

void LogRouter::notify(const std::string& worker) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  for (Subscriber* s : subs_) {
    if (s->worker == worker) {
      s->fn();
    }
  }
}

std::map<std::string, WorkerLogStats> LogRouter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void LogRouter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto target = accepted_;
  cv_flushed_.wait(lock, [&] { return written_ >= target; });
}

void LogRouter::write_all(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        ::usleep(1000);
        continue;
      }
      return;  // stdout gone (EPIPE): nothing sensible to do but keep the manager up
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void LogRouter::write_batch(int fd, const std::vector<ChunkPtr>& batch) {
  // writev in groups of IOV_MAX; a short write continues with write_all from where it stopped.
  constexpr std::size_t kMaxIov = 1024;
  iovec iov[kMaxIov];
  for (std::size_t at = 0; at < batch.size();) {
    std::size_t n = 0, want = 0;
    for (; n < kMaxIov && at + n < batch.size(); ++n) {
      const Bytes& t = batch[at + n]->text;
      iov[n] = {const_cast<char*>(t.data()), t.size()};
      want += t.size();
    }
    ssize_t done = -1;
    do {
      done = ::writev(fd, iov, static_cast<int>(n));
    } while (done < 0 && errno == EINTR);
    if (done < 0 && errno != EAGAIN) {
      return;  // stdout gone (EPIPE): nothing sensible to do but keep the manager up
    }
    if (static_cast<std::size_t>(std::max<ssize_t>(done, 0)) < want) {
      std::size_t skip = static_cast<std::size_t>(std::max<ssize_t>(done, 0));
      for (std::size_t i = 0; i < n; ++i) {
        const std::string_view t = batch[at + i]->text;
        if (skip >= t.size()) {
          skip -= t.size();
          continue;
        }
        write_all(fd, t.substr(skip));
        skip = 0;
      }
    }
    at += n;
  }
}

void LogRouter::open_file(LogFile& f) {
  if (f.fd >= 0) {
    ::close(f.fd);
  }
  f.fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  f.size = f.fd < 0 ? 0 : static_cast<std::uint64_t>(::lseek(f.fd, 0, SEEK_END));
}

void LogRouter::rotate(LogFile& f, int max_files) {
  ::close(f.fd);
  for (int i = max_files - 1; i >= 1; --i) {
    const std::string from = i == 1 ? f.path : f.path + "." + std::to_string(i - 1);
    const std::string to = f.path + "." + std::to_string(i);
    ::rename(from.c_str(), to.c_str());
  }
  if (max_files <= 1) {
    ::unlink(f.path.c_str());
  }
  f.fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  f.size = 0;
}

void LogRouter::write_file(LogFile& f, std::string_view data, std::uint64_t max_bytes,
                           int max_files) {
  if (f.fd < 0) {
    open_file(f);
  }
  if (f.fd < 0) {
    return;  // cannot (re)open: stdout still gets every line; retried at the next batch
  }
  // Rotate only between whole lines: cut the batch at the last newline that fits.
  std::size_t off = 0;
  while (off < data.size()) {
    const std::uint64_t room = max_bytes > f.size ? max_bytes - f.size : 0;
    std::size_t take = data.size() - off;
    if (take > room) {
      const auto nl = data.rfind('\n', off + static_cast<std::size_t>(room) - (room ? 1 : 0));
      if (room == 0 || nl == std::string_view::npos || nl < off) {
        if (f.size > 0) {
          rotate(f, max_files);
          continue;
        }
        // A single line longer than max_bytes: write it whole into an empty file.
        const auto end = data.find('\n', off);
        take = (end == std::string_view::npos ? data.size() : end + 1) - off;
      } else {
        take = nl + 1 - off;
      }
    }
    write_all(f.fd, data.substr(off, take));
    f.size += take;
    off += take;
    if (f.size >= max_bytes) {
      rotate(f, max_files);
    }
  }
}

void LogRouter::write_worker_file(const Chunk& c) {
  const auto path = writer_paths_.find(c.worker);
  if (path == writer_paths_.end()) {
    return;
  }
  LogFile& f = worker_files_[c.worker];
  if (f.path != path->second) {
    if (f.fd >= 0) {
      ::close(f.fd);
      f.fd = -1;
    }
    f.path = path->second;
  }
  write_file(f, c.text, output_.max_bytes, output_.max_files);
}

void LogRouter::send_journal(const Chunk& c) {
  const bool manager = c.stream == Stream::kManager;
  const std::string ident = "SYSLOG_IDENTIFIER=socialai-" + (manager ? "manager" : c.worker);
  const std::string worker = "WORKER=" + c.worker;
  const std::string stream = std::string("STREAM=") + stream_name(c.stream);
  std::string message, priority;
  std::size_t start = 0, text_at = 0;
  for (std::size_t i = 0; i < c.raw_ends.size(); ++i) {
    const std::string_view raw(c.raw.data() + start, c.raw_ends[i] - start);
    start = c.raw_ends[i];
    message.assign("MESSAGE=").append(raw);
    priority = "PRIORITY=" + std::to_string(line_priority(raw, c.stream == Stream::kStderr));
    iovec iov[5] = {{message.data(), message.size()},
                    {priority.data(), priority.size()},
                    {const_cast<char*>(ident.data()), ident.size()},
                    {const_cast<char*>(stream.data()), stream.size()},
                    {const_cast<char*>(worker.data()), worker.size()}};
    const int r = ::sd_journal_sendv(iov, manager ? 4 : 5);
    if (r < 0) {
      // journald refused (not running, socket gone): this line and the rest as text, so
      // nothing is lost. The formatted text has one '\n'-ended line per raw line.
      if (!journal_warned_) {
        std::fprintf(stderr, "socialai-manager: journal unavailable (%s); writing text\n",
                     std::strerror(-r));
        journal_warned_ = true;
      }
      write_all(out_fd_, std::string_view(c.text).substr(text_at));
      return;
    }
    text_at = std::string_view(c.text).find('\n', text_at);
    text_at = text_at == std::string_view::npos ? c.text.size() : text_at + 1;
  }
}

void LogRouter::reopen_file() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_.store(true);
  }
  cv_data_.notify_one();
}

void LogRouter::writer_loop() {
  std::vector<ChunkPtr> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_data_.wait(lock, [this] {
      return !output_busy_ &&
             (!pending_.empty() || done_ || reopen_.load() || worker_paths_changed_);
    });
    if (pending_.empty() && done_) {
      return;
    }
    const std::size_t bytes = claim_output(batch);
    lock.unlock();
    cv_room_.notify_all();
    write_out(batch, bytes);
    lock.lock();
    release_output(batch, bytes);
    cv_flushed_.notify_all();
  }
}

std::size_t LogRouter::claim_output(std::vector<ChunkPtr>& batch) {
  output_busy_ = true;
  if (worker_paths_changed_) {
    writer_paths_ = worker_paths_;
    worker_paths_changed_ = false;
  }
  batch.insert(batch.end(), pending_.begin(), pending_.end());
  pending_.clear();
  const std::size_t bytes = pending_bytes_;
  pending_bytes_ = 0;
  return bytes;
}

void LogRouter::release_output(std::vector<ChunkPtr>& batch, std::size_t bytes) {
  output_busy_ = false;
  for (auto& c : batch) {
    recycle(c);
  }
  batch.clear();
  written_ += bytes;
}

void LogRouter::write_out(const std::vector<ChunkPtr>& batch, std::size_t bytes) {
  if (reopen_.exchange(false)) {  // SIGUSR1 after an external rotation: reopen every file
    if (file_opts_) {
      open_file(main_file_);
    }
    for (auto& [name, f] : worker_files_) {
      if (f.fd >= 0) {
        ::close(f.fd);
        f.fd = -1;
      }
    }
  }
  if (output_.journal) {
    for (const auto& c : batch) {
      send_journal(*c);
    }
  } else {
    write_batch(out_fd_, batch);  // one writev for many chunks
  }
  if (file_opts_) {
    if (main_file_.fd >= 0 && main_file_.size + bytes < file_opts_->max_bytes) {
      write_batch(main_file_.fd, batch);  // no rotation inside this batch
      main_file_.size += bytes;
    } else {
      for (const auto& c : batch) {
        write_file(main_file_, c->text, file_opts_->max_bytes, file_opts_->max_files);
      }
    }
  }
  if (!writer_paths_.empty()) {
    for (const auto& c : batch) {
      write_worker_file(*c);
    }
  }
}

bool fd_is_journal_stream(int fd) {
  const char* env = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (env == nullptr || ::fstat(fd, &st) != 0) {
    return false;
  }
  unsigned long long dev = 0, ino = 0;
  return std::sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
         dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

int line_priority(std::string_view s, bool is_stderr) {
  if (s.size() >= 3 && s[0] == '<' && s[1] >= '0' && s[1] <= '7' && s[2] == '>') {
    return s[1] - '0';
  }
  std::string_view word;
  if (!s.empty() && s.front() == '{') {
    const auto at = s.find("\"level\":\"");
    if (at != std::string_view::npos) {
      word = s.substr(at + 9, s.find('"', at + 9) - at - 9);
    }
  } else {
    // "[2026-…] [error] …", "2026-…Z warning …", "ERROR: …", "info …"
    auto skip_open = [&s] {
      while (!s.empty() && (s.front() == ' ' || s.front() == '[')) {
        s.remove_prefix(1);
      }
    };
    // A timestamp is one or two space-separated tokens starting with a digit.
    for (int i = 0; i < 2; ++i) {
      skip_open();
      if (s.empty() || s.front() < '0' || s.front() > '9') {
        break;
      }
      const auto end = s.find(' ');
      s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    }
    skip_open();
    word = s.substr(0, s.find_first_of(" ]:"));
  }
  std::string w(word.substr(0, 10));
  for (char& ch : w) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  static const std::pair<const char*, int> kLevels[] = {
      {"emerg", 0}, {"emergency", 0}, {"alert", 1}, {"crit", 2},  {"critical", 2},
      {"fatal", 2}, {"err", 3},       {"error", 3}, {"warn", 4},  {"warning", 4},
      {"notice", 5}, {"info", 6},     {"debug", 7}, {"trace", 7}};
  for (const auto& [name, level] : kLevels) {
    if (w == name) {
      return level;
    }
  }
  return is_stderr ? 4 : 6;
}

}  // namespace socialai::manager
