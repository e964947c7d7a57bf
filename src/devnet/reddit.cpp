// The devnet's Reddit: OAuth2 client-credentials tokens (/api/v1/access_token), the Listing
// endpoints /r/{sub}/new, /r/{sub}/comments, per-post trees /r/{sub}/comments/{article} (with
// "load more" and "continue this thread" stubs), /api/morechildren and /api/info, an enforced
// X-Ratelimit-* window, and control routes for tests (truth, grow, activity, tree-faults,
// expire-tokens, stats).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "devnet/devnet.h"
#include "devnet/reddit_data.h"

namespace socialai::devnet {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using reddit::Comment;
using reddit::Post;
using reddit::Subreddit;

constexpr int kDefaultLimit = 25;  // Reddit's listing defaults
constexpr int kMaxLimit = 100;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Reddit's own error body: {"message": "Unauthorized", "error": 401}.
Response error(int status, const std::string& message) {
  return Response::json(status, {{"message", message}, {"error", status}});
}

bool valid_sub_name(const std::string& s) {
  return s.size() >= 2 && s.size() <= 21 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '_';
         });
}

// "t3_1abc" (or "1abc") → 1abc as a number; nullopt for anything else.
std::optional<std::uint64_t> parse_id(std::string s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) {
    s = s.substr(prefix.size());
  }
  if (s.empty() || s.size() > 12) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isdigit(u) != 0) {
      n = n * 36 + (u - '0');
    } else if (u >= 'a' && u <= 'z') {
      n = n * 36 + (u - 'a' + 10);
    } else {
      return std::nullopt;
    }
  }
  return n;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(sep, start), text.size());
    if (end > start) {
      out.push_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

// A form or query value: '+' is a space and %XX a byte.
std::string form_decode(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size()) {
      out += static_cast<char>(std::strtol(v.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string slug(const std::string& title) {
  std::string s;
  for (const char c : title.substr(0, 40)) {
    s += c == ' ' ? '_' : c;
  }
  return s;
}

std::string base64(const std::string& raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.find('\0'));
  return out;
}

struct Page {
  std::size_t start = 0, end = 0;
  bool paged = false;  // the request named after/before
};

// Newest-first paging over `count` items whose ids fall as the index grows, like Reddit's:
// after=X gives the items older than X, before=X the `limit` items just newer than X.
template <typename IdAt>
Page page_of(const Request& req, std::size_t count, const std::string& prefix, IdAt id_at) {
  long limit = kDefaultLimit;
  if (const auto l = req.param("limit")) {
    limit = std::strtol(l->c_str(), nullptr, 10);
    limit = std::clamp<long>(limit == 0 ? kDefaultLimit : limit, 1, kMaxLimit);
  }
  const auto n = static_cast<std::size_t>(limit);
  Page p;
  p.end = std::min(count, n);
  const auto after = req.param("after");
  const auto before = req.param("before");
  if (after && !after->empty()) {
    p.paged = true;
    const auto id = parse_id(*after, prefix);
    p.start = count;
    for (std::size_t i = 0; id && i < count; ++i) {
      if (id_at(i) < *id) {
        p.start = i;
        break;
      }
    }
    p.end = std::min(count, p.start + n);
  } else if (before && !before->empty()) {
    p.paged = true;
    const auto id = parse_id(*before, prefix);
    std::size_t stop = 0;
    while (id && stop < count && id_at(stop) > *id) {
      ++stop;
    }
    p.end = stop;
    p.start = stop > n ? stop - n : 0;
  }
  return p;
}

json listing(json children, const std::optional<std::string>& after,
             const std::optional<std::string>& before) {
  const std::size_t dist = children.size();
  return {{"kind", "Listing"},
          {"data",
           {{"after", after ? json(*after) : json(nullptr)},
            {"before", before ? json(*before) : json(nullptr)},
            {"dist", dist},
            {"modhash", ""},
            {"geo_filter", ""},
            {"children", std::move(children)}}}};
}

class RedditService final : public Service {
 public:
  RedditService(Options& options, std::uint64_t seed) : seed_(seed) {
    sizes_.posts_per_sub = static_cast<int>(options.integer("reddit-posts-per-sub", 50));
    sizes_.comments_per_post = static_cast<int>(options.integer("reddit-comments-per-post", 4));
    sizes_.authors = static_cast<int>(options.integer("reddit-authors", 60));
    sizes_.epoch = options.real("reddit-epoch", 1700000000.0);
    sizes_.big_thread_every = static_cast<int>(options.integer("reddit-big-thread-every", 0));
    sizes_.big_thread_comments = static_cast<int>(options.integer("reddit-big-thread-comments", 40));
    tree_limit_ = static_cast<int>(std::max<std::int64_t>(1, options.integer("reddit-tree-limit", 200)));
    tree_depth_ = static_cast<int>(std::max<std::int64_t>(1, options.integer("reddit-tree-depth", 10)));
    stream_reach_ = static_cast<std::size_t>(std::max<std::int64_t>(0, options.integer("reddit-stream-reach", 0)));
    token_ttl_ = std::chrono::seconds(options.integer("reddit-token-ttl", 86400));
    rate_limit_ = options.integer("reddit-rate-limit", 1000);
    rate_window_ = std::chrono::seconds(std::max<std::int64_t>(1, options.integer("reddit-rate-window", 600)));
    client_id_ = options.str("reddit-client-id", "devnet-client");
    client_secret_ = options.str("reddit-client-secret", "devnet-secret");
    deleted_ids_ = options.boolean("reddit-deleted-ids", false);
    require_by_user_ = options.boolean("reddit-require-user-agent", false);
    if (sodium_init() < 0) {
      throw std::runtime_error("sodium_init failed");
    }
    authors_ = reddit::make_authors(seed_, std::max(1, sizes_.authors));
    started_ = Clock::now();
  }

  std::string name() const override { return "reddit"; }
  std::string mount() const override { return "/reddit"; }

  Response handle(const Request& req) override {
    if (req.path == "/api/v1/access_token") {
      return access_token(req);
    }
    if (require_by_user_ && req.header("user-agent").find("(by /u/") == std::string::npos) {
      // Reddit's edge refuses a User-Agent without "(by /u/<name>)" with a bare 429: no
      // X-Ratelimit-* headers, no Retry-After, whatever the token.
      ++user_agent_refused_;
      return error(429, "Too Many Requests");
    }
    if (!authorized(req)) {
      ++unauthorized_;
      Response r = error(401, "Unauthorized");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"reddit\", error=\"invalid_token\"");
      return r;
    }
    const bool over = !count_request();
    Response r = over ? error(429, "Too Many Requests") : route(req);
    add_rate_headers(r);
    return r;
  }

  Response control(const Request& req) override {
    if (req.path == "/truth") {
      return Response::json(200, truth(req));
    }
    if (req.path == "/grow" && req.method == "POST") {
      return grow(req);
    }
    if (req.path == "/activity" && req.method == "POST") {
      return activity(req);
    }
    if (req.path == "/tree-faults" && req.method == "POST") {
      const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
      if (!body.is_object() || !body.value("rate", json(0.0)).is_number()) {
        return Response::json(400, {{"error", "body must be {\"rate\": 0..1}"}});
      }
      tree_fault_rate_ = std::clamp(body.value("rate", 0.0), 0.0, 1.0);
      return Response::json(200, {{"rate", tree_fault_rate_}});
    }
    if (req.path == "/expire-tokens" && req.method == "POST") {
      const std::size_t n = tokens_.size();
      tokens_.clear();
      return Response::json(200, {{"expired", n}});
    }
    if (req.path == "/stats") {
      return Response::json(200, {{"tokens_issued", tokens_issued_},
                                  {"unauthorized", unauthorized_},
                                  {"rate_limited", rate_limited_},
                                  {"api_requests", api_requests_},
                                  {"user_agent_refused", user_agent_refused_},
                                  {"routes", route_requests_},
                                  {"tree_faults", tree_faults_}});
    }
    return Response::json(404, {{"error", "reddit control routes: truth, grow (POST), "
                                          "activity (POST), tree-faults (POST), "
                                          "expire-tokens (POST), stats"}});
  }

 private:
  Response access_token(const Request& req) {
    if (req.method != "POST") {
      return error(405, "Method Not Allowed");
    }
    const std::string expected = "basic " + base64(client_id_ + ":" + client_secret_);
    const std::string got = req.header("authorization");
    if (lower(got.substr(0, 6)) + got.substr(std::min<std::size_t>(6, got.size())) != expected) {
      return error(401, "Unauthorized");
    }
    std::string grant;
    for (const auto& pair : split(req.body, '&')) {
      if (pair.rfind("grant_type=", 0) == 0) {
        grant = pair.substr(11);
      }
    }
    if (grant != "client_credentials") {
      // Reddit answers an unknown grant with 200 and an error object, not a 4xx.
      return Response::json(200, {{"error", "unsupported_grant_type"}});
    }
    ++tokens_issued_;
    const std::string token = "devnet-" + reddit::base36(tokens_issued_) + "-" +
                              reddit::base36(seed_ * 2654435761ULL + tokens_issued_);
    tokens_[token] = Clock::now() + token_ttl_;
    return Response::json(200, {{"access_token", token},
                                {"token_type", "bearer"},
                                {"expires_in", token_ttl_.count()},
                                {"scope", "*"}});
  }

  bool authorized(const Request& req) {
    const std::string h = req.header("authorization");
    if (h.size() < 8 || lower(h.substr(0, 7)) != "bearer ") {
      return false;
    }
    const auto it = tokens_.find(h.substr(7));
    if (it == tokens_.end()) {
      return false;
    }
    if (Clock::now() >= it->second) {
      tokens_.erase(it);
      return false;
    }
    return true;
  }

  // Counts one request in the current window; false when the window is used up.
  bool count_request() {
    ++api_requests_;
    const auto elapsed = Clock::now() - started_;
    const auto window = elapsed / rate_window_;
    if (window != window_index_) {
      window_index_ = window;
      used_ = 0;
    }
    if (used_ >= rate_limit_) {
      ++rate_limited_;
      return false;
    }
    ++used_;
    return true;
  }

  void add_rate_headers(Response& r) const {
    const auto elapsed = Clock::now() - started_;
    const auto into = elapsed - window_index_ * rate_window_;
    const auto reset = std::chrono::ceil<std::chrono::seconds>(rate_window_ - into);
    char remaining[32];
    std::snprintf(remaining, sizeof remaining, "%.1f",
                  static_cast<double>(std::max<std::int64_t>(0, rate_limit_ - used_)));
    r.headers.emplace_back("X-Ratelimit-Used", std::to_string(used_));
    r.headers.emplace_back("X-Ratelimit-Remaining", remaining);
    r.headers.emplace_back("X-Ratelimit-Reset", std::to_string(reset.count()));
  }

  Response route(const Request& req) {
    std::string path = req.path;
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      path.resize(path.size() - 5);
    }
    if (path == "/api/morechildren") {
      ++route_requests_["morechildren"];
      return tree_fault(more_children(req), true);
    }
    if (path == "/api/info") {
      ++route_requests_["info"];
      return info(req);
    }
    const auto parts = split(path, '/');
    if (parts.size() < 3 || parts[0] != "r" || !valid_sub_name(parts[1])) {
      return error(404, "Not Found");
    }
    Subreddit& sub = subreddit(parts[1]);
    if (parts.size() == 3 && parts[2] == "new") {
      ++route_requests_["new"];
      return Response::json(200, new_posts(req, sub));
    }
    if (parts.size() == 3 && parts[2] == "comments") {
      ++route_requests_["comments"];
      return Response::json(200, comment_stream(req, sub));
    }
    // /r/{sub}/comments/{article}[/{slug}[/{comment}]]
    if (parts.size() >= 4 && parts.size() <= 6 && parts[2] == "comments") {
      ++route_requests_["article"];
      std::optional<std::string> focal = req.param("comment");
      if (!focal && parts.size() == 6) {
        focal = parts[5];
      }
      return tree_fault(article(req, sub, parts[3], focal), false);
    }
    return error(404, "Not Found");
  }

  Subreddit& subreddit(const std::string& name) {
    const std::string key = lower(name);
    auto it = subs_.find(key);
    if (it == subs_.end()) {
      it = subs_.emplace(key, std::make_unique<Subreddit>(key, seed_, sizes_)).first;
    }
    return *it->second;
  }

  void put_author(json& d, int author, std::uint64_t item_id) const {
    if (author < 0) {
      d["author"] = "[deleted]";  // no author_fullname, as Reddit does for deleted accounts
      if (deleted_ids_) {
        // Some answers keep an id beside "[deleted]": half of them a live author's (who must
        // keep their profile), half an id of nobody in the pool.
        d["author_fullname"] =
            item_id % 2 == 0 ? authors_[item_id / 2 % authors_.size()].fullname
                             : "t2_" + reddit::base36((item_id % 4096 + 1) << 32);
      }
    } else {
      d["author"] = authors_[static_cast<std::size_t>(author)].name;
      d["author_fullname"] = authors_[static_cast<std::size_t>(author)].fullname;
    }
  }

  static std::string permalink(const Subreddit& s, const Post& p) {
    return "/r/" + s.name() + "/comments/" + reddit::base36(p.id) + "/" + slug(p.title) + "/";
  }

  json post_json(const Subreddit& s, const Post& p) const {
    const std::string id = reddit::base36(p.id);
    const bool self = p.link_url.empty();
    json d = {{"id", id},
              {"name", "t3_" + id},
              {"title", p.title},
              {"selftext", p.selftext},
              {"selftext_html", nullptr},
              {"subreddit", s.name()},
              {"subreddit_id", s.fullname()},
              {"subreddit_name_prefixed", "r/" + s.name()},
              {"created", p.created},
              {"created_utc", p.created},
              {"score", p.score},
              {"ups", p.score},
              {"upvote_ratio", 0.93},
              {"num_comments", p.num_comments},
              {"permalink", permalink(s, p)},
              {"url", self ? "https://www.reddit.com" + permalink(s, p) : p.link_url},
              {"is_self", self},
              {"domain", self ? "self." + s.name() : "example.com"},
              {"thumbnail", self ? "self" : "default"},
              {"over_18", false},
              {"stickied", false},
              {"link_flair_text", nullptr},
              {"approved_at_utc", nullptr}};
    put_author(d, p.author, p.id);
    return {{"kind", "t3"}, {"data", std::move(d)}};
  }

  json comment_json(const Subreddit& s, const Comment& c, bool stream) const {
    const Post& p = s.posts()[c.post];
    const std::string id = reddit::base36(c.id);
    const std::string parent = c.parent ? "t1_" + reddit::base36(s.comments()[*c.parent].id)
                                        : "t3_" + reddit::base36(p.id);
    json d = {{"id", id},
              {"name", "t1_" + id},
              {"body", c.body},
              {"link_id", "t3_" + reddit::base36(p.id)},
              {"parent_id", parent},
              {"subreddit", s.name()},
              {"subreddit_id", s.fullname()},
              {"created", c.created},
              {"created_utc", c.created},
              {"score", c.score},
              {"ups", c.score},
              {"controversiality", 0},
              {"is_submitter", c.author >= 0 && c.author == p.author},
              {"permalink", permalink(s, p) + id + "/"},
              {"replies", ""}};
    put_author(d, c.author, c.id);
    if (stream) {
      d["link_title"] = p.title;
      d["link_permalink"] = "https://www.reddit.com" + permalink(s, p);
      d["link_author"] = p.author < 0 ? "[deleted]" : authors_[static_cast<std::size_t>(p.author)].name;
    }
    return {{"kind", "t1"}, {"data", std::move(d)}};
  }

  // One newest-first Listing page over `items` (kept oldest first, as generated).
  template <typename T, typename Render>
  static json newest_first(const Request& req, const std::vector<T>& items,
                           const std::string& prefix, Render render) {
    const std::size_t n = items.size();
    const auto id_at = [&](std::size_t i) { return items[n - 1 - i].id; };
    const Page p = page_of(req, n, prefix, id_at);
    json children = json::array();
    for (std::size_t i = p.start; i < p.end; ++i) {
      children.push_back(render(items[n - 1 - i]));
    }
    std::optional<std::string> after, before;
    if (p.end < n && p.end > p.start) {
      after = prefix + reddit::base36(id_at(p.end - 1));
    }
    if (p.paged && p.end > p.start && p.start > 0) {
      before = prefix + reddit::base36(id_at(p.start));
    }
    return listing(std::move(children), after, before);
  }

  json new_posts(const Request& req, const Subreddit& s) const {
    return newest_first(req, s.posts(), "t3_", [&](const Post& p) { return post_json(s, p); });
  }

  // Like Reddit's, the stream reaches back only so far (--reddit-stream-reach): older comments
  // are found in the per-post trees alone.
  json comment_stream(const Request& req, const Subreddit& s) const {
    const auto& all = s.comments();
    if (stream_reach_ == 0 || all.size() <= stream_reach_) {
      return newest_first(req, all, "t1_",
                          [&](const Comment& c) { return comment_json(s, c, true); });
    }
    const std::vector<Comment> reach(all.end() - static_cast<std::ptrdiff_t>(stream_reach_), all.end());
    return newest_first(req, reach, "t1_",
                        [&](const Comment& c) { return comment_json(s, c, true); });
  }

  // The comments of one post: their children in id (= time) order, and depths.
  struct Thread {
    std::map<std::optional<std::size_t>, std::vector<std::size_t>> kids;  // none = top level
    std::map<std::size_t, int> depth;
  };

  static Thread thread_of(const Subreddit& s, std::size_t post) {
    Thread t;
    for (std::size_t i = 0; i < s.comments().size(); ++i) {
      const Comment& c = s.comments()[i];
      if (c.post == post) {
        t.kids[c.parent].push_back(i);
        t.depth[i] = c.parent ? t.depth[*c.parent] + 1 : 0;  // a parent is older: known
      }
    }
    return t;
  }

  static std::size_t subtree_size(const Thread& t, std::size_t c) {
    std::size_t n = 1;
    if (const auto it = t.kids.find(c); it != t.kids.end()) {
      for (const std::size_t k : it->second) {
        n += subtree_size(t, k);
      }
    }
    return n;
  }

  static bool has_kids(const Thread& t, std::size_t c) {
    const auto it = t.kids.find(c);
    return it != t.kids.end() && !it->second.empty();
  }

  std::string comment_fullname(const Subreddit& s, std::size_t c) const {
    return "t1_" + reddit::base36(s.comments()[c].id);
  }

  // "load more comments": the omitted `ids` (children of `parent`), count = all they stand for.
  json more_stub(const Subreddit& s, const Thread& t, const std::string& parent, int depth,
                 const std::vector<std::size_t>& ids) const {
    json children = json::array();
    std::size_t count = 0;
    for (const std::size_t c : ids) {
      children.push_back(reddit::base36(s.comments()[c].id));
      count += subtree_size(t, c);
    }
    const std::string first = children.at(0).get<std::string>();
    return {{"kind", "more"},
            {"data",
             {{"count", count}, {"name", "t1_" + first}, {"id", first}, {"parent_id", parent},
              {"depth", depth}, {"children", std::move(children)}}}};
  }

  // "continue this thread": count 0, id "_", no children; the client asks for the subtree.
  static json continue_stub(const std::string& parent, int depth) {
    return {{"kind", "more"},
            {"data",
             {{"count", 0}, {"name", "t1__"}, {"id", "_"}, {"parent_id", parent},
              {"depth", depth}, {"children", json::array()}}}};
  }

  struct TreeLimits {
    int max_depth = 10;  // comments at this depth or deeper are behind "continue this thread"
    int budget = 200;    // comments still to show (pre-order); the rest behind "load more"
  };

  json render_comment(const Subreddit& s, const Thread& t, std::size_t c, int depth,
                      TreeLimits& lim) const {
    json item = comment_json(s, s.comments()[c], false);
    item["data"]["depth"] = depth;
    if (has_kids(t, c)) {
      const std::string me = comment_fullname(s, c);
      json replies = depth + 1 >= lim.max_depth
                         ? json::array({continue_stub(me, depth + 1)})
                         : render_children(s, t, c, me, depth + 1, lim);
      item["data"]["replies"] = listing(std::move(replies), std::nullopt, std::nullopt);
    }
    return item;
  }

  json render_children(const Subreddit& s, const Thread& t, std::optional<std::size_t> parent,
                       const std::string& parent_name, int depth, TreeLimits& lim) const {
    json out = json::array();
    std::vector<std::size_t> omitted;
    const auto it = t.kids.find(parent);
    if (it == t.kids.end()) {
      return out;
    }
    for (const std::size_t c : it->second) {
      if (lim.budget <= 0) {
        omitted.push_back(c);
        continue;
      }
      --lim.budget;
      out.push_back(render_comment(s, t, c, depth, lim));
    }
    if (!omitted.empty()) {
      out.push_back(more_stub(s, t, parent_name, depth, omitted));
    }
    return out;
  }

  std::optional<std::size_t> find_post(const Subreddit& s, const std::string& id) const {
    const auto n = parse_id(id, "t3_");
    const auto& posts = s.posts();
    for (std::size_t i = 0; n && i < posts.size(); ++i) {
      if (posts[i].id == *n) {
        return i;
      }
    }
    return std::nullopt;
  }

  // GET /r/{sub}/comments/{article}[/_/{comment}]: [Listing of the t3, Listing of the t1 tree],
  // nested `replies` Listings with `depth`, at most `limit` comments (the rest behind "load
  // more" stubs) down to `depth` levels (deeper ones behind "continue this thread").
  Response article(const Request& req, const Subreddit& s, const std::string& article_id,
                   const std::optional<std::string>& focal) const {
    const auto post = find_post(s, article_id);
    if (!post) {
      return error(404, "Not Found");
    }
    const Thread t = thread_of(s, *post);
    TreeLimits lim{tree_depth_, tree_limit_};
    if (const auto d = req.param("depth")) {
      const long v = std::strtol(d->c_str(), nullptr, 10);
      lim.max_depth = v > 0 ? std::min<int>(static_cast<int>(std::min<long>(v, 10)), tree_depth_) : tree_depth_;
    }
    if (const auto l = req.param("limit")) {
      const long v = std::strtol(l->c_str(), nullptr, 10);
      lim.budget = v > 0 ? static_cast<int>(std::min<long>(v, tree_limit_)) : tree_limit_;
    }
    json comments = json::array();
    if (focal && !focal->empty()) {
      const auto cid = parse_id(*focal, "t1_");
      std::optional<std::size_t> root;
      for (const auto& [c, depth] : t.depth) {
        if (cid && s.comments()[c].id == *cid) {
          root = c;
        }
      }
      if (root) {  // the focal comment is depth 0, as on Reddit
        --lim.budget;
        comments.push_back(render_comment(s, t, *root, 0, lim));
      } else {  // Reddit ignores an unknown comment and shows the whole tree
        comments = render_children(s, t, std::nullopt, "t3_" + reddit::base36(s.posts()[*post].id), 0, lim);
      }
    } else {
      comments = render_children(s, t, std::nullopt, "t3_" + reddit::base36(s.posts()[*post].id), 0, lim);
    }
    json post_item = post_json(s, s.posts()[*post]);
    post_item["data"]["num_duplicates"] = 0;
    json body = json::array();
    body.push_back(listing(json::array({std::move(post_item)}), std::nullopt, std::nullopt));
    body.push_back(listing(std::move(comments), std::nullopt, std::nullopt));
    return Response::json(200, body);
  }

  // Query parameters, or for a POST the form body's.
  static std::map<std::string, std::string> params_of(const Request& req) {
    std::map<std::string, std::string> out = req.query;
    if (req.method == "POST") {
      for (const auto& pair : split(req.body, '&')) {
        const auto eq = pair.find('=');
        out[form_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : form_decode(pair.substr(eq + 1));
      }
    }
    return out;
  }

  static json api_errors(const std::string& code, const std::string& message) {
    return {{"json", {{"errors", json::array({json::array({code, message, "children"})})}}}};
  }

  // GET|POST /api/morechildren?link_id=t3_…&children=a,b&api_type=json: {"json":{"errors":[],
  // "data":{"things":[…]}}}, flat in pre-order: each requested comment, its replies, and for a
  // reply with replies of its own a "load more" stub of them (expanded by another call).
  Response more_children(const Request& req) {
    const auto p = params_of(req);
    const auto link = p.find("link_id");
    const auto kids = p.find("children");
    if (link == p.end() || kids == p.end() || kids->second.empty()) {
      return Response::json(200, api_errors("BAD_REQUEST", "link_id and children are required"));
    }
    const auto ids = split(kids->second, ',');
    if (ids.size() > 100) {
      return Response::json(400, api_errors("TOO_MANY", "at most 100 children per call"));
    }
    const Subreddit* sub = nullptr;
    std::optional<std::size_t> post;
    for (const auto& [name, s] : subs_) {
      if (const auto found = find_post(*s, link->second); found && link->second.rfind("t3_", 0) == 0) {
        sub = s.get();
        post = found;
      }
    }
    if (sub == nullptr) {
      return error(403, "Forbidden");
    }
    const Thread t = thread_of(*sub, *post);
    json things = json::array();
    for (const auto& id : ids) {
      const auto n = parse_id(id, "t1_");
      for (const auto& [c, depth] : t.depth) {
        if (!n || sub->comments()[c].id != *n) {
          continue;
        }
        json item = comment_json(*sub, sub->comments()[c], false);
        item["data"]["depth"] = depth;
        things.push_back(std::move(item));
        const auto it = t.kids.find(c);
        for (std::size_t k : it == t.kids.end() ? std::vector<std::size_t>{} : it->second) {
          json reply = comment_json(*sub, sub->comments()[k], false);
          reply["data"]["depth"] = depth + 1;
          things.push_back(std::move(reply));
          if (has_kids(t, k)) {
            things.push_back(more_stub(*sub, t, comment_fullname(*sub, k), depth + 2, t.kids.at(k)));
          }
        }
      }
    }
    return Response::json(200, {{"json", {{"errors", json::array()}, {"data", {{"things", things}}}}}});
  }

  // GET /api/info?id=t3_a,t3_b: the named posts as a Listing (at most 100 ids).
  Response info(const Request& req) const {
    const auto ids = split(req.param("id").value_or(""), ',');
    if (ids.size() > 100) {
      return error(400, "Bad Request");
    }
    json children = json::array();
    for (const auto& id : ids) {
      for (const auto& [name, s] : subs_) {
        if (const auto post = find_post(*s, id); post && id.rfind("t3_", 0) == 0) {
          children.push_back(post_json(*s, s->posts()[*post]));
        }
      }
    }
    return Response::json(200, listing(std::move(children), std::nullopt, std::nullopt));
  }

  // POST /_devnet/reddit/tree-faults: a share of tree and morechildren answers comes back broken in a way
  // HTTP cannot see: the comment Listing missing, the body cut short, or an errors answer.
  Response tree_fault(Response r, bool more) {
    if (tree_fault_rate_ <= 0 || r.status != 200 ||
        std::uniform_real_distribution<double>(0.0, 1.0)(tree_rng_) >= tree_fault_rate_) {
      return r;
    }
    ++tree_faults_;
    switch (tree_faults_ % 3) {
      case 0:
        r.body = r.body.substr(0, r.body.size() / 2);  // cut short, Content-Length matching
        return r;
      case 1:
        if (more) {
          return Response::json(200, api_errors("RATELIMIT", "devnet tree fault"));
        }
        {
          json j = json::parse(r.body);
          j.erase(1);  // [post Listing] alone
          return Response::json(200, j);
        }
      default: {
        json j = json::parse(r.body);
        return Response::json(200, more ? json{{"json", {{"errors", json::array()}}}}
                                        : json{{"kind", "Listing"}, {"data", j.at(0)["data"]}});
      }
    }
  }

  // POST /activity {"sub","post":"t3_…","comments":N,"score":S}: new comments on an existing
  // post and its score changed, as when an older thread comes alive again.
  Response activity(const Request& req) {
    const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (!body.is_object() || !body.contains("sub") || !body.contains("post") ||
        !valid_sub_name(body["sub"].get<std::string>())) {
      return Response::json(400, {{"error", "body must be {\"sub\",\"post\",\"comments\",\"score\"}"}});
    }
    Subreddit& s = subreddit(body["sub"].get<std::string>());
    const auto post = find_post(s, body["post"].get<std::string>());
    if (!post) {
      return Response::json(404, {{"error", "no such post"}});
    }
    s.add_comments(*post, body.value("comments", 0));
    if (body.contains("score")) {
      s.set_score(*post, body["score"].get<int>());
    }
    return Response::json(200, post_json(s, s.posts()[*post])["data"]);
  }

  std::vector<std::string> subs_param(const Request& req) const {
    if (const auto p = req.param("subs")) {
      return split(*p, ',');
    }
    std::vector<std::string> all;
    for (const auto& [k, v] : subs_) {
      all.push_back(k);
    }
    return all;
  }

  // What a complete sync of `subs` must have produced.
  json truth(const Request& req) {
    const bool full = req.param("full").value_or("0") == "1";
    json per_sub = json::object();
    json posts = json::array(), comments = json::array();
    std::map<std::string, std::string> authors;
    std::size_t post_count = 0, comment_count = 0;
    for (const auto& name : subs_param(req)) {
      if (!valid_sub_name(name)) {
        continue;
      }
      const Subreddit& s = subreddit(name);
      json entry = {{"posts", s.posts().size()},
                    {"comments", s.comments().size()},
                    {"stream_comments", stream_reach_ == 0 ? s.comments().size()
                                                           : std::min(stream_reach_, s.comments().size())}};
      if (!s.posts().empty()) {
        entry["newest_post"] = post_json(s, s.posts().back())["data"];
        entry["oldest_post"] = post_json(s, s.posts().front())["data"];
      }
      if (!s.comments().empty()) {
        entry["newest_comment"] = comment_json(s, s.comments().back(), true)["data"];
      }
      per_sub[s.name()] = std::move(entry);
      post_count += s.posts().size();
      comment_count += s.comments().size();
      const auto note = [&](int a) {
        if (a >= 0) {
          authors[authors_[static_cast<std::size_t>(a)].fullname] =
              authors_[static_cast<std::size_t>(a)].name;
        }
      };
      for (const Post& p : s.posts()) {
        note(p.author);
        if (full) {
          posts.push_back(post_json(s, p)["data"]);
        }
      }
      for (const Comment& c : s.comments()) {
        note(c.author);
        if (full) {
          comments.push_back(comment_json(s, c, true)["data"]);
        }
      }
    }
    json out = {{"posts", post_count},
                {"comments", comment_count},
                {"authors", authors.size()},
                {"subs", std::move(per_sub)}};
    if (full) {
      out["items"] = {{"posts", std::move(posts)},
                      {"comments", std::move(comments)},
                      {"authors", authors}};
    }
    return out;
  }

  // POST /grow {"subs": [...], "posts": N} (or ?subs=a,b&posts=N): N newer posts per subreddit.
  Response grow(const Request& req) {
    const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (!body.is_object()) {
      return Response::json(400, {{"error", "body must be a JSON object"}});
    }
    std::vector<std::string> names;
    if (body.contains("subs") && body["subs"].is_array()) {
      for (const auto& n : body["subs"]) {
        names.push_back(n.get<std::string>());
      }
    } else {
      names = subs_param(req);
    }
    const int count = body.contains("posts") ? body["posts"].get<int>()
                                             : std::stoi(req.param("posts").value_or("5"));
    json out = json::object();
    for (const auto& name : names) {
      if (!valid_sub_name(name)) {
        return Response::json(400, {{"error", "invalid subreddit name " + name}});
      }
      Subreddit& s = subreddit(name);
      s.grow(count);
      out[s.name()] = {{"posts", s.posts().size()}, {"comments", s.comments().size()}};
    }
    return Response::json(200, out);
  }

  std::uint64_t seed_;
  reddit::Sizes sizes_;
  std::vector<reddit::Author> authors_;
  std::map<std::string, std::unique_ptr<Subreddit>> subs_;
  std::chrono::seconds token_ttl_{86400};
  std::string client_id_, client_secret_;
  bool deleted_ids_ = false;  // "[deleted]" authors come with an author_fullname
  bool require_by_user_ = false;  // API routes refuse a User-Agent without "(by /u/"
  int tree_limit_ = 200, tree_depth_ = 10;  // caps of a tree answer (comments, levels)
  std::size_t stream_reach_ = 0;            // newest comments /r/{sub}/comments serves; 0 = all
  double tree_fault_rate_ = 0;
  std::mt19937_64 tree_rng_{7};
  std::uint64_t tree_faults_ = 0;
  std::map<std::string, std::uint64_t> route_requests_;
  std::map<std::string, Clock::time_point> tokens_;
  std::int64_t rate_limit_ = 1000;
  Clock::duration rate_window_;
  Clock::time_point started_;
  Clock::rep window_index_ = 0;
  std::int64_t used_ = 0;
  std::uint64_t tokens_issued_ = 0, unauthorized_ = 0, rate_limited_ = 0, api_requests_ = 0;
  std::uint64_t user_agent_refused_ = 0;
};

}  // namespace

std::unique_ptr<Service> make_reddit_service(Options& options, std::uint64_t seed) {
  return std::make_unique<RedditService>(options, seed);
}

}  // namespace socialai::devnet
