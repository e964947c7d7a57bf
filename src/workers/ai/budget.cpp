// Budget: cost per call from the price table, ai_usage rows, today's spending.
#include "workers/ai/budget.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace socialai::ai {

Budget::Budget(const std::string& prices_json, double daily_usd) : daily_usd_(daily_usd) {
  if (prices_json.empty()) {
    return;
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(prices_json);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("prices: not JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    throw std::invalid_argument("prices: expected an object {model: {prompt_per_1k, ...}}");
  }
  for (const auto& [model, p] : doc.items()) {
    if (!p.is_object()) {
      throw std::invalid_argument("prices." + model + ": expected an object");
    }
    Price price;
    for (const auto& [key, v] : p.items()) {
      if (!v.is_number() || v.get<double>() < 0) {
        throw std::invalid_argument("prices." + model + "." + key + ": expected a number >= 0");
      }
      if (key == "prompt_per_1k") {
        price.prompt_per_1k = v.get<double>();
      } else if (key == "completion_per_1k") {
        price.completion_per_1k = v.get<double>();
      } else {
        throw std::invalid_argument("prices." + model + ": unknown key " + key);
      }
    }
    prices_[model] = price;
  }
}

double Budget::cost(const Usage& u) const {
  const auto it = prices_.find(u.model);
  if (it == prices_.end()) {
    return 0;
  }
  return (static_cast<double>(u.prompt_tokens) * it->second.prompt_per_1k +
          static_cast<double>(u.completion_tokens) * it->second.completion_per_1k) /
         1000.0;
}

void Budget::record(Db& db, const std::string& provider, const Usage& u) {
  const double c = cost(u);
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx,
            "INSERT INTO ai_usage (provider, model, operation, prompt_tokens, completion_tokens, "
            "cost_usd) VALUES ($1, $2, $3, $4, $5, $6)",
            provider, u.model, u.operation, u.prompt_tokens, u.completion_tokens, c);
  });
  spent_ += c;
}

void Budget::refresh(Db& db) {
  spent_ = db.with_transaction([&](pqxx::work& tx) {
    return db
        .exec(tx,
              "SELECT coalesce(sum(cost_usd), 0)::float8 FROM ai_usage "
              "WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")[0][0]
        .as<double>();
  });
}

}  // namespace socialai::ai
