#include "devnet_process.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/http_client.h"
#include "manager_harness.h"

#ifndef SOCIALAI_DEVNET_BIN
#error "SOCIALAI_DEVNET_BIN must be defined by the build"
#endif

namespace socialai::testing {

namespace {

HttpClient make_client() {
  HttpClient::Options o;
  o.max_retries = 0;
  o.total_timeout = std::chrono::milliseconds(10000);
  return HttpClient(o);
}

nlohmann::json checked(const HttpResponse& r, const std::string& what) {
  if (!r.ok()) {
    throw std::runtime_error("devnet " + what + ": status " + std::to_string(r.status) + " " +
                             r.error + " " + r.body.substr(0, 300));
  }
  return nlohmann::json::parse(r.body);
}

}  // namespace

DevnetProcess::DevnetProcess(const std::vector<std::string>& extra_args, std::uint64_t seed) {
  dir_ = make_temp_dir();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> argv = {SOCIALAI_DEVNET_BIN, "--listen", "127.0.0.1:0", "--seed",
                                   std::to_string(seed)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const std::string err = dir_ + "/stderr";
  const pid_t self = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    die_with_parent(self);
    ::dup2(fds[1], 1);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[256];
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  const std::size_t at = line.find("listening on ");
  const std::size_t colon = at == std::string::npos ? std::string::npos : line.find(':', at);
  if (colon == std::string::npos) {
    const std::string why = stderr_text();
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error("socialai-devnet did not start: " + line + why);
  }
  port_ = std::stoi(line.substr(colon + 1));
}

DevnetProcess::~DevnetProcess() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::string DevnetProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

nlohmann::json DevnetProcess::get(const std::string& path) const {
  auto client = make_client();
  return checked(client.get(url(path)), "GET " + path);
}

nlohmann::json DevnetProcess::post(const std::string& path, const nlohmann::json& body) const {
  auto client = make_client();
  return checked(client.post_json(url(path), body.dump()), "POST " + path);
}

void DevnetProcess::set_faults(const std::string& service, double rate,
                               const std::vector<std::string>& kinds) {
  post("/_devnet/faults", {{"service", service}, {"rate", rate}, {"kinds", kinds}});
}

std::string DevnetProcess::stderr_text() const {
  std::ifstream in(dir_ + "/stderr");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace socialai::testing
