// Prometheus text exposition (format 0.0.4) of the workers' status. Pure renderer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "manager/log_router.h"
#include "manager/worker_status.h"

namespace socialai::manager {

struct ManagerMetrics {
  double uptime_seconds = 0;
  bool database_up = false;
  std::uint64_t http_requests = 0;
};

std::string render_metrics(const std::vector<WorkerStatus>& workers,
                           const std::map<std::string, WorkerLogStats>& logs,
                           const ManagerMetrics& manager);

}  // namespace socialai::manager
