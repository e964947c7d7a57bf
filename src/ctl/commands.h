// socialai-ctl's commands over a ManagerClient. Each prints its answer (stdout) or the reason
// it failed (stderr) and returns the exit status (manager_client.h: kExit*).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "ctl/manager_client.h"

namespace socialai::ctl {

// The status table (or the raw JSON); kExitOk only when every enabled worker is healthy.
int run_status(ManagerClient& m, bool json);

// The last `lines` lines of `worker`; with `follow`, then every new line as it comes, until
// interrupted (the long poll of log_follow.h: nothing lost or repeated between requests; a
// manager that goes away is waited for, a restarted one is followed from its first line).
int run_logs(ManagerClient& m, const std::string& worker, std::size_t lines, bool follow);

// POST /api/workers/{name}/{action} for one worker or, with target "all", every enabled
// worker; then, unless `wait` is zero, waits up to `wait` until each has done it (restart: a
// new pid; start: running; stop: stopped). kExitFailed if any was refused, failed or is late.
int run_control(ManagerClient& m, const std::string& action, const std::string& target,
                std::chrono::seconds wait);

// POST /api/reload.
int run_reload(ManagerClient& m);

}  // namespace socialai::ctl
