// Routes: /healthz, /api/workers/status, /api/workers/{name}/logs, POST control actions.
#include "manager/api_routes.h"

#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "manager/admin_page.h"
#include "manager/log_follow.h"
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

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The host name of a Host header value ("[::1]:4200" -> "::1", "LocalHost:80" -> "localhost").
std::string host_name(const std::string& host) {
  std::string h = lower(host);
  if (!h.empty() && h.front() == '[') {
    const auto close = h.find(']');
    return close == std::string::npos ? h : h.substr(1, close - 1);
  }
  const auto colon = h.find(':');
  return colon == std::string::npos ? h : h.substr(0, colon);
}

bool is_loopback_name(const std::string& name) {
  if (name == "localhost" || name == "::1") {
    return true;
  }
  // 127.0.0.0/8 written as a dotted quad.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(name.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
         b < 256 && c < 256 && d < 256;
}

// 16 random bytes as hex: a CSP nonce (hex is valid base64-value syntax).
std::string random_nonce() {
  unsigned char bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    throw std::runtime_error("getrandom failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// The console with a fresh nonce on its inline <script> and <style>, and the policy that
// allows only those: no other script, style, frame, form target or connection but our own.
ApiReply console_reply() {
  const std::string nonce = random_nonce();
  std::string page(admin_page_html());
  for (const std::string tag : {"<script>", "<style>"}) {
    for (auto pos = page.find(tag); pos != std::string::npos; pos = page.find(tag, pos + 1)) {
      page.insert(pos + tag.size() - 1, " nonce=\"" + nonce + "\"");
    }
  }
  ApiReply r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(page);
  r.headers["Content-Security-Policy"] =
      "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
      "'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'";
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

}  // namespace

std::optional<ApiReply> check_host(const ApiRequest& req) {
  // DNS rebinding: a page from evil.example whose name now resolves to 127.0.0.1 reaches a
  // loopback listener with "Host: evil.example". Only loopback names may address it.
  if (req.listener_loopback && !req.host.empty() && !is_loopback_name(host_name(req.host))) {
    return json_error(403, "host not allowed: this listener answers only to loopback names");
  }
  return std::nullopt;
}

std::optional<ApiReply> check_same_origin(const ApiRequest& req) {
  // A browser names the page that sent a request in Origin (and Sec-Fetch-Site); a mutation
  // from any other origin is refused, whatever the credentials (CSRF). Clients that are not
  // browsers (curl, socialai-ctl) send neither.
  if (!req.fetch_site.empty() && req.fetch_site != "same-origin" && req.fetch_site != "none") {
    return json_error(403, "cross-origin request refused (Sec-Fetch-Site: " + req.fetch_site + ")");
  }
  if (!req.origin.empty() && (req.host.empty() || lower(req.origin) != "http://" + lower(req.host))) {
    return json_error(403, "cross-origin request refused (Origin is not this console)");
  }
  return std::nullopt;
}

std::optional<ApiReply> check_admin(const ApiRequest& req, const std::string& admin_token) {
  if (admin_token.empty()) {
    if (req.listener_loopback && req.peer_loopback) {
      return std::nullopt;
    }
    return json_error(403, "control API disabled: set http.admin_token to allow it off loopback");
  }
  // RFC 7235: the scheme is case-insensitive; one or more spaces before the credentials.
  const std::string& a = req.authorization;
  if (a.size() < 7 || lower(a.substr(0, 7)) != "bearer ") {
    auto r = json_error(401, "missing bearer token");
    r.headers["WWW-Authenticate"] = "Bearer";
    return r;
  }
  const auto start = a.find_first_not_of(' ', 7);
  if (!constant_time_equal(start == std::string::npos ? "" : a.substr(start), admin_token)) {
    return json_error(403, "invalid token");
  }
  return std::nullopt;
}

std::optional<ApiReply> guard_mutation(const ApiRequest& req, const std::string& admin_token) {
  auto denied = check_same_origin(req);
  if (!denied) {
    denied = check_admin(req, admin_token);
  }
  if (denied) {
    // The audit trail: who was refused and why (never the token itself).
    spdlog::warn("http: refused {} {} from {}: {} {}", req.method, req.path,
                 req.peer.empty() ? "?" : req.peer, denied->status,
                 nlohmann::json::parse(denied->body, nullptr, false).value("error", ""));
  }
  return denied;
}

ApiHandler make_api_handler(Supervisor& sup, LogRouter& log, ApiHooks hooks) {
  auto requests = std::make_shared<std::uint64_t>(0);
  return [&sup, &log, hooks = std::move(hooks), requests](const ApiRequest& req) -> ApiReply {
    ++*requests;
    if (auto denied = check_host(req)) {
      return *denied;
    }
    const auto parts = split_path(req.path);
    if (req.path == "/workers" || req.path == "/workers/") {
      if (req.method != "GET") {
        return json_error(405, "use GET");
      }
      return console_reply();
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
      if (auto denied = guard_mutation(req, sup.config().http.admin_token)) {
        return *denied;
      }
      spdlog::info("http: reload requested by {}", req.peer);
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
    if (req.path == "/api/manager/logs") {
      if (req.method != "GET") {
        return json_error(405, "use GET");
      }
      return logs_reply(log, "manager", req.query);  // the manager's own lines (the console)
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
        return logs_reply(log, name, req.query);
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
      if (auto denied = guard_mutation(req, sup.config().http.admin_token)) {
        return *denied;
      }
      spdlog::info("http: {} of {} requested by {}", action, name, req.peer);
      sup.control(name, c);
      return ok_json(nlohmann::json{{"worker", name}, {"action", action}, {"accepted", true}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return json_error(404, "not found");
  };
}

}  // namespace socialai::manager
