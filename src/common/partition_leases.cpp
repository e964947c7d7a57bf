// PartitionLeases: advisory locks per partition shared by a worker's instances (see the header).
#include "common/partition_leases.h"

#include <algorithm>

namespace socialai {
namespace {

// $1 worker, $2 partition.
constexpr const char* kPartitionKey =
    "hashtext('socialai.worker.' || current_schema() || '.' || $1), hashtext($2)";
// The shared member lock of worker $1's instances.
constexpr const char* kMemberKey =
    "hashtext('socialai.members.' || current_schema()), hashtext($1)";

}  // namespace

PartitionLeases::PartitionLeases(Db& db, std::string worker)
    : db_(db), worker_(std::move(worker)) {}

void PartitionLeases::set_partitions(std::vector<std::string> partitions) {
  partitions_ = std::move(partitions);
  for (const std::string& p : std::vector<std::string>(held_)) {
    if (std::find(partitions_.begin(), partitions_.end(), p) == partitions_.end()) {
      release(p);
    }
  }
}

bool PartitionLeases::balance(bool may_release) {
  std::size_t rank = 0;
  db_.with_transaction([&](pqxx::work& tx) {
    if (!joined_) {
      // Shared: every instance holds it at once; nobody ever takes it exclusively.
      db_.exec(tx, std::string("SELECT pg_advisory_lock_shared(") + kMemberKey + ")", worker_);
      joined_ = true;
    }
    const auto r = db_.exec(
        tx,
        "SELECT count(*), count(*) FILTER (WHERE l.pid < pg_backend_pid()) FROM pg_locks l "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid = hashtext('socialai.members.' || current_schema())::oid "
        "AND l.objid = hashtext($1)::oid",
        worker_);
    members_ = std::max<std::size_t>(1, r[0][0].as<std::size_t>());
    rank = r[0][1].as<std::size_t>();
  });
  const std::size_t p = partitions_.size();
  aim_ = p / members_ + (rank < p % members_ ? 1 : 0);
  bool changed = false;
  // Take free ones, starting where this rank's share would begin, so that instances starting
  // together mostly try different locks.
  const std::size_t start = p == 0 ? 0 : (rank * p / members_) % p;
  for (std::size_t i = 0; i < p && held_.size() < aim_; ++i) {
    const std::string& candidate = partitions_[(start + i) % p];
    if (std::find(held_.begin(), held_.end(), candidate) != held_.end()) {
      continue;
    }
    bool got = false;
    db_.with_transaction([&](pqxx::work& tx) {
      got = db_.exec(tx, std::string("SELECT pg_try_advisory_lock(") + kPartitionKey + ")",
                     worker_, candidate)[0][0]
                .as<bool>();
    });
    if (got) {
      take(candidate);
      changed = true;
    }
  }
  while (may_release && held_.size() > aim_) {
    release(held_.back());
    changed = true;
  }
  return changed;
}

void PartitionLeases::take(const std::string& partition) {
  held_.push_back(partition);
  std::vector<std::string> ordered;
  for (const std::string& p : partitions_) {
    if (std::find(held_.begin(), held_.end(), p) != held_.end()) {
      ordered.push_back(p);
    }
  }
  held_ = std::move(ordered);
}

void PartitionLeases::release(const std::string& partition) {
  db_.with_transaction([&](pqxx::work& tx) {
    db_.exec(tx, std::string("SELECT pg_advisory_unlock(") + kPartitionKey + ")", worker_,
             partition);
  });
  held_.erase(std::remove(held_.begin(), held_.end(), partition), held_.end());
}

std::string PartitionLeases::held_text() const {
  std::string out;
  for (const std::string& p : held_) {
    out += (out.empty() ? "" : ", ") + p;
  }
  return out;
}

void PartitionLeases::leave() {
  while (!held_.empty()) {
    release(held_.back());
  }
  if (joined_) {
    db_.with_transaction([&](pqxx::work& tx) {
      db_.exec(tx, std::string("SELECT pg_advisory_unlock_shared(") + kMemberKey + ")", worker_);
    });
    joined_ = false;
  }
}

void PartitionLeases::lost() {
  held_.clear();
  joined_ = false;
}

}  // namespace socialai
