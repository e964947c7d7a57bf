// Reddit wire formats (pure, no I/O): the OAuth token answer, Listings of t3 (posts) and t1
// (comments), per-post comment trees and /api/morechildren answers, base-36 ids and the
// `subreddits` setting.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace socialai::reddit {

// A body that is not what the endpoint promises (not JSON, truncated, wrong shape).
class MalformedResponse : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Token {
  std::string access_token;
  std::chrono::seconds expires_in{0};
};

// {"access_token","token_type":"bearer","expires_in","scope"}. Reddit answers some failures
// with 200 and {"error": "..."}: those throw MalformedResponse naming the error.
Token parse_token(std::string_view body);

// One post (kind t3) or comment (kind t1), as stored in external_posts.
struct Item {
  std::string kind;            // "t3" or "t1"
  std::string fullname;        // "t3_abc": our external_id
  std::uint64_t number = 0;    // the id's base-36 value: grows with time, compares age
  std::string author;          // "[deleted]" for deleted accounts
  std::string author_fullname;  // "t2_…"; empty for "[deleted]", even when the body had one
  std::string subreddit;
  std::optional<std::string> title;  // posts only
  std::string content;               // selftext or body
  std::string url;
  std::optional<std::string> parent_fullname;  // comments: t3_ (top level) or t1_
  std::optional<std::string> link_fullname;    // comments: the post they belong to
  double created_utc = 0;
  std::optional<std::int64_t> score;
  std::optional<std::int64_t> reply_count;  // posts: num_comments
  nlohmann::json raw;                       // the item's "data" object, NUL characters removed
};

struct Listing {
  std::vector<Item> items;  // in the listing's order (newest first for /new and /comments)
  // (fullname or "#index", reason) of children that could not be read; the rest are kept.
  std::vector<std::pair<std::string, std::string>> rejected;
  std::optional<std::string> after;  // null when this was the last page
};

// {"kind":"Listing","data":{"after","children":[{"kind":kind,"data":{…}}]}}. Children of
// another kind (e.g. "more") are skipped. Throws MalformedResponse when the body is not such a
// Listing.
Listing parse_listing(std::string_view body, const std::string& kind);

// A `more` placeholder in a comment tree. With children ("load more comments") they are
// fetched with /api/morechildren; without ("continue this thread": count 0, id "_") the
// subtree under parent_fullname is fetched as a tree of its own.
struct MoreStub {
  std::string parent_fullname;        // t3_ (top level) or t1_
  std::vector<std::string> children;  // base-36 ids without prefix
  std::int64_t count = 0;
  bool continue_thread() const { return children.empty(); }
};

// Comments found in a tree (in the answer's depth-first order, parents before their
// replies) and the stubs standing for the rest.
struct Tree {
  std::optional<Item> post;  // /comments/{id} answers only
  std::vector<Item> comments;
  std::vector<MoreStub> more;
  std::vector<std::pair<std::string, std::string>> rejected;  // as in Listing
};

// GET /r/{sub}/comments/{id}: [Listing holding the t3, Listing of t1 whose "replies" are
// nested Listings (or "") and of `more` stubs]. Throws MalformedResponse when the body is not
// that pair or the first Listing holds no readable post.
Tree parse_tree(std::string_view body);

// /api/morechildren?api_type=json: {"json":{"errors":[],"data":{"things":[t1 and more, flat]}}}.
// Throws MalformedResponse when errors is not empty or things is missing.
Tree parse_more_children(std::string_view body);

// "1abc" or "t3_1abc" → its value; nullopt for anything that is not base 36 (or too long).
std::optional<std::uint64_t> parse_base36(std::string_view id);

// The `subreddits` setting: a JSON array or a comma list; "r/" prefixes and blanks dropped,
// names lower-cased and de-duplicated. Throws std::invalid_argument naming a bad entry.
std::vector<std::string> parse_subreddits(const std::string& setting);

}  // namespace socialai::reddit
