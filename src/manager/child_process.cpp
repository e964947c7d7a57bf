// ChildProcess: Boost.Process v2 spawn (vfork launcher) with a process-group/rlimit initializer,
// Asio pipe reads.
#include "manager/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include "manager/orphan_guard.h"

namespace socialai::manager {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

// One read per turn of the event loop per stream: large enough for throughput, small enough
// that a flooding child cannot hold the loop (every ready pipe gets its turn in between).
constexpr std::size_t kReadChunk = 128 * 1024;
// Pipe capacity asked of the kernel (default 64 KiB): fewer wake-ups under floods.
constexpr int kPipeCapacity = 1024 * 1024;

// Runs in the forked child before exec.
struct ChildSetup {
  std::optional<std::int64_t> max_open_files, nice;
  pid_t parent = ::getpid();  // evaluated in the manager, before the fork

  template <typename Launcher>
  bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*) {
    // Own process group, so a terminal ^C reaches the manager, not the workers, and a stop
    // can signal the worker together with anything it started.
    if (::setpgid(0, 0) != 0) {
      return {errno, bp::system_category()};
    }
    // If the manager dies, even by SIGKILL, its workers go with it: no orphan keeps syncing
    // beside the replacement that systemd starts.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
      return {ECHILD, bp::system_category()};
    }
    // Undo what the manager changed for itself: ignored SIGPIPE and blocked signals are
    // inherited across exec.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (max_open_files) {
      const rlimit rl{static_cast<rlim_t>(*max_open_files), static_cast<rlim_t>(*max_open_files)};
      if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return {errno, bp::system_category()};
      }
    }
    if (nice && ::setpriority(PRIO_PROCESS, 0, static_cast<int>(*nice)) != 0) {
      return {errno, bp::system_category()};
    }
    // Nothing of the manager's may reach the worker: its HTTP listener, log file, database
    // socket, other workers' pipes. Boost 1.81's close_all() only closes the descriptors above
    // the highest whitelisted one, so mark every descriptor >= 3 close-on-exec here (the
    // launcher's exec-error pipe already is, which is what it relies on).
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      rlimit rl{};
      const int top = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
                          ? static_cast<int>(rl.rlim_cur)
                          : 65536;
      for (int fd = 3; fd < top; ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    return {};
  }
};

// Starts the child the way posix_spawn does: vfork (the child borrows the manager's memory
// until it execs, so nothing is copied), all signals blocked around it, handlers reset to the
// default in the child, errors of the setup or exec passed back through shared memory.
// Boost.Process v2's default launcher forks instead and re-creates Asio's reactor in the
// child (notify_fork), which took 3-5 ms per start; its vfork_launcher runs notify_fork in the
// vfork child, which would corrupt the manager's reactor. Only async-signal-safe calls run in
// the child: the stdio bindings' dup2 and ChildSetup.
struct VforkLauncher : bp::posix::default_launcher {
  template <typename Executor, typename Args, typename... Inits>
  bp::basic_process<Executor> launch(Executor exec, bp::error_code& ec,
                                     const bp::filesystem::path& exe, Args&& args,
                                     Inits&&... inits) {
    namespace detail = bp::posix::detail;
    auto argv = this->build_argv_(exe, std::forward<Args>(args));
    ec = detail::on_setup(*this, exe, argv, inits...);
    if (ec) {
      detail::on_error(*this, exe, argv, ec, inits...);
      return bp::basic_process<Executor>(exec);
    }
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    volatile int child_errno = 0;
    pid = ::vfork();
    if (pid == 0) {
      for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction sa {};
        if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN &&
            sa.sa_handler != SIG_DFL) {
          sa.sa_handler = SIG_DFL;
          sa.sa_flags = 0;
          ::sigemptyset(&sa.sa_mask);
          ::sigaction(sig, &sa, nullptr);
        }
      }
      bp::error_code child_ec = detail::on_exec_setup(*this, exe, argv, inits...);
      if (!child_ec) {
        ::execve(exe.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(env));
        child_ec.assign(errno, bp::system_category());
      }
      child_errno = child_ec.value() != 0 ? child_ec.value() : ECHILD;
      ::_exit(127);
    }
    const int vfork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid == -1 || child_errno != 0) {
      ec.assign(pid == -1 ? vfork_errno : child_errno, bp::system_category());
      if (pid > 0) {
        ::waitpid(pid, nullptr, 0);
      }
      pid = -1;
      detail::on_error(*this, exe, argv, ec, inits...);
      return bp::basic_process<Executor>(exec);
    }
    bp::basic_process<Executor> proc(exec, pid);
    detail::on_success(*this, exe, argv, ec, inits...);
    return proc;
  }
};

}  // namespace

