// The manager's HTTP routes: maps ApiRequest to ApiReply over the Supervisor and LogRouter.
// Runs on the io_context's thread.
#pragma once

#include <optional>
#include <string>

#include "manager/http_api.h"

namespace socialai::manager {

class Supervisor;
class LogRouter;

ApiHandler make_api_handler(Supervisor& supervisor, LogRouter& log);

// Token check for mutating routes: nullopt when allowed, else the error reply (401/403).
// Without a configured token, mutations are allowed only on a loopback listener from a
// loopback peer.
std::optional<ApiReply> check_admin(const ApiRequest& req, const std::string& admin_token);

}  // namespace socialai::manager
