// ManagerProcess: runs the real socialai-manager binary for system tests, with its config in
// a temp dir, its aggregated log in a file, and small HTTP helpers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::testing {

int free_port();
// A TCP socket connected to 127.0.0.1:port, or -1.
int connect_loopback(int port);
std::string make_temp_dir();

// In a child just forked by a test, before exec: it gets SIGTERM when the forking thread ends,
// so a test or benchmark that is killed leaves no manager or devnet running behind it.
// `parent` is getpid() of the test before fork (a parent already gone exits the child).
void die_with_parent(pid_t parent);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs a command to completion, capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv);

// One entry of a config's "workers": `"name": {"path": path, "args": [...], <extra>}`.
std::string worker_entry(const std::string& name, const std::string& path,
                         const std::vector<std::string>& args = {},
                         const std::string& extra = "");
// A manager config listening on {{PORT}}: `{<top>"http": {"listen": …<http_extra>},
// "healdec": {<healdec>}, "workers": {<workers>}}` (each string is JSON text without braces).
std::string manager_config(const std::vector<std::string>& workers, const std::string& healdec,
                           const std::string& http_extra = "", const std::string& top = "");

class ManagerProcess {
 public:
  // Writes `config_json` to <dir>/config.json and starts the manager on it, its stdout and
  // stderr into `stdout_path` (empty: <dir>/manager.log, which log() reads).
  ManagerProcess(const std::string& config_json, const std::string& dir,
                 const std::string& stdout_path = "");
  ~ManagerProcess();  // SIGKILLs what is left

  int pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  void rewrite_config(const std::string& config_json);
  void signal(int sig);
  // Waits for exit; returns the exit status or -1 on timeout (-2 killed by signal).
  int wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;

  // HTTP against http.listen (port given at construction through {{PORT}} substitution).
  int port() const { return port_; }
  long http(const std::string& method, const std::string& path, std::string* body = nullptr,
            const std::vector<std::pair<std::string, std::string>>& headers = {});
  nlohmann::json status();
  // The worker's status object; an empty object if it is not listed (or the API is down).
  nlohmann::json worker(const std::string& name);

  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  // Waits until the aggregated log contains every one of `needles`.
  bool wait_for_log(std::initializer_list<std::string_view> needles,
                    std::chrono::milliseconds timeout);

 private:
  std::string dir_;
  int pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
};

// The pids appended one per line to `file` (fake_worker --pid-file).
std::vector<int> read_pids(const std::string& file);

// True if any process is left in the process group `pgid`.
bool group_alive(int pgid);
bool process_alive(int pid);

}  // namespace socialai::testing
