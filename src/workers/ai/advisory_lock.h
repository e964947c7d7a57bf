// TryAdvisoryLock: a session-level pg_try_advisory_lock held for a scope, so one instance at a
// time rewrites a shared result set (topics, recommendations). Not thread-safe (uses one Db).
#pragma once

#include <string>

#include "common/db.h"

namespace socialai::ai {

class TryAdvisoryLock {
 public:
  // REQUIRES: no open transaction on db.
  TryAdvisoryLock(Db& db, const std::string& name) : db_(db), name_(name) {
    held_ = db_.with_transaction([&](pqxx::work& tx) {
      return db_.exec(tx, "SELECT pg_try_advisory_lock(hashtext($1))", name_)[0][0].as<bool>();
    });
  }
  ~TryAdvisoryLock() {
    if (!held_) {
      return;
    }
    try {
      db_.with_transaction(
          [&](pqxx::work& tx) { db_.exec(tx, "SELECT pg_advisory_unlock(hashtext($1))", name_); });
    } catch (...) {  // a lost connection released it already
    }
  }
  TryAdvisoryLock(const TryAdvisoryLock&) = delete;
  TryAdvisoryLock& operator=(const TryAdvisoryLock&) = delete;
  bool held() const { return held_; }

 private:
  Db& db_;
  std::string name_;
  bool held_ = false;
};

}  // namespace socialai::ai
