// LogRouter: format under one lock per batch, write on a dedicated thread.
#include "manager/log_router.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
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

// True when every byte is printable ASCII (0x20..0x7f): the fast path, 8 bytes at a time.
// A byte below 0x20 borrows into its high bit after subtracting 0x20; a byte >= 0x80 has it.
bool all_ascii_printable(std::string_view s) {
  constexpr std::uint64_t kLow = 0x2020202020202020ull, kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (((w - kLow) | w) & kHigh) {
      return false;
    }
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c >= 0x80) {
      return false;
    }
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

const char* stream_name(Stream s) {
  switch (s) {
    case Stream::kStdout: return "stdout";
    case Stream::kStderr: return "stderr";
    case Stream::kManager: return "manager";
  }
  return "";
}

}  // namespace

LogRouter::LogRouter(LogFormat format, int out_fd, std::optional<LogFileOptions> file)
    : format_(format), out_fd_(out_fd), file_opts_(std::move(file)) {
  if (file_opts_) {
    file_fd_ = ::open(file_opts_->path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (file_fd_ < 0) {
      throw std::runtime_error("cannot open log file " + file_opts_->path + ": " +
                               std::strerror(errno));
    }
    file_size_ = static_cast<std::uint64_t>(::lseek(file_fd_, 0, SEEK_END));
  }
  writer_ = std::thread([this] { writer_loop(); });
}

LogRouter::~LogRouter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_data_.notify_all();
  writer_.join();
  if (file_fd_ >= 0) {
    ::close(file_fd_);
  }
}

void LogRouter::format_line(std::string& out, const std::string& prefix,
                            const std::string& worker, Stream stream, const Line& line,
                            std::string_view ts) const {
  if (format_ == LogFormat::kText) {
    out.append(prefix);
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

void LogRouter::write_lines(const std::string& worker, Stream stream,
                            const std::vector<Line>& lines) {
  if (lines.empty()) {
    return;
  }
  // Format outside the lock: only the queueing below is shared with the writer thread.
  ChunkPtr chunk = take_chunk();
  const std::string ts = format_ == LogFormat::kJson ? now_iso() : std::string();
  const std::string prefix = "[" + worker + "] ";
  std::size_t estimate = 0;
  for (const auto& l : lines) {
    estimate += l.text.size() + prefix.size() + 8;
  }
  chunk->text.reserve(format_ == LogFormat::kText ? estimate : estimate * 2);
  for (const auto& l : lines) {
    format_line(chunk->text, prefix, worker, stream, l, ts);
  }
  chunk->lines = lines.size();
  const std::size_t bytes = chunk->text.size();
  ChunkPtr shared = std::move(chunk);

  std::unique_lock<std::mutex> lock(mu_);
  // Back-pressure: a small queue keeps the bytes in cache between formatting and write(2).
  cv_room_.wait(lock, [this] { return pending_bytes_ < kMaxPending || done_; });
  pending_.push_back(shared);
  pending_bytes_ += bytes;
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
  st.lines += lines.size();
  st.bytes += bytes;
  lock.unlock();
  cv_data_.notify_one();
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

void LogRouter::write_all(int fd, const std::string& data) {
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

void LogRouter::rotate() {
  const auto& o = *file_opts_;
  ::close(file_fd_);
  for (int i = o.max_files - 1; i >= 1; --i) {
    const std::string from = i == 1 ? o.path : o.path + "." + std::to_string(i - 1);
    const std::string to = o.path + "." + std::to_string(i);
    ::rename(from.c_str(), to.c_str());
  }
  if (o.max_files <= 1) {
    ::unlink(o.path.c_str());
  }
  file_fd_ = ::open(o.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  file_size_ = 0;
}

void LogRouter::write_file(const std::string& data) {
  if (!file_opts_) {
    return;
  }
  if (reopen_.exchange(false) || file_fd_ < 0) {
    if (file_fd_ >= 0) {
      ::close(file_fd_);
    }
    file_fd_ = ::open(file_opts_->path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    file_size_ = file_fd_ < 0 ? 0 : static_cast<std::uint64_t>(::lseek(file_fd_, 0, SEEK_END));
  }
  if (file_fd_ < 0) {
    return;  // cannot (re)open: stdout still gets every line; retried at the next batch
  }
  // Rotate only between whole lines: cut the batch at the last newline that fits.
  std::size_t off = 0;
  while (off < data.size()) {
    const std::uint64_t room =
        file_opts_->max_bytes > file_size_ ? file_opts_->max_bytes - file_size_ : 0;
    std::size_t take = data.size() - off;
    if (take > room) {
      const auto nl = data.rfind('\n', off + static_cast<std::size_t>(room) - (room ? 1 : 0));
      if (room == 0 || nl == std::string::npos || nl < off) {
        if (file_size_ > 0) {
          rotate();
          continue;
        }
        // A single line longer than max_bytes: write it whole into an empty file.
        const auto end = data.find('\n', off);
        take = (end == std::string::npos ? data.size() : end + 1) - off;
      } else {
        take = nl + 1 - off;
      }
    }
    std::string chunk = data.substr(off, take);
    write_all(file_fd_, chunk);
    file_size_ += take;
    off += take;
    if (file_size_ >= file_opts_->max_bytes) {
      rotate();
    }
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
    cv_data_.wait(lock, [this] { return !pending_.empty() || done_ || reopen_.load(); });
    if (pending_.empty() && done_) {
      return;
    }
    if (pending_.empty()) {  // only a reopen request: do it now, not at the next line
      lock.unlock();
      write_file(std::string());
      lock.lock();
      continue;
    }
    batch.assign(pending_.begin(), pending_.end());
    pending_.clear();
    const std::size_t bytes = pending_bytes_;
    pending_bytes_ = 0;
    lock.unlock();
    cv_room_.notify_all();
    for (const auto& c : batch) {
      write_all(out_fd_, c->text);
      write_file(c->text);
    }
    lock.lock();
    for (auto& c : batch) {
      recycle(c);
    }
    batch.clear();
    written_ += bytes;
    cv_flushed_.notify_all();
  }
}

}  // namespace socialai::manager