struct ChildProcess::Impl {
  Impl(asio::io_context& ctx, asio::io_context& pipes)
      : ioc(ctx), out_pipe(ctx), err_pipe(ctx), out(pipes), err(pipes) {}

  asio::io_context& ioc;
  asio::readable_pipe out_pipe, err_pipe;  // bound to the child's stdout/stderr at spawn
  asio::posix::stream_descriptor out, err;  // the same descriptors, read on readiness
  std::optional<bp::process> proc;
  int pid = -1;
  bool exited = false;
  OutputFn on_output;
  ExitFn on_exit;
};

std::string ExitStatus::describe() const {
  if (signal != 0) {
    const char* name = ::sigabbrev_np(signal);
    return std::string("killed by signal ") + (name ? std::string("SIG") + name : "") + " (" +
           std::to_string(signal) + ")";
  }
  return "exited with status " + std::to_string(code);
}

std::shared_ptr<ChildProcess> ChildProcess::spawn(asio::io_context& ioc, const SpawnSpec& spec,
                                                  OutputFn on_output, ExitFn on_exit,
                                                  asio::io_context* pipes) {
  std::shared_ptr<ChildProcess> self(new ChildProcess());
  self->impl_ = std::make_unique<Impl>(ioc, pipes != nullptr ? *pipes : ioc);
  Impl& m = *self->impl_;
  m.on_output = std::move(on_output);
  m.on_exit = std::move(on_exit);
  bp::error_code ec;
  bp::process p = VforkLauncher{}.launch(
      ioc.get_executor(), ec, bp::filesystem::path(spec.exe), spec.args,
      bp::process_stdio{nullptr, m.out_pipe, m.err_pipe}, bp::process_environment(spec.env),
      ChildSetup{spec.max_open_files, spec.nice});
  if (ec) {
    throw std::system_error(ec, "exec");
  }
  m.pid = p.id();
  OrphanGuard::track(m.pid);
  m.proc.emplace(std::move(p));
  m.out.assign(m.out_pipe.release());
  m.err.assign(m.err_pipe.release());
  for (auto* pipe : {&m.out, &m.err}) {
    ::fcntl(pipe->native_handle(), F_SETPIPE_SZ, kPipeCapacity);  // best effort
    pipe->native_non_blocking(true);
  }
  self->start();
  return self;
}

ChildProcess::~ChildProcess() {
  if (impl_ && impl_->proc && !impl_->exited) {
    // Never leave an unreaped child: the owner dropped us while it ran.
    kill_group(SIGKILL);
    bp::error_code ec;
    impl_->proc->wait(ec);
    OrphanGuard::untrack(impl_->pid);
  }
  if (impl_ && impl_->proc) {
    impl_->proc->detach();
  }
}

