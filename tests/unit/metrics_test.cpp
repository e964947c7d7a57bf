// /metrics rendering: valid Prometheus text, escaped labels, one state per worker.
#include "manager/metrics.h"

#include <gtest/gtest.h>

#include "prom_check.h"

namespace socialai::manager {
namespace {

TEST(PromCheck, RejectsBrokenOutput) {
  using socialai::testing::prometheus_syntax_error;
  EXPECT_EQ(prometheus_syntax_error("# TYPE a gauge\na 1\n"), "");
  EXPECT_NE(prometheus_syntax_error("a 1\n"), "");                        // no TYPE
  EXPECT_NE(prometheus_syntax_error("# TYPE a gauge\na{x=\"\"\"} 1\n"), "");  // bad quote
  EXPECT_NE(prometheus_syntax_error("# TYPE a gauge\na one\n"), "");
  EXPECT_NE(prometheus_syntax_error("# TYPE a gauge\na 1\na 2\n"), "");     // repeated series
  EXPECT_NE(prometheus_syntax_error("# TYPE a gauge\na 1"), "");            // no final newline
}

TEST(Metrics, RendersValidTextWithEscapedLabels) {
  WorkerStatus a;
  a.name = "search";
  a.state = "running";
  a.pid = 42;
  a.healthy = true;
  a.enabled = true;
  a.total_restarts = 3;
  a.cpu_seconds = 1.5;
  a.rss_bytes = 1 << 20;
  a.db.items_ok_hour = 10;
  a.db.last_success_unix = 1.7e9;
  WorkerStatus b;
  b.name = "we\"ird\\name";
  b.state = "fatal";
  std::map<std::string, WorkerLogStats> logs{{"search", {7, 700}}};
  const std::string text = render_metrics({a, b}, logs, ManagerMetrics{12.5, true, 9});
  EXPECT_EQ(socialai::testing::prometheus_syntax_error(text), "") << text;
  EXPECT_NE(text.find("socialai_worker_up{worker=\"search\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("socialai_worker_up{worker=\"we\\\"ird\\\\name\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("socialai_worker_state{worker=\"search\",state=\"running\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("socialai_worker_state{worker=\"search\",state=\"fatal\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("socialai_worker_restarts_total{worker=\"search\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("socialai_worker_log_bytes_total{worker=\"search\"} 700\n"),
            std::string::npos);
  EXPECT_NE(text.find("socialai_manager_database_up 1\n"), std::string::npos);
  EXPECT_NE(text.find("socialai_manager_http_requests_total 9\n"), std::string::npos);
  // Absent values are omitted, not rendered as 0.
  EXPECT_EQ(text.find("socialai_worker_resident_memory_bytes{worker=\"we"), std::string::npos);
}

}  // namespace
}  // namespace socialai::manager
