// What operators read: receive-time stamps on bare lines, stderr told apart from stdout,
// per-worker log files, and structured journald entries (a private mount namespace puts a
// test socket where sd_journal_sendv sends).
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "manager_harness.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A worker that is /bin/sh printing `script`'s lines, then sleeping until stopped.
json shell_worker(const std::string& script) {
  return {{"path", "/bin/sh"}, {"args", {"-c", script + "; exec sleep 1000"}}};
}

class LogOutput : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(LogOutput, BareLinesGetTheReceiveTimeAndStderrIsTaggedByDefault) {
  const json cfg = {
      {"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
      {"log", json::object()},  // the defaults: timestamps auto, stderr_tag ":err"
      {"workers",
       {{"sh", shell_worker("echo bare; echo '2026-01-02T03:04:05.000Z info stamped'; "
                            "echo oops >&2")}}}};
  ManagerProcess m(cfg.dump(), dir_);
  ASSERT_TRUE(m.wait_for_log({"oops", "stamped", "bare"}, 10s)) << m.log();
  const std::string log = m.log();
  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(\n\[sh\] )" + ts + R"( bare\n)"))) << log;
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(\n\[sh:err\] )" + ts + R"( oops\n)"))) << log;
  // A line with its own time is left as the child wrote it.
  EXPECT_NE(log.find("\n[sh] 2026-01-02T03:04:05.000Z info stamped\n"), std::string::npos) << log;
  // The manager's own lines are not stamped twice.
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(\[manager\] )" + ts + R"( info socialai-manager)")))
      << log;
}

TEST_F(LogOutput, AWorkersLogFileHoldsItsLinesOnly) {
  const std::string file = dir_ + "/sh.log";
  json sh = shell_worker("echo one; echo two >&2");
  sh["log_file"] = file;
  const json cfg = {{"http", {{"listen", "127.0.0.1:{{PORT}}"}}},
                    {"log", {{"timestamps", "never"}}},
                    {"workers", {{"sh", sh}, {"other", shell_worker("echo other-line")}}}};
  ManagerProcess m(cfg.dump(), dir_);
  ASSERT_TRUE(m.wait_for_log({"[sh] one", "[sh:err] two", "[other] other-line"}, 10s)) << m.log();
  std::string text;
  ASSERT_TRUE(m.wait_until(
      [&] {
        text = slurp(file);
        return text.find("two") != std::string::npos;
      },
      5s))
      << text;
  EXPECT_NE(text.find("[sh] one\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[sh:err] two\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("other"), std::string::npos) << text;
  EXPECT_EQ(text.find("[manager]"), std::string::npos) << text;
}

// One native-protocol datagram: "KEY=value\n" fields, or "KEY\n" + 64-bit LE size + value +
// "\n" for values with newlines (systemd's journal-native protocol).
std::map<std::string, std::string> parse_entry(const std::string& d) {
  std::map<std::string, std::string> f;
  std::size_t i = 0;
  while (i < d.size()) {
    const auto nl = d.find('\n', i);
    const std::string line = d.substr(i, nl - i);
    const auto eq = line.find('=');
    if (eq != std::string::npos) {
      f[line.substr(0, eq)] = line.substr(eq + 1);
      i = nl == std::string::npos ? d.size() : nl + 1;
      continue;
    }
    std::uint64_t len = 0;
    for (int b = 7; b >= 0; --b) {
      len = (len << 8) | static_cast<unsigned char>(d[nl + 1 + static_cast<std::size_t>(b)]);
    }
    f[line] = d.substr(nl + 9, len);
    i = nl + 9 + len + 1;
  }
  return f;
}

TEST_F(LogOutput, UnderJournaldEachLineIsAStructuredEntry) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a private mount namespace over /run";
  }
  const std::string run = dir_ + "/run", jdir = run + "/systemd/journal";
  ASSERT_EQ(std::system(("mkdir -p " + jdir).c_str()), 0);
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = jdir + "/socket";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
  const int rcvbuf = 4 << 20;
  ::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  const std::string cfg = dir_ + "/config.json";
  std::ofstream(cfg) << json{{"http", {{"listen", "127.0.0.1:0"}}},
                             {"log", json::object()},  // journal "auto"
                             {"workers",
                              {{"sh", shell_worker("echo 'info started fine'; "
                                                   "echo 'error: it broke' >&2; echo plain")}}}}
                            .dump();
  const std::string out = dir_ + "/manager.out";
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A private view of /run: sd_journal_sendv's /run/systemd/journal/socket is ours.
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(run.c_str(), "/run", nullptr, MS_BIND, nullptr) != 0) {
      ::_exit(77);
    }
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    struct stat st {};
    ::fstat(1, &st);
    const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    ::execl(SOCIALAI_MANAGER_BIN, SOCIALAI_MANAGER_BIN, "--config", cfg.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<std::map<std::string, std::string>> entries;
  auto has = [&](const std::string& message) -> const std::map<std::string, std::string>* {
    for (const auto& e : entries) {
      const auto it = e.find("MESSAGE");
      if (it != e.end() && it->second == message) {
        return &e;
      }
    }
    return nullptr;
  };
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline &&
         !(has("info started fine") && has("error: it broke") && has("plain"))) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      std::string buf(1 << 16, '\0');
      const auto n = ::recv(sock, buf.data(), buf.size(), 0);
      if (n > 0) {
        buf.resize(static_cast<std::size_t>(n));
        entries.push_back(parse_entry(buf));
      }
    }
  }
  if (exited && WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    ::close(sock);
    GTEST_SKIP() << "no private mount namespace here (unshare/mount refused)";
  }
  if (!exited) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &status, 0);
  }
  ::close(sock);
  const std::string text = slurp(out);
  const auto* info = has("info started fine");
  const auto* error = has("error: it broke");
  const auto* plain = has("plain");
  ASSERT_TRUE(info && error && plain) << entries.size() << " entries; manager output:\n" << text;
  EXPECT_EQ(info->at("SYSLOG_IDENTIFIER"), "socialai-sh");
  EXPECT_EQ(info->at("WORKER"), "sh");
  EXPECT_EQ(info->at("PRIORITY"), "6");
  EXPECT_EQ(info->at("STREAM"), "stdout");
  EXPECT_EQ(error->at("PRIORITY"), "3");
  EXPECT_EQ(error->at("STREAM"), "stderr");
  EXPECT_EQ(plain->at("PRIORITY"), "6");
  bool manager_seen = false;
  for (const auto& e : entries) {
    manager_seen = manager_seen || (e.count("SYSLOG_IDENTIFIER") &&
                                    e.at("SYSLOG_IDENTIFIER") == "socialai-manager" &&
                                    e.at("PRIORITY") == "6");
  }
  EXPECT_TRUE(manager_seen);
  // Sent to the journal, not also printed (journald would store every line twice).
  EXPECT_EQ(text.find("it broke"), std::string::npos) << text;
}

}  // namespace
}  // namespace socialai::testing
