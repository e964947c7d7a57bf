// System test of the admin console (GET /workers): the real manager, a real headless Chromium
// driven through chromedriver's W3C WebDriver HTTP API. Skipped when chromedriver is missing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "browser.h"
#include "manager_harness.h"

namespace socialai::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kFake = SOCIALAI_FAKE_WORKER_BIN;

// Worker output that would run script if the page inserted it as HTML.
const std::string kHostileLines =
    "<script>alert(1)</script>\n<img src=x onerror=\"alert(2)\">\n<b id=\"injected\">bold</b>";

// One HTML page served on its own port from a thread: "another origin" for the browser.
class PageServer {
 public:
  explicit PageServer(std::string html) : html_(std::move(html)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("page server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~PageServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  PageServer(const PageServer&) = delete;
  PageServer& operator=(const PageServer&) = delete;
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        continue;
      }
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) {
          break;
        }
        req.append(buf, static_cast<std::size_t>(n));
      }
      const bool page = req.rfind("GET / ", 0) == 0;
      const std::string body = page ? html_ : "not found";
      const std::string reply = std::string(page ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                                "\r\nContent-Type: text/html\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                body;
      (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::string html_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class AdminConsole : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!browser_available()) {
      GTEST_SKIP() << kChromedriver << " or " << kChromium
                   << " not installed (Debian packages chromium, chromium-driver; the scripts "
                      "install them)";
    }
    dir_ = make_temp_dir();
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::system(("rm -rf " + dir_).c_str());
    }
  }

  // Polls a page script until it returns true.
  bool wait_for_page(Browser& b, const std::string& script, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      if (b.run_script(script) == true) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  std::string dir_;
};

std::string worker(const std::string& name, const std::vector<std::string>& args,
                   const std::string& extra = "") {
  return json(name).dump() + ": {\"path\": " + json(kFake).dump() +
         ", \"args\": " + json(args).dump() + extra + "}";
}

// JS returning the text of `sel` inside the worker's row, or null.
std::string cell(const std::string& name, const std::string& sel) {
  return "(document.querySelector('[data-worker=\"" + name + "\"] " + sel + "') || {}).textContent";
}

TEST_F(AdminConsole, RendersWorkersEscapesOutputAndRestartsFromTheBrowser) {
  const std::string pids = dir_ + "/alpha.pids";
  ManagerProcess m(
      "{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"},"
      " \"healdec\": {\"restart_delay_ms\": 100}, \"workers\": {" +
          worker("alpha", {"--pid-file", pids}) + ", " + worker("beta", {}) + ", " +
          worker("crashy", {"--exit-code", "3", "--run-ms", "200"}, ", \"max_restarts\": 2") +
          ", " + worker("noisy", {"--partial-line", kHostileLines}) + "}}",
      dir_);
  ASSERT_TRUE(m.wait_until(
      [&] {
        return m.worker("alpha")["state"] == "running" && m.worker("crashy")["state"] == "fatal" &&
               m.worker("noisy")["state"] == "stopped";
      },
      15s))
      << m.status().dump() << m.log();

  Browser b(dir_);
  b.navigate("http://127.0.0.1:" + std::to_string(m.port()) + "/workers");

  // Rows render with the API's states, pids and restart counts, and the status colours.
  ASSERT_TRUE(wait_for_page(b,
                            "return document.querySelectorAll('[data-worker]').length === 4 && " +
                                cell("alpha", ".state") + " === 'running' && " +
                                cell("crashy", ".state") + " === 'fatal';",
                            20s))
      << b.run_script("return document.body.innerText;").dump();
  const int alpha_pid = m.worker("alpha")["pid"].get<int>();
  EXPECT_EQ(b.run_script("return " + cell("alpha", ".pid") + ";"), std::to_string(alpha_pid));
  EXPECT_EQ(b.run_script("return " + cell("beta", ".state") + ";"), "running");
  EXPECT_EQ(b.run_script("return " + cell("noisy", ".state") + ";"), "stopped");
  EXPECT_EQ(b.run_script("return " + cell("crashy", ".restarts") + ";"), "2");
  EXPECT_EQ(
      b.run_script("return document.querySelector('[data-worker=\"alpha\"].c-green') !== null "
                   "&& document.querySelector('[data-worker=\"crashy\"].c-red') !== null;"),
      true);
  EXPECT_EQ(b.run_script("return document.querySelectorAll("
                         "'[data-worker=\"alpha\"] button[data-action]').length;"),
            3);

  // Hostile worker output shows up as text in the log tail: no element, no script, no alert.
  b.click("[data-worker=\"noisy\"] .toggle");
  ASSERT_TRUE(wait_for_page(
      b, "return (" + cell("noisy", ".log") + " || '').includes('<script>alert(1)</script>');",
      10s))
      << b.run_script("return " + cell("noisy", ".log") + ";").dump();
  EXPECT_EQ(b.run_script("return " + cell("noisy", ".log") + ".includes('<b id=\"injected\">');"),
            true);
  EXPECT_EQ(b.run_script("return document.querySelectorAll('.log *').length;"), 0);
  EXPECT_EQ(b.run_script("return document.querySelectorAll('script').length;"), 1);
  EXPECT_EQ(b.run_script("return document.querySelectorAll('img, #injected').length;"), 0);
  EXPECT_FALSE(b.alert_open());

  // Restart from the browser: the manager starts a new alpha process, and the page shows it.
  b.click("[data-worker=\"alpha\"] button[data-action=\"restart\"]");
  ASSERT_TRUE(m.wait_until(
      [&] {
        const auto w = m.worker("alpha");
        return w["state"] == "running" && w["pid"].is_number() && w["pid"] != alpha_pid;
      },
      10s))
      << m.status().dump() << m.log();
  const int new_pid = m.worker("alpha")["pid"].get<int>();
  // The new process writes its pid file right after exec, possibly after the API shows it.
  EXPECT_TRUE(m.wait_until(
      [&] {
        return read_pids(pids) == std::vector<int>{alpha_pid, new_pid};
      },
      5s));
  EXPECT_TRUE(wait_for_page(
      b, "return " + cell("alpha", ".pid") + " === '" + std::to_string(new_pid) + "';", 10s));
  EXPECT_EQ(b.run_script("return document.getElementById('notice').textContent;"),
            "restart requested for alpha");
  EXPECT_FALSE(b.alert_open());

  const std::string png = b.screenshot_png();
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* w = std::getenv("SOCIALAI_WRITE_SCREENSHOT"); w && std::string(w) == "1") {
    // This file is tests/system/admin_console_test.cpp; the picture goes to <repo>/docs.
    const std::string self = __FILE__;
    const auto at = self.rfind("tests/system/");
    ASSERT_NE(at, std::string::npos) << self;
    std::ofstream(self.substr(0, at) + "docs/admin-console.png", std::ios::binary) << png;
  }
}

