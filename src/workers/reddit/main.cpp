// socialai-worker-reddit: syncs configured subreddits' posts and comments (SPEC §7 "reddit").
#include "common/worker_runtime.h"
#include "workers/reddit/reddit_sync.h"

int main(int argc, char** argv) {
  return socialai::run_worker<socialai::RedditSync>(argc, argv, "reddit");
}
