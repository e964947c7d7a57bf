// AiWorker: settings → provider → batches → topics → recommendations.
#include "workers/ai/ai_worker.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "workers/ai/budget.h"
#include "workers/ai/local_provider.h"
#include "workers/ai/openai_provider.h"
#include "workers/ai/pipeline.h"
#include "workers/ai/topics.h"

namespace socialai::ai {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kMaxCycle = std::chrono::minutes(5);

double setting_double(const WorkerContext& ctx, const std::string& key, double fallback) {
  const auto v = ctx.setting(key);
  if (!v || v->empty()) {
    return fallback;
  }
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || d < 0) {
    throw std::invalid_argument(key + ": expected a number >= 0, got '" + *v + "'");
  }
  return d;
}

std::string default_index_path(const WorkerContext& ctx) {
  if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state != '\0') {
    return std::string(state) + "/ai-index.hnsw";  // systemd StateDirectory=
  }
  return (std::filesystem::temp_directory_path() / ("socialai-" + ctx.name() + "-index.hnsw"))
      .string();
}

// The API key: setting api_key (config "${OPENAI_API_KEY:-}" expansion), else the environment.
std::string api_key(const WorkerContext& ctx) {
  std::string key = ctx.setting_or("api_key", "");
  if (key.empty()) {
    if (const char* env = std::getenv("OPENAI_API_KEY"); env != nullptr) {
      key = env;
    }
  }
  return key;
}

std::string base_url(const WorkerContext& ctx) {
  std::string base = ctx.setting_or("base_url", OpenAiOptions{}.base_url);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base;
}

std::string budget_note(double budget) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "daily budget of $%.2f reached; spending paused until 00:00 UTC",
                budget);
  return buf;
}

}  // namespace

AiWorker::AiWorker() = default;
AiWorker::~AiWorker() = default;

std::unique_ptr<Provider> AiWorker::make_provider(const WorkerContext& ctx) {
  const std::string kind = ctx.setting_or("provider", "local");
  const auto dims = ctx.setting_int("dimensions", 0);
  if (dims < 0 || dims > 65536) {
    throw std::invalid_argument("dimensions: expected 1..65536");
  }
  if (kind == "local") {
    return std::make_unique<LocalProvider>(dims > 0 ? static_cast<int>(dims)
                                                    : LocalProvider::kDefaultDims);
  }
  if (kind != "openai") {
    throw std::invalid_argument("provider: expected \"local\" or \"openai\", got \"" + kind + "\"");
  }
  OpenAiOptions o;
  o.base_url = base_url(ctx);
  o.api_key = api_key(ctx);
  o.chat_model = ctx.setting_or("chat_model", ctx.setting_or("model", o.chat_model));
  o.embedding_model = ctx.setting_or("embedding_model", o.embedding_model);
  if (dims > 0) {
    o.dimensions = static_cast<int>(dims);
  }
  o.requests_per_minute = setting_double(ctx, "requests_per_minute", 0);
  o.http.total_timeout = std::chrono::milliseconds(120000);  // chat answers can be slow
  o.http.backoff = {std::chrono::milliseconds(200), std::chrono::milliseconds(10000)};
  o.http.max_retries = 5;
  o.http.should_stop = [&ctx] { return ctx.stopping(); };
  return std::make_unique<OpenAiProvider>(std::move(o));
}

void AiWorker::validate(WorkerContext& ctx) {
  std::unique_ptr<Provider> provider;
  try {
    provider = make_provider(ctx);
    Budget check(ctx.setting_or("prices", ""), setting_double(ctx, "daily_budget_usd", 0));
  } catch (const std::invalid_argument& e) {
    throw DependencyError(std::string("ai settings: ") + e.what());
  }
  if (provider->name() != "openai") {
    return;
  }
  HttpClient http;
  HttpHeaders headers;
  if (const std::string key = api_key(ctx); !key.empty()) {
    headers.emplace_back("Authorization", "Bearer " + key);
  }
  const std::string base = base_url(ctx);
  const HttpResponse r = http.get(base + "/models", headers);
  if (r.status == 401 || r.status == 403) {
    throw DependencyError("openai: " + redact_url(base) + "/models answered " +
                          std::to_string(r.status) + " (API key missing or rejected)");
  }
  if (!r.ok()) {
    throw DependencyError("openai: " + redact_url(base) + "/models unreachable: " +
                          (r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error));
  }
}

void AiWorker::update_note(WorkerContext& ctx, bool paused, double budget) {
  if (paused && !paused_) {
    spdlog::warn("{}: daily budget of ${:.2f} reached; spending paused until 00:00 UTC",
                 ctx.name(), budget);
    ctx.set_note(budget_note(budget));
  } else if (!paused && paused_) {
    spdlog::info("{}: spending resumed (daily budget no longer reached)", ctx.name());
    ctx.set_note("");
  }
  paused_ = paused;
}

void AiWorker::run_cycle(WorkerContext& ctx) {
  auto provider = make_provider(ctx);
  Budget budget(ctx.setting_or("prices", ""), setting_double(ctx, "daily_budget_usd", 0));
  PipelineOptions po;
  po.batch_size = static_cast<int>(std::clamp<std::int64_t>(ctx.setting_int("batch_size", 10), 1, 10000));
  Pipeline pipeline(ctx.db(), *provider, budget, po);

  const auto t0 = Clock::now();
  int done = 0;
  bool paused = false;
  while (!ctx.stopping() && Clock::now() - t0 < kMaxCycle) {
    const BatchResult r = pipeline.run_batch(ctx);
    done += r.done;
    if (r.budget_stop) {
      paused = true;
      break;
    }
    if (r.claimed == 0) {
      break;
    }
  }
  update_note(ctx, paused, budget.daily_usd());
  if (ctx.stopping()) {
    return;
  }

  const std::string model = provider->embedding_model();
  const int k = static_cast<int>(ctx.setting_int("topics_k", 8));
  const int after = static_cast<int>(ctx.setting_int("recluster_after", 100));
  recluster_if_due(ctx.db(), ctx.name(), model, k, after);

  // The index needs the vectors' dimension, known from the first stored embedding.
  const auto dims_row = ctx.db().with_transaction([&](pqxx::work& tx) {
    return ctx.db().exec(
        tx, "SELECT dims FROM embeddings WHERE model = $1 AND item_type = 'post' LIMIT 1", model);
  });
  if (dims_row.empty()) {
    return;
  }
  const int dims = dims_row[0][0].as<int>();
  RecommenderOptions ro;
  ro.index_path = ctx.setting_or("index_path", default_index_path(ctx));
  ro.exact_threshold = static_cast<std::size_t>(ctx.setting_int("exact_threshold", 20000));
  if (!recommender_ || recommender_->model() != model || recommender_->index().dims() != dims) {
    recommender_ = std::make_unique<Recommender>(model, dims, ro);
  }
  recommender_->sync(ctx.db());
  const int profiles = recommender_->refresh(ctx.db(), ctx.name());
  if (done > 0 || profiles >= 0) {
    spdlog::info("{}: {} item(s) processed; recommendations for {} profile(s)", ctx.name(), done,
                 profiles < 0 ? 0 : profiles);
  }
}

}  // namespace socialai::ai
