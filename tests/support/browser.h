// Browser: a real headless Chromium driven through chromedriver's W3C WebDriver HTTP API, for
// the system tests of the admin console and of health. Header-only (two test files use it).
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "manager_harness.h"

namespace socialai::testing {

inline const std::string kChromedriver = "/usr/bin/chromedriver";
inline const std::string kChromium = "/usr/bin/chromium";
inline const std::string kElementKey = "element-6066-11e4-a52e-4f735466cecf";  // W3C reference

// True when chromedriver and Chromium are installed (the scripts install them).
inline bool browser_available() {
  return ::access(kChromedriver.c_str(), X_OK) == 0 && ::access(kChromium.c_str(), X_OK) == 0;
}

inline std::string base64_decode(const std::string& in) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (const char ch : in) {
    const auto v = kAlphabet.find(ch);
    if (v == std::string_view::npos) {
      continue;  // '=' padding, line breaks
    }
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFFu));
    }
  }
  return out;
}


// chromedriver as a child in its own process group (Chromium and its helpers join it), and one
// WebDriver session. The destructor deletes the session and kills the whole group.
class Browser {
 public:
  using json = nlohmann::json;

  explicit Browser(const std::string& dir, std::vector<std::string> extra_args = {})
      : dir_(dir), port_(free_port()), extra_args_(std::move(extra_args)) {
    HttpClient::Options o;
    o.max_retries = 0;
    o.connect_timeout = std::chrono::seconds(2);
    o.total_timeout = std::chrono::seconds(90);  // session creation starts Chromium; slow on 2 busy cores
    client_ = HttpClient(o);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no browser behind
      const std::string log = dir_ + "/chromedriver.log";
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string port = "--port=" + std::to_string(port_);
      ::execl(kChromedriver.c_str(), kChromedriver.c_str(), port.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    try {
      open_session();
    } catch (...) {
      shutdown();  // the destructor does not run for a constructor that throws
      throw;
    }
  }

  ~Browser() { shutdown(); }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // One WebDriver command on the session; returns the response's "value".
  json session(const std::string& method, const std::string& path, const json& body = nullptr) {
    return call(method, "/session/" + session_ + path, body)["value"];
  }
  void navigate(const std::string& url) { session("POST", "/url", {{"url", url}}); }
  json run_script(const std::string& script) {
    return session("POST", "/execute/sync", {{"script", script}, {"args", json::array()}});
  }
  // Clicks the first element matching `css` the way a user would (WebDriver element click).
  void click(const std::string& css) {
    const json e = session("POST", "/element", {{"using", "css selector"}, {"value", css}});
    if (!e.contains(kElementKey)) {
      throw std::runtime_error("no element " + css + ": " + e.dump());
    }
    session("POST", "/element/" + e[kElementKey].get<std::string>() + "/click", json::object());
  }
  bool alert_open() { return !session("GET", "/alert/text").contains("error"); }
  std::string screenshot_png() {
    return base64_decode(session("GET", "/screenshot").get<std::string>());
  }
  std::string driver_log() const {
    std::ifstream in(dir_ + "/chromedriver.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  void open_session() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!ready()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("chromedriver did not become ready: " + driver_log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    json args = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--user-data-dir=" + dir_ + "/profile",
                 "--window-size=1400,900"};
    for (const auto& a : extra_args_) {
      args.push_back(a);
    }
    const json caps = {
        {"capabilities",
         {{"alwaysMatch",
           {{"browserName", "chrome"},
            {"goog:chromeOptions",
             {{"binary", kChromium}, {"args", args}}}}}}}};
    const json r = call("POST", "/session", caps);
    session_ = r.value("value", json::object()).value("sessionId", "");
    if (session_.empty()) {
      throw std::runtime_error("no WebDriver session: " + r.dump() + "\n" + driver_log());
    }
  }

  // Deletes the session (Chromium exits), then kills the group and reaps it.
  void shutdown() noexcept {
    if (!session_.empty()) {
      try {
        call("DELETE", "/session/" + session_);
      } catch (...) {  // the group kill below cleans up anyway
      }
    }
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {  // helpers reparented to us (subreaper)
    }
  }

  bool ready() {
    HttpRequest req;
    req.url = base() + "/status";
    const auto r = client_.perform(req);
    const json j = json::parse(r.body, nullptr, false);
    return r.status == 200 && j.is_object() &&
           j.value("value", json::object()).value("ready", false);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  json call(const std::string& method, const std::string& path, const json& body = nullptr) {
    HttpRequest req;
    req.method = method;
    req.url = base() + path;
    if (!body.is_null()) {
      req.body = body.dump();
      req.headers = {{"Content-Type", "application/json"}};
    }
    const auto r = client_.perform(req);
    if (r.status == 0) {
      throw std::runtime_error("WebDriver " + method + " " + path + ": " + r.error);
    }
    const json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json{{"value", {{"error", r.body}}}} : j;
  }

  std::string dir_;
  int port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  HttpClient client_;
  std::string session_;
};

}  // namespace socialai::testing
