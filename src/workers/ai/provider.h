// Provider: what the AI pipeline asks of a model backend (local or an OpenAI-compatible API).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace socialai::ai {

using Vector = std::vector<float>;

struct Analysis {
  std::string summary;
  double sentiment = 0;  // in [-1, 1]
  std::string label;     // "positive", "negative" or "neutral"
};

// One billed call, as reported by the API's `usage` object.
struct Usage {
  std::string operation;  // "embeddings" or "chat"
  std::string model;
  long prompt_tokens = 0;
  long completion_tokens = 0;
};

// A whole call failed (network, HTTP error after retries, unusable body): nothing in it is
// usable; the items stay queued.
class ProviderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One item's answer was unusable (e.g. a chat reply that is not the JSON asked for).
class ItemError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Maps a score to its label (|score| < 0.05 is neutral).
std::string sentiment_label(double score);

// Not thread-safe: one provider per worker thread.
class Provider {
 public:
  using UsageSink = std::function<void(const Usage&)>;
  virtual ~Provider() = default;
  virtual std::string name() const = 0;  // "local" or "openai"
  virtual std::string embedding_model() const = 0;
  virtual std::string chat_model() const = 0;
  // True when calls cost money (ai_usage rows, budget).
  virtual bool billed() const = 0;
  // One L2-normalised vector per text, in order. Throws ProviderError.
  virtual std::vector<Vector> embed(const std::vector<std::string>& texts) = 0;
  // Summary and sentiment of one text. Throws ItemError (bad answer) or ProviderError.
  virtual Analysis analyse(const std::string& text) = 0;
  // Called once per billed HTTP call that returned usage.
  void set_usage_sink(UsageSink sink) { sink_ = std::move(sink); }

 protected:
  void report(const Usage& u) const {
    if (sink_) {
      sink_(u);
    }
  }

 private:
  UsageSink sink_;
};

}  // namespace socialai::ai
