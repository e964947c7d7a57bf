// ManagerClient: HttpClient with ctl's timeouts; answers reduced to what the commands print.
#include "ctl/manager_client.h"

#include "common/redact.h"

namespace socialai::ctl {
namespace {

HttpClient::Options options(std::chrono::milliseconds total) {
  HttpClient::Options o;
  o.max_retries = 0;
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.total_timeout = total;
  o.max_response_bytes = std::size_t{64} * 1024 * 1024;
  o.user_agent = std::string("socialai-ctl/") + SOCIALAI_VERSION;
  return o;
}

}  // namespace

nlohmann::json Answer::json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string Answer::reason() const {
  std::string why;
  if (const auto j = json(); j.is_object() && j.contains("error") && j["error"].is_string()) {
    why = j["error"].get<std::string>();
  } else {
    why = body.substr(0, 200);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) {
      why.pop_back();
    }
  }
  return std::to_string(status) + (why.empty() ? "" : " " + why);
}

ManagerClient::ManagerClient(std::string base_url, std::string token)
    : base_(std::move(base_url)), token_(std::move(token)),
      quick_(options(std::chrono::seconds(15))),
      // Long enough for the longest wait the manager grants plus a slow answer.
      patient_(options(std::chrono::seconds(60))) {
  while (!base_.empty() && base_.back() == '/') {
    base_.pop_back();
  }
}

Answer ManagerClient::perform(HttpClient& client, const std::string& method,
                              const std::string& path) {
  HttpRequest req;
  req.method = method;
  req.url = base_ + path;
  if (method == "POST" && !token_.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + token_);
  }
  const HttpResponse r = client.perform(req);
  Answer a;
  a.reached = r.status != 0;
  a.status = r.status;
  a.body = r.body;
  a.error = r.error;
  return a;
}

Answer ManagerClient::get(const std::string& path) { return perform(quick_, "GET", path); }

Answer ManagerClient::get_long_poll(const std::string& path) {
  return perform(patient_, "GET", path);
}

Answer ManagerClient::post(const std::string& path) { return perform(quick_, "POST", path); }

std::string ManagerClient::unreachable(const Answer& a) const {
  return "cannot reach the manager at " + redact_url(base_) + ": " +
         (a.error.empty() ? "no answer" : a.error) +
         " (is socialai-manager running? set --url or SOCIALAI_URL)";
}

}  // namespace socialai::ctl
