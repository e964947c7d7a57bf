// Budget: prices per model, the cost of a call, ai_usage rows, and the daily spending cap
// (setting daily_budget_usd; a UTC day).
#pragma once

#include <map>
#include <string>

#include "common/db.h"
#include "workers/ai/provider.h"

namespace socialai::ai {

struct Price {
  double prompt_per_1k = 0;
  double completion_per_1k = 0;
};

class Budget {
 public:
  // `prices_json`: {"model": {"prompt_per_1k": x, "completion_per_1k": y}, ...}; empty = no
  // prices (every call costs 0). `daily_usd` <= 0: no cap. Throws std::invalid_argument on a
  // malformed price table.
  Budget(const std::string& prices_json, double daily_usd);

  double cost(const Usage& u) const;  // 0 for a model without a price
  // Writes one ai_usage row (own transaction) and adds its cost to today's spending.
  // REQUIRES: no transaction open on db.
  void record(Db& db, const std::string& provider, const Usage& u);
  // Re-reads today's (UTC) spending from ai_usage, so instances sharing a database share the
  // cap. REQUIRES: no transaction open on db.
  void refresh(Db& db);
  bool exhausted() const { return daily_usd_ > 0 && spent_ >= daily_usd_; }
  double spent() const { return spent_; }
  double daily_usd() const { return daily_usd_; }

 private:
  std::map<std::string, Price> prices_;
  double daily_usd_;
  double spent_ = 0;
};

}  // namespace socialai::ai
