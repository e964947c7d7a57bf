// The devnet's OpenAI-compatible service (mount "/openai"): /v1/embeddings,
// /v1/chat/completions and /v1/models with OpenAI's wire format, deterministic answers,
// x-ratelimit-*-requests headers over a per-minute window, an optional Bearer key
// (--openai-api-key), and usage counted per call (/_devnet/openai/stats).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"

namespace socialai::devnet {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::uint64_t fnv(const std::string& s, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Roughly OpenAI's ~4 bytes per token; at least 1 for a non-empty text.
long tokens_of(const std::string& s) {
  return s.empty() ? 0 : static_cast<long>((s.size() + 3) / 4);
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      cur.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    out.push_back(std::move(cur));
  }
  return out;
}

Response openai_error(int status, const std::string& message, const std::string& type,
                      const json& code) {
  return Response::json(status, {{"error",
                                  {{"message", message},
                                   {"type", type},
                                   {"param", nullptr},
                                   {"code", code}}}});
}

class OpenAiService : public Service {
 public:
  OpenAiService(Options& options, std::uint64_t seed)
      : seed_(seed),
        api_key_(options.str("openai-api-key", "")),
        dims_(static_cast<int>(std::clamp<std::int64_t>(options.integer("openai-dims", 256), 1, 8192))),
        rpm_(options.integer("openai-rpm", 3000)),
        bad_json_every_(options.integer("openai-bad-json-every", 0)),
        window_start_(Clock::now()) {}

  std::string name() const override { return "openai"; }
  std::string mount() const override { return "/openai"; }

  Response handle(const Request& req) override {
    if (!api_key_.empty() && req.header("authorization") != "Bearer " + api_key_) {
      return openai_error(401,
                          req.header("authorization").empty()
                              ? "You didn't provide an API key."
                              : "Incorrect API key provided.",
                          "invalid_request_error", "invalid_api_key");
    }
    // Request window: one per minute, like OpenAI's requests-per-minute limit.
    const auto now = Clock::now();
    if (now - window_start_ >= std::chrono::minutes(1)) {
      window_start_ = now;
      window_count_ = 0;
    }
    const double reset_s =
        std::chrono::duration<double>(window_start_ + std::chrono::minutes(1) - now).count();
    Response r;
    if (rpm_ > 0 && window_count_ >= rpm_) {
      ++stats_.rejected;
      r = openai_error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded");
      r.headers.emplace_back("retry-after", std::to_string(static_cast<long>(std::ceil(reset_s))));
    } else {
      ++window_count_;
      r = route(req);
    }
    if (rpm_ > 0) {
      char reset[32];
      std::snprintf(reset, sizeof reset, "%.3fs", reset_s);
      r.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(rpm_));
      r.headers.emplace_back("x-ratelimit-remaining-requests",
                             std::to_string(std::max<std::int64_t>(0, rpm_ - window_count_)));
      r.headers.emplace_back("x-ratelimit-reset-requests", reset);
    }
    return r;
  }

  Response control(const Request& req) override {
    if (req.path == "/stats") {
      return Response::json(200, {{"calls", {{"embeddings", stats_.embeddings},
                                             {"chat", stats_.chat},
                                             {"models", stats_.models}}},
                                  {"inputs_embedded", stats_.inputs},
                                  {"rejected_rate_limit", stats_.rejected},
                                  {"prompt_tokens", stats_.prompt_tokens},
                                  {"completion_tokens", stats_.completion_tokens},
                                  {"total_tokens", stats_.prompt_tokens + stats_.completion_tokens}});
    }
    return Response::json(404, {{"error", "unknown openai control route " + req.path}});
  }

