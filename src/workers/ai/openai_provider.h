// OpenAiProvider: any OpenAI-compatible HTTP API (OpenAI, Ollama, llama.cpp server, vLLM).
//   POST {base_url}/embeddings        {"model", "input": [...], "dimensions"?}
//   POST {base_url}/chat/completions  one call per item; the reply must be the strict JSON
//                                     {"summary": string, "sentiment": number in [-1, 1]}
// Every answered call's `usage` goes to the usage sink (ai_usage rows; cost from prices).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/rate_limiter.h"
#include "workers/ai/provider.h"

namespace socialai::ai {

struct OpenAiOptions {
  std::string base_url = "https://api.openai.com/v1";  // without the trailing slash
  std::string api_key;  // empty: no Authorization header (Ollama, llama.cpp); never logged
  std::string embedding_model = "text-embedding-3-small";
  std::string chat_model = "gpt-4o-mini";
  std::optional<int> dimensions;  // sent as "dimensions" when set
  double requests_per_minute = 0;  // 0: only the server's rate-limit headers limit us
  HttpClient::Options http;        // timeouts, retries (its limiter/should_stop are set here)
};

class OpenAiProvider : public Provider {
 public:
  explicit OpenAiProvider(OpenAiOptions options);
  ~OpenAiProvider() override;

  std::string name() const override { return "openai"; }
  // The model name, plus "@<dims>" when dimensions is set, so vectors of different sizes from
  // one model never share cache or embeddings rows.
  std::string embedding_model() const override;
  std::string chat_model() const override { return options_.chat_model; }
  bool billed() const override { return true; }
  std::vector<Vector> embed(const std::vector<std::string>& texts) override;
  Analysis analyse(const std::string& text) override;

  // Parsers, public for unit tests on recorded bodies. Throw ProviderError / ItemError.
  static std::vector<Vector> parse_embeddings(const std::string& body, std::size_t expected,
                                              Usage* usage);
  static Analysis parse_chat(const std::string& body, Usage* usage);
  // "1s", "6m0s", "20ms", "1h2m3.5s" or plain seconds ("0.5") as OpenAI sends
  // x-ratelimit-reset-requests; nullopt for garbage.
  static std::optional<std::chrono::milliseconds> parse_reset(const std::string& value);

 private:
  HttpResponse post(const std::string& path, const std::string& body);

  OpenAiOptions options_;
  std::unique_ptr<RateLimiter> limiter_;
  HttpClient http_;
};

}  // namespace socialai::ai
