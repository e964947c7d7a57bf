// The commands: one request (or a loop of them) each, answers printed for people and scripts.
#include "ctl/commands.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <thread>
#include <vector>

#include "ctl/status_table.h"

namespace socialai::ctl {
namespace {

using nlohmann::json;

void say(std::FILE* f, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), f);
  std::fputc('\n', f);
}

// The answer was not a 2xx: print why (or that nothing answered) and pick the exit status.
int failed(const ManagerClient& m, const Answer& a, const std::string& what) {
  if (!a.reached) {
    say(stderr, "socialai-ctl: " + m.unreachable(a));
    return kExitUnreachable;
  }
  say(stderr, "socialai-ctl: " + what + ": " + a.reason());
  return kExitFailed;
}

std::string str(const json& w, const char* key) {
  return w.is_object() && w.contains(key) && w[key].is_string() ? w[key].get<std::string>() : "";
}

long pid_of(const json& w) {
  return w.is_object() && w.contains("pid") && w["pid"].is_number() ? w["pid"].get<long>() : -1;
}

json find_worker(const json& rows, const std::string& name) {
  for (const auto& w : rows.is_array() ? rows : json::array()) {
    if (str(w, "name") == name) {
      return w;
    }
  }
  return json();
}

// Where a control request stands for one worker, given its row now.
enum class Progress { kPending, kDone, kFailed };

Progress progress(const std::string& action, long old_pid, const json& w) {
  const std::string state = str(w, "state");
  const long pid = pid_of(w);
  if (w.is_null()) {
    return Progress::kFailed;  // gone (a reload removed it)
  }
  if (action == "stop") {
    return pid < 0 && state != "stopping" ? Progress::kDone : Progress::kPending;
  }
  // restart, start: a (new) process that is past starting; backoff or fatal mean it died.
  if (state == "backoff" || state == "fatal") {
    return Progress::kFailed;
  }
  const bool fresh = action == "start" || pid != old_pid;
  return pid >= 0 && fresh && state != "starting" && state != "stopping" ? Progress::kDone
                                                                          : Progress::kPending;
}

std::string outcome(const std::string& action, long old_pid, const json& w) {
  const long pid = pid_of(w);
  if (action == "stop") {
    return "stopped";
  }
  std::string s = action == "restart" ? "restarted" : "started";
  if (action == "restart" && old_pid >= 0) {
    return s + " (pid " + std::to_string(old_pid) + " -> " + std::to_string(pid) + ")";
  }
  return s + " (pid " + std::to_string(pid) + ")";
}

std::string why_not(const json& w) {
  if (w.is_null()) {
    return "no longer configured";
  }
  std::string s = "state " + str(w, "state");
  for (const char* key : {"error", "lastExit"}) {
    if (!str(w, key).empty()) {
      s += std::string(", ") + (key[0] == 'e' ? "error: " : "last exit: ") + str(w, key);
      break;
    }
  }
  return s;
}

}  // namespace

int run_status(ManagerClient& m, bool as_json) {
  const Answer a = m.get("/api/workers/status");
  if (!a.ok()) {
    return failed(m, a, "status");
  }
  const json rows = a.json();
  if (!rows.is_array()) {
    say(stderr, "socialai-ctl: status: the manager's answer is not a JSON array");
    return kExitFailed;
  }
  if (as_json) {
    say(stdout, a.body);
  } else {
    std::fputs(render_status_table(rows, std::time(nullptr)).c_str(), stdout);
  }
  return all_enabled_healthy(rows) ? kExitOk : kExitFailed;
}

