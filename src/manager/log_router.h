// LogRouter: the aggregated log. Formats children's lines ("[name] line" or one JSON object),
// keeps the last lines per worker for the API, and hands whole-line batches to a writer
// thread that writes stdout and the optional size-rotated file. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "manager/line_splitter.h"

namespace socialai::manager {

enum class Stream { kStdout, kStderr, kManager };

struct LogFileOptions {
  std::string path;
  std::uint64_t max_bytes = 104857600;
  int max_files = 5;
};

// How lines are presented beyond the format (config `log.*`). The defaults print lines as the
// children wrote them; the manager's config defaults (timestamps auto, stderr tag ":err",
// journal when stdout is the journal) are applied in main.cpp.
struct LogOutput {
  enum class Stamp { kNever, kAuto, kAlways };
  // Text mode: the receive time after the prefix, when the line starts with no timestamp of
  // its own (kAuto) or always.
  Stamp timestamps = Stamp::kNever;
  std::string stderr_tag;  // appended to the name for stderr lines: "[name:err] "
  // Structured entries through sd_journal_sendv (SYSLOG_IDENTIFIER=socialai-<worker>, WORKER,
  // PRIORITY from the line's level, STREAM) instead of text on out_fd.
  bool journal = false;
  // Per-worker copies (workers.<name>.log_file), size-rotated like log.file.
  std::map<std::string, std::string> worker_files;
  std::uint64_t max_bytes = 104857600;
  int max_files = 5;
};

// True when `fd` is the stream systemd connected to the journal (JOURNAL_STREAM=dev:ino).
bool fd_is_journal_stream(int fd);
// Syslog priority (0..7) of a line: a "<N>" prefix, a JSON "level", or the level word after
// an optional timestamp (debug, info, notice, warn[ing], error, critical, alert, emerg);
// else 6 for stdout and 4 for stderr.
int line_priority(std::string_view line, bool is_stderr);

struct WorkerLogStats {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
};

class LogRouter {
 public:
  static constexpr std::size_t kRingLines = 1000;

  LogRouter(LogFormat format, int out_fd, std::optional<LogFileOptions> file,
            LogOutput output = {});
  ~LogRouter();  // drains everything, then joins the writer
  LogRouter(const LogRouter&) = delete;
  LogRouter& operator=(const LogRouter&) = delete;

  // A batch of lines from one child stream, in order.
  void write_lines(const std::string& worker, Stream stream, const std::vector<Line>& lines);
  // One read of a child stream's bytes, split by that stream's `split` (which keeps what
  // straddles reads); empty `bytes` is the end of the stream. The same log as
  // split.feed()/finish() then write_lines(), but plain text lines are split and formatted in
  // one pass over their bytes. Calls for one stream come from one thread at a time.
  void write_output(const std::string& worker, Stream stream, LineSplitter& split,
                    std::string_view bytes);
  // The manager's own message (any thread).
  void write_manager(std::string_view level, std::string_view msg);

  // The last `n` formatted-for-humans lines of a worker, oldest first.
  std::vector<std::string> recent(const std::string& worker, std::size_t n) const;
  std::map<std::string, WorkerLogStats> stats() const;

  // Cursor reads for following a worker's log (GET …/logs?after=SEQ). Every line of a worker
  // gets the next sequence number of that worker (1, 2, …), kept across its restarts.
  struct Slice {
    std::vector<std::string> lines;  // oldest first
    std::uint64_t next = 0;     // number of the last line in `lines`: the cursor to pass next
    std::uint64_t skipped = 0;  // lines after the cursor that had left the ring already
  };
  // The lines numbered after `after`, at most `max`. A cursor ahead of the newest line (given
  // by another manager process) reads from the start.
  Slice since(const std::string& worker, std::uint64_t after, std::size_t max) const;
  // The newest `n` lines (at most kRingLines) and the cursor after them, in one snapshot.
  Slice tail(const std::string& worker, std::size_t n) const;

  // Calls `fn` after each batch of `worker`'s lines is accepted, on the thread that wrote it
  // (any thread): `fn` must be quick and must not call into the router. The subscription ends
  // when the handle is destroyed. REQUIRES: the handle does not outlive the router.
  using Subscription = std::shared_ptr<void>;
  Subscription subscribe(const std::string& worker, std::function<void()> fn);

  // Replaces the per-worker log files (after a reload). Any thread.
  void set_worker_files(std::map<std::string, std::string> files);

  // Reopens log.file by name before the next write (SIGUSR1, after an external logrotate
  // renamed it). Any thread.
  void reopen_file();

  // Blocks until everything accepted so far is written.
  void flush();

 private:
  // A batch of formatted, whole lines. Immutable once queued: the writer thread writes it and
  // the worker's ring keeps it for recent(), sharing the same bytes (no copy per line).
  // Growable bytes that, unlike std::string::resize, never zero-fill the space they add (that
  // memset cost a pass over every byte of the log).
  class Bytes {
   public:
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return cap_; }
    const char* data() const { return data_.get(); }
    operator std::string_view() const { return {data_.get(), size_}; }
    void clear() { size_ = 0; }
    void reserve(std::size_t n);
    // Room for `n` more bytes at the end; write there, then commit() what was written.
    char* room(std::size_t n) {
      if (cap_ - size_ < n) {
        reserve(std::max(cap_ * 2, size_ + n));
      }
      return data_.get() + size_;
    }
    void commit(const char* end) { size_ = static_cast<std::size_t>(end - data_.get()); }
    void append(std::string_view s) { commit(static_cast<char*>(std::memcpy(room(s.size()), s.data(), s.size())) + s.size()); }

