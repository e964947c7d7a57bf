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

}  // namespace socialai::reddit
