// RedditSync: the reddit worker (SPEC §7 "reddit"). Syncs /r/{sub}/new and the subreddit's
// comment stream /r/{sub}/comments into external_posts and profiles, page by page, each page
// committed with its cursor.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/worker_runtime.h"
#include "workers/reddit/reddit_client.h"
#include "workers/reddit/reddit_store.h"

namespace socialai {

// Settings (workers.reddit.<key> in the config; a settings row reddit_<key> overrides):
//   subreddits           JSON array or comma list (required)
//   client_id            OAuth client id (required; put "${REDDIT_CLIENT_ID}" in the config)
//   client_secret        OAuth client secret (required; "${REDDIT_CLIENT_SECRET}")
//   base_url             API root (default https://oauth.reddit.com)
//   auth_url             token endpoint (default https://www.reddit.com/api/v1/access_token)
//   user_agent           against reddit.com it must contain "(by /u/<name>)"
//   username             Reddit account for the default User-Agent
//                        "linux:socialai:<version> (by /u/<username>)"; user_agent or username
//                        is required when base_url is Reddit's (elsewhere the default is
//                        "linux:socialai:<version> (socialai reddit worker)")
//   requests_per_minute  local limit (default 60); pacing from X-Ratelimit-* comes on top
//   comments             also sync the comment stream (default true)
//   limit                items per page, 1..100 (default 100)
//   max_pages            pages per stream per cycle (default 10); a pass continues next cycle
//   trees                refresh young posts and walk per-post comment trees (default true)
//   refresh_max_age_hours  posts younger than this get score/num_comments refreshed and their
//                        trees re-walked when num_comments changed (default 48)
//   tree_requests        requests per subreddit per cycle for refreshes, trees and
//                        morechildren (default: half of what requests_per_minute allows in one
//                        interval_ms, shared by the subreddits; at least 2)
class RedditSync : public Worker {
 public:
  // Runs once per database (SPEC §8): other instances stand by on the advisory lease.
  bool exclusive() const override { return true; }
  // Throws DependencyError when a credential, the subreddit list or (against Reddit itself) a
  // rule-abiding User-Agent is missing, or when the token endpoint refuses the credentials or
  // cannot be reached.
  void validate(WorkerContext& ctx) override;
  // For every subreddit: the posts stream, the comment stream, then (with `trees`) the refresh
  // of young posts and the tree walks. A stream or walk that fails (after
  // the client's retries) is recorded as a failed item and the cycle goes on; a refused
  // User-Agent (reddit::UserAgentRefused) fails the cycle.
  void run_cycle(WorkerContext& ctx) override;

 private:
  struct StreamResult {
    std::size_t pages = 0, fetched = 0, written = 0;
    bool complete = false;  // the pass reached known items or the end of the listing
  };
  // Syncs one stream ("new" with t3 items or "comments" with t1) until its pass completes,
  // max_pages pages were read, or the worker stops. Throws reddit::FetchError/AuthError.
  StreamResult sync_stream(WorkerContext& ctx, const std::string& subreddit,
                           const std::string& stream, const std::string& kind);

  // Within tree_requests_: /api/info for the posts younger than refresh_max_age_hours_ (100
  // per request), then the trees of tree_candidates(), newest first.
  void sync_threads(WorkerContext& ctx, const std::string& subreddit);
  // Fetches one post's tree: /comments/{id}, /api/morechildren (100 ids per call) for "load
  // more" stubs, /comments/{id}/_/{comment} for "continue this thread", and commits the comments
  // with the walk's state in one transaction. `state` = the post's tree cursor (text or
  // empty); one with pending stubs resumes there instead of fetching the root again. `budget` =
  // requests it may send; false when it ran out first (what was found is committed with the
  // stubs still pending, so the next cycle goes on from there).
  bool walk_tree(WorkerContext& ctx, const std::string& subreddit, const std::string& post,
                 const std::optional<std::string>& state, int budget);

  WorkerContext* ctx_ = nullptr;  // for the client's stop check; set by validate/run_cycle
  std::unique_ptr<reddit::RedditClient> client_;
  std::vector<std::string> subreddits_;
  bool comments_ = true;
  int limit_ = 100;
  int max_pages_ = 10;
  bool trees_ = true;
  int refresh_max_age_hours_ = 48;
  int tree_requests_ = 30;
};

}  // namespace socialai