int run_logs(ManagerClient& m, const std::string& worker, std::size_t lines, bool follow) {
  const std::string base = "/api/workers/" + url_escape(worker) + "/logs";
  Answer a = m.get(base + "?lines=" + std::to_string(lines));
  if (!a.ok()) {
    return failed(m, a, "logs " + worker);
  }
  json page = a.json();
  bool away = false;  // the manager did not answer the last request
  for (;;) {
    if (!page.is_object() || !page.contains("lines") || !page["lines"].is_array()) {
      say(stderr, "socialai-ctl: logs " + worker + ": unexpected answer from the manager");
      return kExitFailed;
    }
    if (page.value("skipped", 0) > 0) {
      say(stderr, "socialai-ctl: " + std::to_string(page.value("skipped", 0)) +
                      " lines were rotated out of the manager's buffer before they were read");
    }
    for (const auto& line : page["lines"]) {
      say(stdout, line.is_string() ? line.get<std::string>() : line.dump());
    }
    std::fflush(stdout);
    if (!follow) {
      return kExitOk;
    }
    const auto cursor = page.value("next", std::uint64_t{0});
    const std::string instance = str(page, "instance");
    for (;;) {
      a = m.get_long_poll(base + "?after=" + std::to_string(cursor) + "&wait=25");
      if (!a.reached || a.status == 503) {
        if (!a.reached && !away) {
          say(stderr, "socialai-ctl: " + m.unreachable(a) + "; retrying every second");
        }
        away = away || !a.reached;
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      if (!a.ok()) {
        return failed(m, a, "logs " + worker);
      }
      if (away) {
        say(stderr, "socialai-ctl: the manager answers again");
        away = false;
      }
      page = a.json();
      if (!instance.empty() && str(page, "instance") != instance) {
        // A restarted manager numbers lines afresh: everything it holds is new to us.
        say(stderr, "socialai-ctl: the manager restarted; following its log from the start");
        a = m.get_long_poll(base + "?after=0");
        if (!a.ok()) {
          continue;
        }
        page = a.json();
      }
      break;
    }
  }
}

int run_control(ManagerClient& m, const std::string& action, const std::string& target,
                std::chrono::seconds wait) {
  Answer a = m.get("/api/workers/status");
  if (!a.ok()) {
    return failed(m, a, action);
  }
  const json rows = a.json();
  std::vector<std::string> names;
  if (target == "all") {
    for (const auto& w : rows.is_array() ? rows : json::array()) {
      if (w.is_object() && w.value("enabled", false)) {
        names.push_back(str(w, "name"));
      }
    }
    if (names.empty()) {
      say(stderr, "socialai-ctl: " + action + " all: no enabled worker");
      return kExitFailed;
    }
  } else {
    names.push_back(target);
  }
  int status = kExitOk;
  std::map<std::string, long> pending;  // name -> pid before the request
  for (const auto& name : names) {
    a = m.post("/api/workers/" + url_escape(name) + "/" + action);
    if (!a.ok()) {
      const int s = failed(m, a, action + " " + name + " refused");
      if (s == kExitUnreachable) {
        return s;
      }
      status = s;
      continue;
    }
    if (wait.count() == 0) {
      say(stdout, name + ": " + action + " accepted");
    } else {
      pending[name] = pid_of(find_worker(rows, name));
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!pending.empty()) {
    a = m.get("/api/workers/status");
    if (!a.ok()) {
      return failed(m, a, action);
    }
    const json now = a.json();
    const bool late = std::chrono::steady_clock::now() >= deadline;
    for (auto it = pending.begin(); it != pending.end();) {
      const json w = find_worker(now, it->first);
      const Progress p = progress(action, it->second, w);
      if (p == Progress::kDone) {
        say(stdout, it->first + ": " + outcome(action, it->second, w));
      } else if (p == Progress::kFailed || late) {
        say(stderr, "socialai-ctl: " + it->first + ": " + action +
                        (p == Progress::kFailed ? " failed" : " not done after " +
                                                                  std::to_string(wait.count()) +
                                                                  " s") +
                        " (" + why_not(w) + ")");
        status = kExitFailed;
      } else {
        ++it;
        continue;
      }
      it = pending.erase(it);
    }
    if (!pending.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return status;
}

int run_reload(ManagerClient& m) {
  const Answer a = m.post("/api/reload");
  if (!a.ok()) {
    return failed(m, a, "reload refused");
  }
  say(stdout, "configuration reloaded");
  return kExitOk;
}

}  // namespace socialai::ctl
