// The manager's HTTP routes: maps ApiRequest to ApiReply over the Supervisor and LogRouter.
// Runs on the io_context's thread.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "manager/http_api.h"
#include "manager/metrics.h"

namespace socialai::manager {

class Supervisor;
class LogRouter;

// What the routes need from main: the config reload shared with SIGHUP, and manager-level
// figures for /metrics.
struct ApiHooks {
  std::function<std::string()> reload;  // "" when applied, else why it was rejected
  std::function<ManagerMetrics()> manager_metrics;
};

ApiHandler make_api_handler(Supervisor& supervisor, LogRouter& log, ApiHooks hooks);

// Token check for mutating routes: nullopt when allowed, else the error reply (401/403).
// Without a configured token, mutations are allowed only on a loopback listener from a
// loopback peer.
std::optional<ApiReply> check_admin(const ApiRequest& req, const std::string& admin_token);

// On a loopback listener, refuses (403) a request whose Host is not a loopback name (DNS
// rebinding). nullopt when allowed.
std::optional<ApiReply> check_host(const ApiRequest& req);

// Refuses (403) a request that a browser sent from another origin: Origin other than
// "http://<Host>", or Sec-Fetch-Site other than same-origin/none. Absent headers pass.
std::optional<ApiReply> check_same_origin(const ApiRequest& req);

// Every mutating route: check_same_origin, then check_admin; a refusal is logged with the
// caller's address (never the token).
std::optional<ApiReply> guard_mutation(const ApiRequest& req, const std::string& admin_token);

}  // namespace socialai::manager
