// Where the reddit worker's data goes: bulk upserts of posts/comments (external_posts) and their
// authors (profiles), and the per-stream cursors in sync_state, committed together.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/db.h"
#include "workers/reddit/reddit_api.h"

namespace socialai::reddit {

// Position in one newest-first stream (/r/{sub}/new or /r/{sub}/comments), stored as JSON text
// in sync_state.cursor:
//   newest       fullname of the newest item of the last completed pass: a pass stops there
//   pass_newest  newest item of the pass in progress (becomes `newest` when the pass completes)
//   after        Reddit's `after` token to resume the pass in progress (absent between passes)
struct StreamCursor {
  std::optional<std::string> newest, pass_newest, after;

  std::string to_json() const;
  // Unreadable text gives an empty cursor (a full pass, which upserts idempotently).
  static StreamCursor from_json(const std::optional<std::string>& text);
  bool operator==(const StreamCursor&) const = default;
};

// sync_state key of a stream, e.g. "r/ethereum/new".
std::string stream_key(const std::string& subreddit, const std::string& stream);

StreamCursor load_cursor(Db& db, const std::string& worker, const std::string& key);

// In ONE transaction: upserts `items` into external_posts (source 'reddit', external_id = the
// fullname) and their authors into profiles, then stores `cursor`. Rows whose values did not
// change are left untouched (no new row version, updated_at kept). Returns the number of post
// rows inserted or changed.
// REQUIRES: no transaction open on `db`.
std::size_t commit_page(Db& db, const std::string& worker, const std::string& key,
                        const std::vector<Item>& items, const StreamCursor& cursor);

// What one commit writes, in ONE transaction.
struct Batch {
  std::vector<Item> upsert;       // inserted, or their changed values written
  std::vector<Item> insert_only;  // inserted when absent; a stored row is kept as it is
  std::vector<std::pair<std::string, std::string>> state;  // sync_state (key, cursor text)
};

// Writes `batch` (authors of both item lists into profiles). Returns the post rows inserted or
// changed. REQUIRES: no transaction open on `db`.
std::size_t commit(Db& db, const std::string& worker, const Batch& batch);

// sync_state key of a post's tree walk, e.g. "r/ethereum/tree/t3_1abc"; its cursor is
// {"num_comments": N} (the count the walk saw), plus "load" (ids behind "load more" stubs)
// and "deeper" (comments behind "continue this thread") while the walk is unfinished.
std::string tree_key(const std::string& subreddit, const std::string& post_fullname);

// Posts of `subreddit` (case-insensitive) created within the last `max_age_hours`, newest
// first, at most `limit`.
std::vector<std::string> young_posts(Db& db, const std::string& subreddit, int max_age_hours,
                                     int limit);

// Posts whose tree should be walked, (post fullname, tree cursor or nullopt), newest first, at
// most `limit`: unfinished walks, and posts with fewer comments stored than their num_comments
// that were either never walked or are young (created within max_age_hours) with a
// num_comments other than the last walk saw.
std::vector<std::pair<std::string, std::optional<std::string>>> tree_candidates(Db& db, const std::string& worker,
                                         const std::string& subreddit, int max_age_hours,
                                         int limit);

}  // namespace socialai::reddit