// Issue 13: a page from another origin (and a rebound name) must not control the workers,
// whatever a real browser sends: a no-cors fetch, a form posted into a frame.
TEST_F(AdminConsole, PagesFromOtherOriginsCannotControlWorkers) {
  ManagerProcess m("{\"http\": {\"listen\": \"127.0.0.1:{{PORT}}\"}, \"workers\": {" +
                       worker("alpha", {}) + ", " + worker("beta", {}) + "}}",
                   dir_);
  ASSERT_TRUE(m.wait_until(
      [&] { return m.worker("alpha")["state"] == "running" && m.worker("beta")["state"] == "running"; },
      15s))
      << m.status().dump() << m.log();
  const int alpha = m.worker("alpha")["pid"].get<int>();
  const int beta = m.worker("beta")["pid"].get<int>();
  const std::string target = "http://127.0.0.1:" + std::to_string(m.port());
  PageServer evil(
      "<!doctype html><html><body>"
      "<iframe name=\"f\"></iframe>"
      "<form id=\"form\" method=\"post\" target=\"f\" action=\"" + target +
      "/api/workers/beta/stop\"></form>"
      "<script>"
      "fetch('" + target + "/api/workers/alpha/stop', {method: 'POST', mode: 'no-cors'})"
      ".then(() => { document.title = 'fetch sent'; }, (e) => { document.title = 'fetch ' + e; });"
      "document.getElementById('form').submit();"
      "</script></body></html>");

  Browser b(dir_, {"--host-resolver-rules=MAP evil.example 127.0.0.1"});
  b.navigate("http://127.0.0.1:" + std::to_string(evil.port()) + "/");
  // The manager's audit lines are the progress signal: both requests arrived and were refused.
  ASSERT_TRUE(m.wait_until(
      [&] {
        const std::string log = m.log();
        return log.find("refused POST /api/workers/alpha/stop") != std::string::npos &&
               log.find("refused POST /api/workers/beta/stop") != std::string::npos;
      },
      30s))
      << m.log() << b.run_script("return document.title;").dump();
  EXPECT_EQ(m.worker("alpha")["state"], "running");
  EXPECT_EQ(m.worker("alpha")["pid"], alpha);
  EXPECT_EQ(m.worker("beta")["state"], "running");
  EXPECT_EQ(m.worker("beta")["pid"], beta);

  // DNS rebinding: evil.example resolves to 127.0.0.1, so the browser treats the manager as
  // evil.example's own server. The listener answers only to loopback names.
  b.navigate("http://evil.example:" + std::to_string(m.port()) + "/workers");
  ASSERT_TRUE(wait_for_page(b, "return document.body.innerText.includes('host not allowed');",
                            20s))
      << b.run_script("return document.body.innerText;").dump();
  b.run_script(
      "window.rebound = 'pending';"
      "fetch('/api/workers/alpha/stop', {method: 'POST'})"
      ".then((r) => { window.rebound = String(r.status); }, (e) => { window.rebound = String(e); });");
  ASSERT_TRUE(wait_for_page(b, "return window.rebound !== 'pending';", 20s));
  EXPECT_EQ(b.run_script("return window.rebound;"), "403");
  EXPECT_EQ(m.worker("alpha")["pid"], alpha);

  // The console itself, from its own origin, still controls the workers.
  b.navigate(target + "/workers");
  ASSERT_TRUE(wait_for_page(b, "return document.querySelectorAll('[data-worker]').length === 2;",
                            20s));
  b.click("[data-worker=\"beta\"] button[data-action=\"stop\"]");
  EXPECT_TRUE(m.wait_until([&] { return m.worker("beta")["state"] == "stopped"; }, 10s))
      << m.log();
}

}  // namespace
}  // namespace socialai::testing