void ChildProcess::start() {
  auto self = shared_from_this();
  struct Reader {
    // Waits for readiness, then reads into one buffer shared by every child of this thread: it
    // stays in the cache between reads (a buffer per stream would be 2 × kReadChunk per child,
    // cold each time); the owner keeps an unfinished line's bytes (its LineSplitter).
    static void wait(std::shared_ptr<ChildProcess> self, Stream stream) {
      Impl& m = *self->impl_;
      auto& pipe = stream == Stream::kStdout ? m.out : m.err;
      pipe.async_wait(asio::posix::descriptor_base::wait_read,
                      [self, stream](bp::error_code ec) { read(self, stream, ec); });
    }
    static void read(const std::shared_ptr<ChildProcess>& self, Stream stream,
                     bp::error_code ec) {
      Impl& m = *self->impl_;
      auto& fd = stream == Stream::kStdout ? m.out : m.err;
      // One per thread running an io_context (tests may run several).
      static thread_local const std::unique_ptr<char[]> storage(new char[kReadChunk]);
      char* const buf = storage.get();
      ssize_t n = -1;
      if (!ec) {
        do {
          n = ::read(fd.native_handle(), buf, kReadChunk);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN) {
          wait(self, stream);  // spurious wake-up, or nothing more after a full read
          return;
        }
      }
      if (m.on_output) {
        // No bytes at EOF (or on an error): the owner flushes a partial last line.
        m.on_output(stream, std::string_view(buf, n > 0 ? static_cast<std::size_t>(n) : 0));
      }
      if (n == static_cast<ssize_t>(kReadChunk)) {
        // A full buffer: more is likely waiting. Read again after the handlers already due
        // (other streams keep their turn), without a round through epoll (its re-arming cost
        // a system call per read under a flood).
        asio::post(fd.get_executor(), [self, stream] { read(self, stream, {}); });
      } else if (n > 0) {
        wait(self, stream);
      }
    }
  };
  Reader::wait(self, Stream::kStdout);
  Reader::wait(self, Stream::kStderr);
  impl_->proc->handle().async_wait([self](bp::error_code ec, int native_status) {
    Impl& m = *self->impl_;
    m.exited = true;
    ExitStatus st;
    if (ec) {
      st.code = -1;
    } else if (WIFSIGNALED(native_status)) {
      st.signal = WTERMSIG(native_status);
    } else if (WIFEXITED(native_status)) {
      st.code = WEXITSTATUS(native_status);
    }
    // Anything the worker left behind in its group dies with it (no orphans).
    ::kill(-m.pid, SIGKILL);
    OrphanGuard::untrack(m.pid);
    if (m.on_exit) {
      auto fn = std::move(m.on_exit);
      m.on_exit = nullptr;
      fn(st);
    }
  });
}

int ChildProcess::pid() const { return impl_->pid; }

bool ChildProcess::exited() const { return impl_->exited; }

void ChildProcess::kill_group(int sig) noexcept {
  if (impl_ && impl_->pid > 0 && !impl_->exited) {
    ::kill(-impl_->pid, sig);
  }
}

std::optional<std::pair<double, std::uint64_t>> ChildProcess::sample_usage() const {
  if (impl_->exited) {
    return std::nullopt;
  }
  std::ifstream stat("/proc/" + std::to_string(impl_->pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) {
    return std::nullopt;
  }
  // Fields after the parenthesised command name (which may contain spaces).
  const auto close = content.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(content.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) {
    f.push_back(tok);
  }
  // rest starts at field 3 (state); utime=14, stime=15, rss=24 (1-based) -> index-3.
  if (f.size() < 22) {
    return std::nullopt;
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  const std::uint64_t rss =
      std::stoull(f[21]) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return std::make_pair(cpu, rss);
}

std::optional<std::string> resolve_executable(const std::string& path,
                                              const std::string& self_dir) {
  namespace fs = std::filesystem;
  auto ok = [](const fs::path& p) {
    return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p);
  };
  if (path.find('/') != std::string::npos) {
    const fs::path p = fs::absolute(path);
    return ok(p) ? std::optional<std::string>(p.string()) : std::nullopt;
  }
  if (!self_dir.empty() && ok(fs::path(self_dir) / path)) {
    return (fs::path(self_dir) / path).string();
  }
  if (const char* env = std::getenv("PATH")) {
    std::stringstream ss(env);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (!dir.empty() && ok(fs::path(dir) / path)) {
        return (fs::path(dir) / path).string();
      }
    }
  }
  return std::nullopt;
}

}  // namespace socialai::manager
