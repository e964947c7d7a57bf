// ManagerClient: socialai-ctl's requests to the manager's HTTP API (through HttpClient, no
// retries: a control request is sent once). Not thread-safe; one per process.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/http_client.h"

namespace socialai::ctl {

// Exit statuses of socialai-ctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // unhealthy, refused, failed or timed out
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct Answer {
  bool reached = false;  // false: no HTTP answer at all (see `error`)
  long status = 0;
  std::string body;
  std::string error;  // transport error, without secrets

  bool ok() const { return reached && status >= 200 && status < 300; }
  // The body as JSON, or null when it is not JSON.
  nlohmann::json json() const;
  // "403 invalid token": the status and the manager's `error` text (or the body's start).
  std::string reason() const;
};

class ManagerClient {
 public:
  // `base_url` like "http://127.0.0.1:4200" (no trailing slash needed); `token` may be empty.
  ManagerClient(std::string base_url, std::string token);

  Answer get(const std::string& path);
  // A long poll: the manager may hold it for up to 30 s (log_follow.h) before it answers.
  Answer get_long_poll(const std::string& path);
  // Sends `Authorization: Bearer <token>` when there is a token.
  Answer post(const std::string& path);

  const std::string& url() const { return base_; }
  // "cannot reach the manager at URL: ERROR (is socialai-manager running? set --url or
  // SOCIALAI_URL)".
  std::string unreachable(const Answer& a) const;

 private:
  Answer perform(HttpClient& client, const std::string& method, const std::string& path);

  std::string base_;
  std::string token_;
  HttpClient quick_;
  HttpClient patient_;
};


}  // namespace socialai::ctl