   private:
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0, cap_ = 0;
  };
  struct Chunk {
    Bytes text;
    std::size_t lines = 0;
    std::string worker;
    Stream stream = Stream::kStdout;
    // Journal mode only: the lines as the child wrote them, concatenated; end offsets.
    std::string raw;
    std::vector<std::uint32_t> raw_ends;
  };
  // An output file of the writer thread (log.file, or a worker's log_file).
  struct LogFile {
    std::string path;
    int fd = -1;
    std::uint64_t size = 0;
  };
  using ChunkPtr = std::shared_ptr<Chunk>;
  struct Ring {
    std::deque<ChunkPtr> chunks;  // newest last; together at least kRingLines lines if seen
    std::size_t lines = 0;
    std::uint64_t total = 0;  // lines ever appended: the number of the newest line
  };
  struct Subscriber {
    std::string worker;
    std::function<void()> fn;
  };
  // A copy of one ring's chunk pointers (taken under mu_) and the slice it yields.
  Slice slice(const std::string& worker, std::optional<std::uint64_t> after,
              std::size_t max) const;
  void notify(const std::string& worker);
  // Chunk memory is recycled (a fresh 300 KB buffer per read costs page faults and cache
  // misses): a chunk nobody else references goes back to free_. REQUIRES: mu_ held.
  void recycle(ChunkPtr& chunk);
  ChunkPtr take_chunk();
  // Queues a formatted chunk (or writes it through) and keeps it in the worker's ring.
  void submit(const std::string& worker, Stream stream, ChunkPtr chunk);
  // The receive time of a batch (empty when the format leaves it out) and its line head.
  std::string batch_time(Stream stream) const;
  std::string line_prefix(const std::string& worker, Stream stream) const;
  // Feeds `part` to `split` and formats the lines out of it; returns their count.
  std::size_t format_split(Bytes& out, std::string_view part, LineSplitter& split,
                           const std::string& prefix, const std::string& worker, Stream stream,
                           std::string_view ts) const;
  // write_output's one pass over `body`, whole lines ('\n'-terminated) that follow no
  // unfinished line in `split`: plain ones are copied behind their head while their end is
  // looked for, others go through `split` and format_text. Returns the count of lines.
  std::size_t format_body(Bytes& out, std::string_view body, LineSplitter& split,
                          const std::string& prefix, const std::string& worker, Stream stream,
                          std::string_view ts) const;
  void format_line(std::string& out, const std::string& prefix, const std::string& worker,
                   Stream stream, const Line& line, std::string_view ts) const;
  // Text format of a batch; `estimate` is its size when every line is plain.
  void format_text(Bytes& out, const std::string& prefix, const std::string& worker,
                   Stream stream, const std::vector<Line>& lines, std::string_view ts,
                   std::size_t estimate) const;
  void writer_loop();
  // The outputs change hands: claim_output() makes the caller their writer (output_busy_) and
  // appends every queued chunk to `batch`, returning their bytes; release_output() recycles
  // the written batch and counts it. REQUIRES: mu_ held; for claim_output, !output_busy_.
  std::size_t claim_output(std::vector<ChunkPtr>& batch);
  void release_output(std::vector<ChunkPtr>& batch, std::size_t bytes);
  // Writes `batch` (`bytes` in all) to every output. REQUIRES: the caller claimed the output.
  void write_out(const std::vector<ChunkPtr>& batch, std::size_t bytes);
  void write_all(int fd, std::string_view data);
  // Every chunk of `batch`, in order (writev).
  void write_batch(int fd, const std::vector<ChunkPtr>& batch);
  // Appends whole lines to `f`, rotating at max_bytes (never inside a line).
  void write_file(LogFile& f, std::string_view data, std::uint64_t max_bytes, int max_files);
  void rotate(LogFile& f, int max_files);
  void open_file(LogFile& f);
  void write_worker_file(const Chunk& c);
  // Journal mode: one entry per line; what journald refuses goes to out_fd instead.
  void send_journal(const Chunk& c);

  const LogFormat format_;
  const int out_fd_;
  std::optional<LogFileOptions> file_opts_;
  LogOutput output_;
  // Output state (main_file_, worker_files_, writer_paths_, journal_warned_) belongs to
  // whichever thread set output_busy_: the writer thread, or a write-through in write_lines.
  LogFile main_file_;
  std::atomic<bool> reopen_{false};
  std::map<std::string, std::string> worker_paths_;  // guarded by mu_
  bool worker_paths_changed_ = false;                // guarded by mu_
  std::map<std::string, std::string> writer_paths_;  // the output's copy
  std::map<std::string, LogFile> worker_files_;
  bool journal_warned_ = false;
  bool write_through_ = false;  // out_fd_ cannot stall (a regular file, /dev/null); constant

  mutable std::mutex mu_;
  std::condition_variable cv_data_, cv_room_, cv_flushed_;
  std::deque<ChunkPtr> pending_;  // not yet written
  std::size_t pending_bytes_ = 0;
  std::uint64_t accepted_ = 0, written_ = 0;  // byte counts, for flush()
  bool done_ = false;
  bool output_busy_ = false;  // a thread is writing to the outputs
  std::vector<ChunkPtr> free_;
  std::map<std::string, Ring> rings_;
  std::map<std::string, WorkerLogStats> stats_;
  std::mutex subs_mu_;  // taken after mu_ is released, never with it
  std::vector<Subscriber*> subs_;
  std::atomic<std::size_t> sub_count_{0};
  std::thread writer_;
};

}  // namespace socialai::manager
