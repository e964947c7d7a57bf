// OpenAiProvider: request building, response parsing, OpenAI's rate-limit headers.
#include "workers/ai/openai_provider.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "workers/ai/text.h"

namespace socialai::ai {
namespace {

using nlohmann::json;

constexpr const char* kSystemPrompt =
    "You summarise social media posts and rate their sentiment. Reply with strict JSON only, "
    "no prose and no code fences: {\"summary\": \"<one or two sentences>\", \"sentiment\": "
    "<number from -1 (very negative) to 1 (very positive)>}";

long usage_field(const json& u, const char* key) {
  const auto it = u.find(key);
  return it != u.end() && it->is_number_integer() ? it->get<long>() : 0;
}

void read_usage(const json& doc, Usage* usage) {
  if (usage == nullptr) {
    return;
  }
  const auto it = doc.find("usage");
  if (it == doc.end() || !it->is_object()) {
    return;
  }
  usage->prompt_tokens = usage_field(*it, "prompt_tokens");
  usage->completion_tokens = usage_field(*it, "completion_tokens");
  if (usage->completion_tokens == 0 && usage->prompt_tokens == 0) {
    usage->prompt_tokens = usage_field(*it, "total_tokens");
  }
}

// A short, secret-free description of a failed answer.
std::string describe(const HttpResponse& r) {
  if (!r.error.empty()) {
    return r.error;
  }
  std::string msg = "HTTP " + std::to_string(r.status);
  try {
    const json doc = json::parse(r.body);
    if (doc.contains("error") && doc["error"].is_object() && doc["error"].contains("message")) {
      msg += ": " + clip_words(doc["error"]["message"].get<std::string>(), 200);
    }
  } catch (const std::exception&) {
  }
  return msg;
}

}  // namespace

OpenAiProvider::OpenAiProvider(OpenAiOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  limiter_ = std::make_unique<RateLimiter>(options_.requests_per_minute, 1);
  HttpClient::Options http = options_.http;
  http.limiter = limiter_.get();
  http_ = HttpClient(std::move(http));
}

OpenAiProvider::~OpenAiProvider() = default;

std::string OpenAiProvider::embedding_model() const {
  return options_.dimensions
             ? options_.embedding_model + "@" + std::to_string(*options_.dimensions)
             : options_.embedding_model;
}

HttpResponse OpenAiProvider::post(const std::string& path, const std::string& body) {
  HttpHeaders headers;
  if (!options_.api_key.empty()) {
    headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  }
  HttpResponse r = http_.post_json(options_.base_url + path, body, std::move(headers));
  // OpenAI names its window headers per kind (x-ratelimit-remaining-requests, ...), which the
  // HttpClient does not know: an exhausted request window pauses the shared limiter.
  const auto rem = r.headers.find("x-ratelimit-remaining-requests");
  const auto reset = r.headers.find("x-ratelimit-reset-requests");
  if (rem != r.headers.end() && reset != r.headers.end()) {
    char* end = nullptr;
    const double remaining = std::strtod(rem->second.c_str(), &end);
    const auto wait = parse_reset(reset->second);
    if (end != rem->second.c_str() && remaining < 1.0 && wait) {
      const auto capped = std::min(*wait, std::chrono::milliseconds(std::chrono::minutes(10)));
      spdlog::info("openai: request window exhausted; pausing {} ms", capped.count());
      limiter_->pause_until(limiter_->now() + capped);
    }
  }
  return r;
}

std::vector<Vector> OpenAiProvider::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) {
    return {};
  }
  json req = {{"model", options_.embedding_model}, {"input", texts}, {"encoding_format", "float"}};
  if (options_.dimensions) {
    req["dimensions"] = *options_.dimensions;
  }
  const std::string body = req.dump(-1, ' ', false, json::error_handler_t::replace);
  // A 200 with an unusable body (a proxy cut it, the server garbled it) is retried once.
  std::string last_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const HttpResponse r = post("/embeddings", body);
    if (!r.ok()) {
      throw ProviderError("embeddings: " + describe(r));
    }
    Usage u{"embeddings", options_.embedding_model, 0, 0};
    try {
      auto vectors = parse_embeddings(r.body, texts.size(), &u);
      report(u);
      return vectors;
    } catch (const ProviderError& e) {
      last_error = e.what();
      spdlog::warn("openai: unusable embeddings answer ({}); {}", last_error,
                   attempt == 0 ? "retrying" : "giving up");
    }
  }
  throw ProviderError("embeddings: " + last_error);
}

