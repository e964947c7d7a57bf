// ChildProcess: one spawned worker process (Boost.Process v2) in its own process group,
// stdin from /dev/null, stdout/stderr read asynchronously.
// All methods and `on_exit` run on the io_context's thread; `on_output` runs on a thread of the
// pipes' io_context (the same one unless another is given).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manager/log_router.h"

namespace boost::asio {
class io_context;
}

namespace socialai::manager {

struct SpawnSpec {
  std::string exe;                // absolute path
  std::vector<std::string> args;  // without argv[0]
  std::vector<std::string> env;   // full environment, "KEY=VALUE"
  std::optional<std::int64_t> max_open_files;  // RLIMIT_NOFILE, applied before exec
  std::optional<std::int64_t> nice;
};

struct ExitStatus {
  int code = 0;    // exit status when it exited
  int signal = 0;  // terminating signal, 0 if it exited
  bool failed() const { return code != 0 || signal != 0; }
  std::string describe() const;
};

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  // The bytes of one read (valid during the call); empty at the end of the stream.
  using OutputFn = std::function<void(Stream, std::string_view bytes)>;
  using ExitFn = std::function<void(ExitStatus)>;

  // Spawns now; throws std::system_error if the executable cannot be started (the error
  // names it). `on_output` is called for every read, in order per stream, and once more with
  // no bytes when that pipe reaches EOF (after the process exited); with `pipes`, on that
  // io_context, which may run several threads (the two streams' reads may then be handled at
  // the same time). `on_exit` is called once when the process has exited and was
  // reaped, on `ioc`.
  static std::shared_ptr<ChildProcess> spawn(boost::asio::io_context& ioc, const SpawnSpec& spec,
                                             OutputFn on_output, ExitFn on_exit,
                                             boost::asio::io_context* pipes = nullptr);
  ~ChildProcess();

  int pid() const;
  bool exited() const;
  // Sends `sig` to the whole process group (the worker and anything it started).
  void kill_group(int sig) noexcept;
  // CPU seconds (user+sys) and resident bytes from /proc; nullopt once gone.
  std::optional<std::pair<double, std::uint64_t>> sample_usage() const;

  struct Impl;

 private:
  ChildProcess() = default;
  void start();
  std::unique_ptr<Impl> impl_;
};

// Resolves a worker's `path`: absolute or containing '/' as it is (relative to the working
// directory); otherwise beside `self_dir`, then in PATH. nullopt if not found/executable.
std::optional<std::string> resolve_executable(const std::string& path, const std::string& self_dir);

}  // namespace socialai::manager
