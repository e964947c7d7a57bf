// FarcasterStore: the worker's set-based writes (SPEC §6 tables): one statement per batch, arrays
// passed as parameters and expanded with unnest, upserts that leave unchanged rows untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "common/db.h"
#include "workers/farcaster/hub_api.h"

namespace socialai::farcaster {

// Builds a PostgreSQL array literal ("{...}") to pass as ONE parameter, so a batch of any size
// is one round trip. Elements are quoted and escaped; std::nullopt becomes NULL.
// (Generic: any worker's unnest upserts can use it.)
class PgArray {
 public:
  void add(std::optional<std::string_view> v);
  void add(std::int64_t v);
  std::string str() const { return s_ + "}"; }

 private:
  void sep();
  std::string s_ = "{";
  bool first_ = true;
};

// All writes take the caller's open transaction, so data and cursors commit together.
// Every statement touches a row only if a value really changed (IS DISTINCT FROM), so a repeated
// sync of the same data leaves every row version as it was.
class FarcasterStore {
 public:
  explicit FarcasterStore(Db& db) : db_(db) {}

  // Upserts casts into external_posts (source 'farcaster'). Returns rows inserted or changed.
  std::int64_t upsert_casts(pqxx::work& tx, const std::vector<CastRow>& casts);
  // Deletes removed casts. Returns rows deleted.
  std::int64_t delete_casts(pqxx::work& tx, const std::vector<std::string>& hashes);

  void upsert_profile(pqxx::work& tx, std::uint64_t fid, const ProfileData& p);
  // User data values from events: each replaces its type's column and raw key only.
  void merge_user_data(pqxx::work& tx, const std::vector<UserDataRow>& rows);

  // Rows of any fids (each row names its fid): the event stream's batches, and the replaces.
  void upsert_reactions(pqxx::work& tx, const std::vector<ReactionRow>& rows);
  void delete_reactions(pqxx::work& tx, const std::vector<ReactionRow>& rows);
  void upsert_follows(pqxx::work& tx, const std::vector<LinkRow>& rows);
  void delete_follows(pqxx::work& tx, const std::vector<LinkRow>& rows);
  // link: verified by the row's fid; !link: unlinked from it (if still linked to it). Wallets
  // are never deleted, since chain workers may hold their balances.
  void upsert_wallets(pqxx::work& tx, const std::vector<WalletRow>& rows, bool link);

  // Makes the fid's reactions / follows / verified wallets exactly `rows` (delete or unlink
  // the rest, then the upserts above).
  void replace_reactions(pqxx::work& tx, std::uint64_t fid, std::vector<ReactionRow> rows);
  void replace_follows(pqxx::work& tx, std::uint64_t fid, std::vector<LinkRow> rows);
  void replace_wallets(pqxx::work& tx, std::uint64_t fid, std::vector<WalletRow> rows);

  // sync_state cursor; std::nullopt when none is stored.
  std::optional<std::string> cursor(pqxx::work& tx, const std::string& worker,
                                    const std::string& key);
  void set_cursor(pqxx::work& tx, const std::string& worker, const std::string& key,
                  const std::string& cursor);

  // Keys of this worker's sync_state rows that start with `prefix`.
  std::vector<std::string> cursor_keys(pqxx::work& tx, const std::string& worker,
                                       const std::string& prefix);

  // fids of every farcaster profile already known (numeric external ids), lowest first.
  std::vector<std::uint64_t> known_fids(pqxx::work& tx, std::int64_t limit);

 private:
  Db& db_;
};

}  // namespace socialai::farcaster
