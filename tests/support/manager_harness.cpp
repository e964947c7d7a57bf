// ManagerProcess: fork/exec of the manager with stdout/stderr into <dir>/manager.log.
#include "manager_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/http_client.h"

#ifndef SOCIALAI_MANAGER_BIN
#error "SOCIALAI_MANAGER_BIN must be defined by tests/CMakeLists.txt"
#endif

namespace socialai::testing {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string make_temp_dir() {
  char tmpl[] = "/tmp/socialai-sys.XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  if (d == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  return d;
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

void die_with_parent(pid_t parent) {
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) {
    ::_exit(127);
  }
}

CommandResult run_command(const std::vector<std::string>& argv) {
  const std::string dir = make_temp_dir();
  const std::string out = dir + "/out", err = dir + "/err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -2;
  r.out = slurp(out);
  r.err = slurp(err);
  std::system(("rm -rf " + dir).c_str());
  return r;
}

std::string worker_entry(const std::string& name, const std::string& path,
                         const std::vector<std::string>& args, const std::string& extra) {
  return nlohmann::json(name).dump() + ": {\"path\": " + nlohmann::json(path).dump() +
         ", \"args\": " + nlohmann::json(args).dump() + (extra.empty() ? "" : ", " + extra) +
         "}";
}

std::string manager_config(const std::vector<std::string>& workers, const std::string& healdec,
                           const std::string& http_extra, const std::string& top) {
  std::string w;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    w += (i ? ",\n" : "") + workers[i];
  }
  return "{" + top + "\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"" + http_extra +
         "},\n\"healdec\": {" + healdec + "},\n\"workers\": {" + w + "}}";
}

ManagerProcess::ManagerProcess(const std::string& config_json, const std::string& dir,
                               const std::string& stdout_path)
    : dir_(dir), port_(free_port()) {
  rewrite_config(config_json);
  const std::string out = stdout_path.empty() ? dir_ + "/manager.log" : stdout_path;
  const pid_t self = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    die_with_parent(self);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(o, 2);
    const std::string cfg = dir_ + "/config.json";
    ::execl(SOCIALAI_MANAGER_BIN, SOCIALAI_MANAGER_BIN, "--config", cfg.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ready when /healthz answers.
  wait_until([&] { return http("GET", "/healthz") == 200; }, std::chrono::seconds(10));
}

ManagerProcess::~ManagerProcess() {
  if (!reaped_ && pid_ > 0) {
    // Graceful first, so the manager stops its workers; SIGKILL if it does not exit.
    ::kill(pid_, SIGTERM);
    if (wait_exit(std::chrono::seconds(10)) == -1) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
}

void ManagerProcess::rewrite_config(const std::string& config_json) {
  std::string text = config_json;
  const std::string key = "{{PORT}}";
  for (auto p = text.find(key); p != std::string::npos; p = text.find(key)) {
    text.replace(p, key.size(), std::to_string(port_));
  }
  // Tests compare lines as the children wrote them: no receive-time stamps, no stderr tag,
  // unless the test's own "log" section asks for them (tests/system/log_output_test.cpp).
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false,
                                   /*ignore_comments=*/true);
  if (doc.is_object() && !doc.contains("log")) {
    doc["log"] = {{"timestamps", "never"}, {"stderr_tag", ""}};
    text = doc.dump(2);
  }
  std::ofstream(dir_ + "/config.json") << text;
}

void ManagerProcess::signal(int sig) { ::kill(pid_, sig); }

int ManagerProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ManagerProcess::log() const { return slurp(dir_ + "/manager.log"); }

long ManagerProcess::http(const std::string& method, const std::string& path, std::string* body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpClient::Options o;
  o.max_retries = 0;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.total_timeout = std::chrono::milliseconds(5000);
  HttpClient client(o);
  HttpRequest req;
  req.method = method;
  req.url = "http://127.0.0.1:" + std::to_string(port_) + path;
  req.headers = headers;
  const auto r = client.perform(req);
  if (body) {
    *body = r.body;
  }
  return r.status;
}

nlohmann::json ManagerProcess::status() {
  std::string body;
  if (http("GET", "/api/workers/status", &body) != 200) {
    return nlohmann::json::array();
  }
  return nlohmann::json::parse(body);
}

nlohmann::json ManagerProcess::worker(const std::string& name) {
  for (const auto& w : status()) {
    if (w["name"] == name) {
      return w;
    }
  }
  return nlohmann::json::object();
}

bool ManagerProcess::wait_for_log(std::initializer_list<std::string_view> needles,
                                  std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        const std::string text = log();
        for (const auto n : needles) {
          if (text.find(n) == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      timeout);
}

bool ManagerProcess::wait_until(const std::function<bool()>& pred,
                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::vector<int> read_pids(const std::string& file) {
  std::ifstream in(file);
  std::vector<int> pids;
  int p = 0;
  while (in >> p) pids.push_back(p);
  return pids;
}

bool group_alive(int pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

bool process_alive(int pid) {
  if (::kill(pid, 0) != 0) {
    return false;
  }
  // A zombie is dead for our purposes only once reaped; report zombies as alive.
  return true;
}

}  // namespace socialai::testing
