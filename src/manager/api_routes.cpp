// Routes: /healthz, /api/workers/status, /api/workers/{name}/logs, POST control actions.
#include "manager/api_routes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "manager/admin_page.h"
#include "manager/log_router.h"
#include "manager/supervisor.h"

namespace socialai::manager {
namespace {

// Compares without an early exit, so response time does not reveal the token's prefix.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    const auto j = path.find('/', i);
    const auto part = path.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!part.empty()) {
      parts.push_back(part);
    }
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return parts;
}

ApiReply ok_json(const std::string& body) {
  ApiReply r;
  r.body = body;
  return r;
}

}  // namespace

std::optional<ApiReply> check_admin(const ApiRequest& req, const std::string& admin_token) {
  if (admin_token.empty()) {
    if (req.listener_loopback && req.peer_loopback) {
      return std::nullopt;
    }
    return json_error(403, "control API disabled: set http.admin_token to allow it off loopback");
  }
  const std::string prefix = "Bearer ";
  if (req.authorization.rfind(prefix, 0) != 0) {
    auto r = json_error(401, "missing bearer token");
    r.headers["WWW-Authenticate"] = "Bearer";
    return r;
  }
  if (!constant_time_equal(req.authorization.substr(prefix.size()), admin_token)) {
    return json_error(403, "invalid token");
  }
  return std::nullopt;
}

ApiHandler make_api_handler(Supervisor& sup, LogRouter& log, ApiHooks hooks) {
  auto requests = std::make_shared<std::uint64_t>(0);
  return [&sup, &log, hooks = std::move(hooks), requests](const ApiRequest& req) -> ApiReply {
    ++*requests;
    const auto parts = split_path(req.path);
    if (req.path == "/workers" || req.path == "/workers/") {
      if (req.method != "GET") {
        return json_error(405, "use GET");
      }
      ApiReply r;
      r.content_type = "text/html; charset=utf-8";
      r.body = std::string(admin_page_html());
      return r;
    }
    if (req.path == "/metrics") {
      if (req.method != "GET") {
        return json_error(405, "use GET");
      }
      ManagerMetrics mm = hooks.manager_metrics ? hooks.manager_metrics() : ManagerMetrics{};
      mm.http_requests = *requests;
      ApiReply r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = render_metrics(sup.status(), log.stats(), mm);
      return r;
    }
    if (req.path == "/api/reload") {
      if (req.method != "POST") {
        return json_error(405, "use POST");
      }
      if (auto denied = check_admin(req, sup.config().http.admin_token)) {
        return *denied;
      }
      const std::string error = hooks.reload ? hooks.reload() : "reload not available";
      if (!error.empty()) {
        return json_error(400, error);
      }
      return ok_json("{\"reloaded\":true}");
    }
    if (req.path == "/healthz") {
      if (req.method != "GET" && req.method != "HEAD") {
        return json_error(405, "use GET");
      }
      return ok_json("{\"status\":\"ok\"}");
    }
    if (parts.size() == 3 && parts[0] == "api" && parts[1] == "workers" && parts[2] == "status") {
      if (req.method != "GET") {
        return json_error(405, "use GET");
      }
      return ok_json(status_to_json(sup.status()));
    }
    if (parts.size() == 4 && parts[0] == "api" && parts[1] == "workers") {
      const std::string& name = parts[2];
      const std::string& action = parts[3];
      const auto names = sup.worker_names();
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        return json_error(404, "unknown worker");
      }
      if (action == "logs") {
        if (req.method != "GET") {
          return json_error(405, "use GET");
        }
        std::size_t n = 100;
        if (const auto it = req.query.find("lines"); it != req.query.end()) {
          try {
            n = static_cast<std::size_t>(std::stoul(it->second));
          } catch (const std::exception&) {
            return json_error(400, "lines must be a number");
          }
        }
        n = std::min<std::size_t>(n, LogRouter::kRingLines);
        nlohmann::json body{{"worker", name}, {"lines", log.recent(name, n)}};
        return ok_json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      Supervisor::Control c;
      if (action == "restart") {
        c = Supervisor::Control::kRestart;
      } else if (action == "stop") {
        c = Supervisor::Control::kStop;
      } else if (action == "start") {
        c = Supervisor::Control::kStart;
      } else {
        return json_error(404, "not found");
      }
      if (req.method != "POST") {
        return json_error(405, "use POST");
      }
      if (auto denied = check_admin(req, sup.config().http.admin_token)) {
        return *denied;
      }
      sup.control(name, c);
      return ok_json(nlohmann::json{{"worker", name}, {"action", action}, {"accepted", true}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return json_error(404, "not found");
  };
}

}  // namespace socialai::manager