Analysis OpenAiProvider::analyse(const std::string& text) {
  const json req = {{"model", options_.chat_model},
                    {"temperature", 0},
                    {"response_format", {{"type", "json_object"}}},
                    {"messages",
                     {{{"role", "system"}, {"content", kSystemPrompt}},
                      {{"role", "user"}, {"content", text}}}}};
  const HttpResponse r =
      post("/chat/completions", req.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!r.ok()) {
    throw ProviderError("chat/completions: " + describe(r));
  }
  Usage u{"chat", options_.chat_model, 0, 0};
  try {
    Analysis a = parse_chat(r.body, &u);
    report(u);
    return a;
  } catch (...) {
    report(u);  // the tokens were spent even when the answer is unusable
    throw;
  }
}

std::vector<Vector> OpenAiProvider::parse_embeddings(const std::string& body,
                                                     std::size_t expected, Usage* usage) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    throw ProviderError(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
    throw ProviderError("no data array in the answer");
  }
  read_usage(doc, usage);
  std::vector<Vector> out(expected);
  std::size_t dims = 0;
  for (const auto& item : doc["data"]) {
    if (!item.is_object() || !item.contains("index") || !item["index"].is_number_unsigned() ||
        !item.contains("embedding") || !item["embedding"].is_array()) {
      throw ProviderError("bad data item in the answer");
    }
    const auto idx = item["index"].get<std::size_t>();
    if (idx >= expected || !out[idx].empty()) {
      throw ProviderError("embedding index out of range or repeated");
    }
    Vector v;
    v.reserve(item["embedding"].size());
    double norm = 0;
    for (const auto& x : item["embedding"]) {
      if (!x.is_number()) {
        throw ProviderError("non-numeric embedding value");
      }
      const auto f = x.get<float>();
      norm += static_cast<double>(f) * f;
      v.push_back(f);
    }
    if (v.empty() || (dims != 0 && v.size() != dims)) {
      throw ProviderError("embeddings of differing or zero length");
    }
    dims = v.size();
    if (norm > 0) {  // Ollama and others may not normalise
      const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (float& f : v) {
        f *= inv;
      }
    }
    out[idx] = std::move(v);
  }
  for (const auto& v : out) {
    if (v.empty()) {
      throw ProviderError("answer has fewer embeddings than inputs");
    }
  }
  return out;
}

Analysis OpenAiProvider::parse_chat(const std::string& body, Usage* usage) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    throw ItemError(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    throw ItemError("chat answer is not an object");
  }
  read_usage(doc, usage);
  const json* content = nullptr;
  if (doc.contains("choices") && doc["choices"].is_array() && !doc["choices"].empty()) {
    const json& c0 = doc["choices"][0];
    if (c0.is_object() && c0.contains("message") && c0["message"].is_object() &&
        c0["message"].contains("content") && c0["message"]["content"].is_string()) {
      content = &c0["message"]["content"];
    }
  }
  if (content == nullptr) {
    throw ItemError("chat answer without choices[0].message.content");
  }
  json answer;
  try {
    answer = json::parse(content->get<std::string>());
  } catch (const json::exception&) {
    throw ItemError("model reply is not JSON: " + clip_words(content->get<std::string>(), 120));
  }
  if (!answer.is_object() || !answer.contains("summary") || !answer["summary"].is_string() ||
      !answer.contains("sentiment") || !answer["sentiment"].is_number()) {
    throw ItemError("model reply lacks summary/sentiment: " + clip_words(answer.dump(), 120));
  }
  const double s = answer["sentiment"].get<double>();
  if (!std::isfinite(s) || s < -1.0 || s > 1.0) {
    throw ItemError("model sentiment outside [-1, 1]");
  }
  Analysis a;
  a.summary = clip_words(squash_space(answer["summary"].get<std::string>()), 1000);
  a.sentiment = s;
  a.label = sentiment_label(s);
  return a;
}

std::optional<std::chrono::milliseconds> OpenAiProvider::parse_reset(const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  double total_ms = 0;
  const char* p = value.c_str();
  bool any = false;
  while (*p != '\0') {
    char* end = nullptr;
    const double n = std::strtod(p, &end);
    if (end == p || n < 0 || !std::isfinite(n)) {
      return std::nullopt;
    }
    p = end;
    any = true;
    if (*p == '\0') {  // bare number: seconds
      total_ms += n * 1000;
    } else if (p[0] == 'm' && p[1] == 's') {
      total_ms += n;
      p += 2;
    } else if (*p == 'h' || *p == 'm' || *p == 's') {
      total_ms += n * (*p == 'h' ? 3600000.0 : *p == 'm' ? 60000.0 : 1000.0);
      ++p;
    } else {
      return std::nullopt;
    }
  }
  // A reset beyond a day is garbage (and a huge one must not overflow the conversion below:
  // found by the openai_response fuzz target).
  if (!any || !std::isfinite(total_ms) || total_ms < 0 || total_ms > 86400000.0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(total_ms)));
}

}  // namespace socialai::ai