 private:
  Response route(const Request& req) {
    if (req.method == "GET" && (req.path == "/v1/models" || req.path == "/models")) {
      ++stats_.models;
      json data = json::array();
      for (const char* id : {"devnet-embed", "devnet-chat"}) {
        data.push_back({{"id", id}, {"object", "model"}, {"created", 1700000000},
                        {"owned_by", "socialai-devnet"}});
      }
      return Response::json(200, {{"object", "list"}, {"data", data}});
    }
    if (req.method != "POST") {
      return openai_error(404, "Unknown request URL: " + req.method + " " + req.path,
                          "invalid_request_error", "unknown_url");
    }
    json body;
    try {
      body = json::parse(req.body);
    } catch (const json::exception&) {
      return openai_error(400, "We could not parse the JSON body of your request.",
                          "invalid_request_error", nullptr);
    }
    if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
      return openai_error(400, "you must provide a model parameter", "invalid_request_error",
                          nullptr);
    }
    if (req.path == "/v1/embeddings" || req.path == "/embeddings") {
      return embeddings(body);
    }
    if (req.path == "/v1/chat/completions" || req.path == "/chat/completions") {
      return chat(body);
    }
    return openai_error(404, "Unknown request URL: POST " + req.path, "invalid_request_error",
                        "unknown_url");
  }

  // A bag of hashed words: texts sharing words get similar vectors; the same text always gets
  // the same vector.
  std::vector<float> vector_of(const std::string& text, int dims) const {
    std::vector<float> v(static_cast<std::size_t>(dims), 0.0F);
    for (const auto& w : words_of(text)) {
      std::uint64_t h = fnv(w, seed_ ^ 0xcbf29ce484222325ULL);
      for (int i = 0; i < 3; ++i) {
        v[static_cast<std::size_t>((h >> 1) % static_cast<std::uint64_t>(dims))] +=
            (h >> 63) != 0 ? -1.0F : 1.0F;
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
      }
    }
    double n = 0;
    for (const float x : v) {
      n += static_cast<double>(x) * x;
    }
    if (n == 0) {
      v[fnv(text, seed_) % v.size()] = 1.0F;
      n = 1;
    }
    for (float& x : v) {
      x = static_cast<float>(x / std::sqrt(n));
    }
    return v;
  }

  Response embeddings(const json& body) {
    std::vector<std::string> inputs;
    const json& in = body.value("input", json());
    if (in.is_string()) {
      inputs.push_back(in.get<std::string>());
    } else if (in.is_array() && !in.empty()) {
      for (const auto& x : in) {
        if (!x.is_string()) {
          return openai_error(400, "input items must be strings (token arrays unsupported here)",
                              "invalid_request_error", nullptr);
        }
        inputs.push_back(x.get<std::string>());
      }
    } else {
      return openai_error(400, "'input' must be a string or a non-empty array of strings",
                          "invalid_request_error", nullptr);
    }
    int dims = dims_;
    if (body.contains("dimensions")) {
      if (!body["dimensions"].is_number_integer() || body["dimensions"].get<int>() < 1 ||
          body["dimensions"].get<int>() > 8192) {
        return openai_error(400, "dimensions must be an integer in 1..8192",
                            "invalid_request_error", nullptr);
      }
      dims = body["dimensions"].get<int>();
    }
    json data = json::array();
    long prompt = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vector_of(inputs[i], dims)}});
      prompt += tokens_of(inputs[i]);
    }
    ++stats_.embeddings;
    stats_.inputs += static_cast<long>(inputs.size());
    stats_.prompt_tokens += prompt;
    return Response::json(200, {{"object", "list"},
                                {"data", data},
                                {"model", body["model"]},
                                {"usage", {{"prompt_tokens", prompt}, {"total_tokens", prompt}}}});
  }

  Response chat(const json& body) {
    const json& messages = body.value("messages", json());
    if (!messages.is_array() || messages.empty()) {
      return openai_error(400, "'messages' must be a non-empty array", "invalid_request_error",
                          nullptr);
    }
    long prompt = 0;
    std::string user;
    for (const auto& m : messages) {
      if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) {
        return openai_error(400, "each message needs a string 'content'",
                            "invalid_request_error", nullptr);
      }
      prompt += 4 + tokens_of(m["content"].get<std::string>());
      if (m.value("role", "") == "user") {
        user = m["content"].get<std::string>();
      }
    }
    ++stats_.chat;
    std::string content;
    if (bad_json_every_ > 0 && stats_.chat % bad_json_every_ == 0) {
      content = "Sure! Here is the summary you asked for: " + user.substr(0, 40);
    } else {
      content = json{{"summary", summary_of(user)}, {"sentiment", sentiment_of(user)}}.dump();
    }
    const long completion = tokens_of(content);
    stats_.prompt_tokens += prompt;
    stats_.completion_tokens += completion;
    return Response::json(
        200, {{"id", "chatcmpl-devnet-" + std::to_string(stats_.chat)},
              {"object", "chat.completion"},
              {"created", 1700000000},
              {"model", body["model"]},
              {"choices", json::array({{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", content}}},
                                        {"finish_reason", "stop"}}})},
              {"usage", {{"prompt_tokens", prompt},
                         {"completion_tokens", completion},
                         {"total_tokens", prompt + completion}}}});
  }

  static std::string summary_of(const std::string& text) {
    std::string s = text.substr(0, text.find_first_of(".!?\n") == std::string::npos
                                       ? text.size()
                                       : text.find_first_of(".!?\n") + 1);
    if (s.size() > 200) {
      s = s.substr(0, 200);
    }
    return s;
  }

  static double sentiment_of(const std::string& text) {
    static const std::vector<std::string> kPos = {"good", "great", "love", "excellent", "happy",
                                                  "amazing", "nice", "win", "bullish"};
    static const std::vector<std::string> kNeg = {"bad", "terrible", "hate", "awful", "sad",
                                                  "scam", "worst", "lose", "bearish"};
    double n = 0;
    for (const auto& w : words_of(text)) {
      n += std::count(kPos.begin(), kPos.end(), w) > 0 ? 1 : 0;
      n -= std::count(kNeg.begin(), kNeg.end(), w) > 0 ? 1 : 0;
    }
    return std::round(100.0 * n / (std::abs(n) + 2.0)) / 100.0;
  }

  struct Stats {
    long embeddings = 0, chat = 0, models = 0, inputs = 0, rejected = 0;
    long prompt_tokens = 0, completion_tokens = 0;
  };

  std::uint64_t seed_;
  std::string api_key_;
  int dims_;
  std::int64_t rpm_;
  std::int64_t bad_json_every_;
  Clock::time_point window_start_;
  std::int64_t window_count_ = 0;
  Stats stats_;
};

}  // namespace

std::unique_ptr<Service> make_openai_service(Options& options, std::uint64_t seed) {
  return std::make_unique<OpenAiService>(options, seed);
}

}  // namespace socialai::devnet
