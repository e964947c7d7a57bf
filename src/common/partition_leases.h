// PartitionLeases: SPEC §8 for a sync worker whose work splits into partitions (Snapchain
// shards, ...), so that N instances on one database share the work instead of N-1 standing by.
//
// Every instance holds a session-level PostgreSQL advisory lock per partition it works on, and
// a shared "member" lock for as long as it is connected. From pg_locks each instance sees how
// many instances are alive (M) and its rank among them (by backend pid): with P partitions,
// instance k aims at P/M, one more for the first P%M, which adds up to P. Locks die with the
// session, so a killed instance's partitions are free at once and the others take them at
// their next balance(); a new instance makes those above their aim release the excess.
//
// Keys: the two-int4 advisory lock form, (hashtext('socialai.worker.<schema>.<worker>'),
// hashtext(partition)) for a partition and (hashtext('socialai.members.<schema>'),
// hashtext(worker)) for membership; so separate schemas never exclude each other.
// Not thread-safe: the worker's thread, on the worker's connection.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/db.h"

namespace socialai {

class PartitionLeases {
 public:
  // `db` must outlive this and is used on the caller's thread only.
  PartitionLeases(Db& db, std::string worker);

  // The partitions to share (e.g. "shard:1"), in the order they are taken. Held ones that are
  // no longer listed are released at once.
  void set_partitions(std::vector<std::string> partitions);
  const std::vector<std::string>& partitions() const { return partitions_; }

  // Joins (if not yet a member), counts the members, takes free partitions up to this
  // instance's aim and, if `may_release`, releases held ones beyond it (pass true only while
  // the worker has no work of those partitions under way). Returns true if the held set
  // changed. Throws pqxx errors (a lost connection: call lost()).
  bool balance(bool may_release);

  // Held partitions, in partitions() order.
  const std::vector<std::string>& held() const { return held_; }
  // True if more are held than aimed at: end the work under way so balance(true) can release.
  bool over_aim() const { return held_.size() > aim_; }
  std::size_t aim() const { return aim_; }
  std::size_t members() const { return members_; }
  // "shard:1, shard:2" (for heartbeats and logs); empty when nothing is held.
  std::string held_text() const;

  // Releases every partition and stops being a member (a disabled or failing instance must not
  // count, or the others would aim at too few). balance() joins again.
  void leave();
  // The connection died: the locks went with it.
  void lost();

 private:
  void take(const std::string& partition);
  void release(const std::string& partition);

  Db& db_;
  std::string worker_;
  std::vector<std::string> partitions_;
  std::vector<std::string> held_;
  bool joined_ = false;
  std::size_t members_ = 1, aim_ = 0;
};

}  // namespace socialai
