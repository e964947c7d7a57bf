// The devnet's synthetic Reddit: subreddits with posts, comment trees and a shared author pool,
// all derived from the seed, the subreddit's name and the size flags (no I/O, no clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace socialai::devnet::reddit {

// Base-36 text of a Reddit id ("1a2b3c"); ids order like the numbers they encode.
std::string base36(std::uint64_t n);

struct Author {
  std::string name;      // "username"
  std::string fullname;  // "t2_xxx"
};

struct Post {
  std::uint64_t id = 0;
  std::string title, selftext;
  std::string link_url;  // empty for a self post
  int author = -1;       // index into the author pool; -1 = "[deleted]"
  double created = 0;    // Unix seconds
  int score = 0;
  int num_comments = 0;
};

struct Comment {
  std::uint64_t id = 0;
  std::size_t post = 0;               // index into Subreddit::posts()
  std::optional<std::size_t> parent;  // index into Subreddit::comments(); none = top level
  int author = -1;
  std::string body;
  double created = 0;
  int score = 0;
};

struct Sizes {
  int posts_per_sub = 50;
  int comments_per_post = 4;
  int authors = 60;
  double epoch = 1700000000.0;  // Unix time around which a subreddit's first post is made
  // Every Nth post (0 = none) gets a big thread of big_thread_comments comments, most of them
  // replies and many in long chains, so trees need `more` stubs and "continue this thread".
  int big_thread_every = 0;
  int big_thread_comments = 40;
};

// The author pool shared by every subreddit (redditors post in many places).
std::vector<Author> make_authors(std::uint64_t seed, int count);

// One subreddit. posts() and comments() are in creation order, which is also id order (ids grow
// with time, as Reddit's do), so "newest first" is the reverse of these vectors.
class Subreddit {
 public:
  Subreddit(std::string name, std::uint64_t seed, const Sizes& sizes);

  const std::string& name() const { return name_; }
  const std::vector<Post>& posts() const { return posts_; }
  const std::vector<Comment>& comments() const { return comments_; }
  // "t5_xxx"
  std::string fullname() const { return "t5_" + base36(sub_id_); }

  // Adds `count` posts (with their comments), all newer than everything so far.
  void grow(int count);

  // Activity on an existing post: `count` new comments (newer than everything so far, replies
  // to its comments or top level) and its score set to `score`. num_comments follows.
  void add_comments(std::size_t post, int count);
  void set_score(std::size_t post, int score) { posts_.at(post).score = score; }

 private:
  void add_posts(int count);

  std::string name_;
  Sizes sizes_;
  std::mt19937_64 rng_;
  std::uint64_t sub_id_ = 0, post_base_ = 0, comment_base_ = 0;
  double clock_ = 0;  // the newest time handed out so far
  std::vector<Post> posts_;
  std::vector<Comment> comments_;
};

}  // namespace socialai::devnet::reddit
