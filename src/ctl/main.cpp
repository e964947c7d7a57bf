// socialai-ctl: the operator's command line for a running socialai-manager, over its HTTP API.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/manager_client.h"
#include "ctl/token.h"
#include "socialai/version.h"

namespace {

using namespace socialai::ctl;

constexpr const char* kUsage = R"(usage: socialai-ctl [--url URL] [--token-file FILE] COMMAND [ARGS]

commands:
  status [--json]                  one line per worker (name, state, healthy, pid, uptime,
                                   restarts, last success, error rate, items/min, CPU, RSS)
  logs NAME [-n N] [-f]            the last N lines (default 20, at most 1000); -f follows
  restart|stop|start NAME|all      control one worker or every enabled one; waits until it is
        [--timeout S]              done (default 60 s; 0: return once the manager accepted)
  reload                           re-read the manager's configuration file (like SIGHUP)

options:
  --url URL          the manager's API (default $SOCIALAI_URL, else http://127.0.0.1:4200)
  --token-file FILE  the admin token for control commands: a file only its owner can read
                     (one line with the token, or an environment file such as
                     /etc/socialai/env with SOCIALAI_ADMIN_TOKEN=...); default
                     $SOCIALAI_ADMIN_TOKEN. Loopback listeners without a token need none.
  --version, --help

exit status: 0 ok (status: every enabled worker healthy), 1 a worker unhealthy or a request
refused, failed or not done in time, 2 usage, 3 the manager cannot be reached
)";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "socialai-ctl: %s\n%s", why.c_str(), kUsage);
  return kExitUsage;
}

// Decimal digits only; false for anything else or more than 9 digits.
bool parse_uint(const std::string& s, unsigned long* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *out = std::stoul(s);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_url = std::getenv("SOCIALAI_URL");
  std::string url = env_url != nullptr && *env_url != '\0' ? env_url : "http://127.0.0.1:4200";
  std::string token_file;
  bool json = false, follow = false, lines_given = false, timeout_given = false;
  unsigned long lines = 20, timeout = 60;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {  // --opt=value
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_value = true;
    }
    auto next = [&](std::string* v) {
      if (has_value) {
        *v = value;
        return true;
      }
      if (i + 1 >= argc) {
        return false;
      }
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--version") {
      std::printf("socialai-ctl %s\n", SOCIALAI_VERSION);
      return kExitOk;
    } else if (a == "--url") {
      if (!next(&url)) return usage_error("--url needs a value");
    } else if (a == "--token-file") {
      if (!next(&token_file)) return usage_error("--token-file needs a value");
    } else if (a == "--json") {
      json = true;
    } else if (a == "-f" || a == "--follow") {
      follow = true;
    } else if (a == "-n" || a == "--lines") {
      if (!next(&v) || !parse_uint(v, &lines)) return usage_error("-n needs a number");
      lines_given = true;
    } else if (a == "--timeout") {
      if (!next(&v) || !parse_uint(v, &timeout)) return usage_error("--timeout needs seconds");
      timeout_given = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    return usage_error("no command given");
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return usage_error("--url must start with http:// or https://");
  }
  const std::string cmd = args[0];
  const bool control = cmd == "restart" || cmd == "stop" || cmd == "start";
  if (!control && cmd != "status" && cmd != "logs" && cmd != "reload") {
    return usage_error("unknown command " + cmd);
  }
  if (json && cmd != "status") return usage_error("--json goes with status");
  if ((follow || lines_given) && cmd != "logs") return usage_error("-n and -f go with logs");
  if (timeout_given && !control) return usage_error("--timeout goes with restart, stop, start");
  const std::size_t want = cmd == "logs" || control ? 2 : 1;
  if (args.size() != want) {
    return usage_error(want == 2 ? cmd + " takes one worker name" : cmd + " takes no argument");
  }

  std::string token;
  if (!token_file.empty()) {
    try {
      token = read_token_file(token_file);
    } catch (const TokenFileError& e) {
      std::fprintf(stderr, "socialai-ctl: %s\n", e.what());
      return kExitUsage;
    }
  } else if (const char* t = std::getenv("SOCIALAI_ADMIN_TOKEN")) {
    token = t;
  }
  ManagerClient manager(url, token);
  if (cmd == "status") return run_status(manager, json);
  if (cmd == "logs") return run_logs(manager, args[1], lines, follow);
  if (control) return run_control(manager, cmd, args[1], std::chrono::seconds(timeout));
  return run_reload(manager);
}
