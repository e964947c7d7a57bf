// The devnet's Reddit: OAuth2 client-credentials tokens (/api/v1/access_token), the Listing
// endpoints /r/{sub}/new, /r/{sub}/comments and /r/{sub}/comments/{article}, an enforced
// X-Ratelimit-* window, and control routes for tests (truth, grow, expire-tokens, stats).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
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
                                  {"user_agent_refused", user_agent_refused_}});
    }
    return Response::json(404, {{"error", "reddit control routes: truth, grow (POST), "
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
    const auto parts = split(path, '/');
    if (parts.size() < 3 || parts[0] != "r" || !valid_sub_name(parts[1])) {
      return error(404, "Not Found");
    }
    Subreddit& sub = subreddit(parts[1]);
    if (parts.size() == 3 && parts[2] == "new") {
      return Response::json(200, new_posts(req, sub));
    }
    if (parts.size() == 3 && parts[2] == "comments") {
      return Response::json(200, comment_stream(req, sub));
    }
    if (parts.size() >= 4 && parts.size() <= 5 && parts[2] == "comments") {
      return article(sub, parts[3]);
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

  json comment_stream(const Request& req, const Subreddit& s) const {
    return newest_first(req, s.comments(), "t1_",
                        [&](const Comment& c) { return comment_json(s, c, true); });
  }

  // GET /r/{sub}/comments/{article}: [Listing of the t3, Listing of the t1 tree with replies].
  Response article(const Subreddit& s, const std::string& article_id) const {
    const auto id = parse_id(article_id, "t3_");
    const auto& posts = s.posts();
    const auto it = std::find_if(posts.begin(), posts.end(),
                                 [&](const Post& p) { return id && p.id == *id; });
    if (it == posts.end()) {
      return error(404, "Not Found");
    }
    const auto post_index = static_cast<std::size_t>(it - posts.begin());
    std::multimap<std::optional<std::size_t>, std::size_t> children_of;
    for (std::size_t i = 0; i < s.comments().size(); ++i) {
      if (s.comments()[i].post == post_index) {
        children_of.emplace(s.comments()[i].parent, i);
      }
    }
    const auto tree = [&](const auto& self, std::optional<std::size_t> parent, int depth) -> json {
      json out = json::array();
      const auto [lo, hi] = children_of.equal_range(parent);
      for (auto c = lo; c != hi; ++c) {
        json item = comment_json(s, s.comments()[c->second], false);
        item["data"]["depth"] = depth;
        json replies = self(self, c->second, depth + 1);
        if (!replies.empty()) {
          item["data"]["replies"] = listing(std::move(replies), std::nullopt, std::nullopt);
        }
        out.push_back(std::move(item));
      }
      return out;
    };
    json body = json::array();
    body.push_back(listing(json::array({post_json(s, *it)}), std::nullopt, std::nullopt));
    body.push_back(listing(tree(tree, std::nullopt, 0), std::nullopt, std::nullopt));
    return Response::json(200, body);
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
      json entry = {{"posts", s.posts().size()}, {"comments", s.comments().size()}};
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
