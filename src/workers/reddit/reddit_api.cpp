// Parsing of Reddit's OAuth and Listing bodies into the worker's structs (see reddit_api.h).
#include "workers/reddit/reddit_api.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace socialai::reddit {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxIdChars = 12;  // 36^12 fits in 64 bits
constexpr std::size_t kMaxSubName = 21;  // Reddit's own limit
constexpr const char* kDeletedAuthor = "[deleted]";

// PostgreSQL text and jsonb cannot hold NUL: drop it wherever it appears.
void strip_nul(json& j) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  } else if (j.is_structured()) {
    for (auto& v : j) {
      strip_nul(v);
    }
  }
}

json parse_body(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    throw MalformedResponse(std::string(what) + " is not valid JSON (" +
                            std::to_string(body.size()) + " bytes)");
  }
  return j;
}

std::string str(const json& d, const char* key) {
  const auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<std::string> opt_str(const json& d, const char* key) {
  const auto it = d.find(key);
  if (it != d.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
    return it->get<std::string>();
  }
  return std::nullopt;
}

std::optional<std::int64_t> opt_int(const json& d, const char* key) {
  const auto it = d.find(key);
  if (it != d.end() && it->is_number()) {
    return it->is_number_float() ? static_cast<std::int64_t>(it->get<double>())
                                 : it->get<std::int64_t>();
  }
  return std::nullopt;
}

// One child's "data" object → Item; throws std::runtime_error naming the missing field.
Item parse_item(const std::string& kind, json data) {
  strip_nul(data);
  Item it;
  it.kind = kind;
  const std::string id = str(data, "id");
  const auto number = parse_base36(id);
  if (!number) {
    throw std::runtime_error("missing or invalid \"id\"");
  }
  it.number = *number;
  it.fullname = kind + "_" + id;
  if (const auto name = opt_str(data, "name"); name && *name != it.fullname) {
    throw std::runtime_error("\"name\" " + *name + " does not match id " + id);
  }
  const auto created = data.find("created_utc");
  if (created == data.end() || !created->is_number()) {
    throw std::runtime_error("missing \"created_utc\"");
  }
  it.created_utc = created->get<double>();
  it.author = str(data, "author");
  // "[deleted]" is no account: whatever t2_ id comes with it (some answers keep the former
  // author's), it must not become or overwrite a profile.
  it.author_fullname = it.author == kDeletedAuthor ? "" : str(data, "author_fullname");
  it.subreddit = str(data, "subreddit");
  it.score = opt_int(data, "score");
  const std::string permalink = str(data, "permalink");
  if (kind == "t3") {
    it.title = str(data, "title");
    it.content = str(data, "selftext");
    it.url = opt_str(data, "url").value_or(permalink.empty() ? "" : "https://www.reddit.com" +
                                                                        permalink);
    it.reply_count = opt_int(data, "num_comments");
  } else {
    it.content = str(data, "body");
    it.url = permalink.empty() ? "" : "https://www.reddit.com" + permalink;
    it.parent_fullname = opt_str(data, "parent_id");
    it.link_fullname = opt_str(data, "link_id");
    if (!it.parent_fullname || !it.link_fullname) {
      throw std::runtime_error("comment without \"parent_id\"/\"link_id\"");
    }
    // In the subreddit comment stream "replies" is "", in article trees a nested Listing that
    // does not belong in the row.
    data.erase("replies");
  }
  it.raw = std::move(data);
  return it;
}

bool is_listing(const json& j) {
  return j.is_object() && str(j, "kind") == "Listing" && j.contains("data") &&
         j["data"].is_object() && j["data"].contains("children") &&
         j["data"]["children"].is_array();
}

constexpr int kMaxTreeDepth = 200;  // far beyond Reddit's 10: a guard, not a limit

// Adds the t1 children (and, recursively, their "replies" Listings) and `more` stubs.
void collect(const json& children, Tree& out, int depth) {
  if (depth > kMaxTreeDepth) {
    throw MalformedResponse("comment tree nested deeper than " + std::to_string(kMaxTreeDepth));
  }
  std::size_t index = 0;
  for (const json& child : children) {
    const std::string ref = "#" + std::to_string(index++);
    if (!child.is_object() || !child.contains("data") || !child["data"].is_object()) {
      out.rejected.emplace_back(ref, "child is not {\"kind\",\"data\"}");
      continue;
    }
    const std::string kind = str(child, "kind");
    const json& data = child["data"];
    if (kind == "more") {
      MoreStub m;
      m.parent_fullname = str(data, "parent_id");
      m.count = opt_int(data, "count").value_or(0);
      const auto kids = data.find("children");
      bool ok = !m.parent_fullname.empty() && kids != data.end() && kids->is_array();
      for (const json& k : ok ? *kids : json::array()) {
        ok = ok && k.is_string() && parse_base36(k.get<std::string>()).has_value();
        if (ok) {
          m.children.push_back(k.get<std::string>());
        }
      }
      if (!ok) {
        out.rejected.emplace_back("more " + ref, "stub without parent_id or readable children");
        continue;
      }
      out.more.push_back(std::move(m));
      continue;
    }
    if (kind != "t1") {
      continue;
    }
    try {
      out.comments.push_back(parse_item("t1", data));
    } catch (const std::exception& e) {
      const std::string id = str(data, "id");
      out.rejected.emplace_back(id.empty() ? ref : "t1_" + id, e.what());
      continue;  // its replies cannot be placed without it
    }
    const auto replies = data.find("replies");
    if (replies != data.end() && is_listing(*replies)) {
      collect((*replies)["data"]["children"], out, depth + 1);
    } else if (replies != data.end() && !(replies->is_string() || replies->is_null())) {
      throw MalformedResponse("comment " + out.comments.back().fullname +
                              " has \"replies\" that are not a Listing");
    }
  }
}

}  // namespace

Tree parse_tree(std::string_view body) {
  const json j = parse_body(body, "comment tree");
  if (!j.is_array() || j.size() != 2 || !is_listing(j[0]) || !is_listing(j[1])) {
    throw MalformedResponse("comment tree is not [post Listing, comment Listing]");
  }
  Tree out;
  for (const json& child : j[0]["data"]["children"]) {
    if (child.is_object() && str(child, "kind") == "t3" && child.contains("data") &&
        child["data"].is_object()) {
      try {
        out.post = parse_item("t3", child["data"]);
      } catch (const std::exception& e) {
        throw MalformedResponse(std::string("comment tree's post is unreadable: ") + e.what());
      }
    }
  }
  if (!out.post) {
    throw MalformedResponse("comment tree's first Listing holds no post");
  }
  collect(j[1]["data"]["children"], out, 0);
  return out;
}

Tree parse_more_children(std::string_view body) {
  const json j = parse_body(body, "morechildren answer");
  const auto top = j.is_object() ? j.find("json") : j.end();
  if (!j.is_object() || top == j.end() || !top->is_object()) {
    throw MalformedResponse("morechildren answer has no \"json\" object");
  }
  if (const auto errors = top->find("errors");
      errors != top->end() && (!errors->is_array() || !errors->empty())) {
    throw MalformedResponse("morechildren answered errors " + errors->dump().substr(0, 200));
  }
  const auto data = top->find("data");
  if (data == top->end() || !data->is_object() || !data->contains("things") ||
      !(*data)["things"].is_array()) {
    throw MalformedResponse("morechildren answer has no json.data.things array");
  }
  Tree out;
  collect((*data)["things"], out, 0);
  return out;
}

Token parse_token(std::string_view body) {
  const json j = parse_body(body, "token response");
  if (!j.is_object()) {
    throw MalformedResponse("token response is not a JSON object");
  }
  if (const auto err = j.find("error"); err != j.end()) {
    throw MalformedResponse("token endpoint answered error " + err->dump());
  }
  const auto tok = j.find("access_token");
  if (tok == j.end() || !tok->is_string() || tok->get_ref<const std::string&>().empty()) {
    throw MalformedResponse("token response has no access_token");
  }
  Token t;
  t.access_token = tok->get<std::string>();
  const auto exp = j.find("expires_in");
  t.expires_in = std::chrono::seconds(
      exp != j.end() && exp->is_number() ? static_cast<std::int64_t>(exp->get<double>()) : 3600);
  return t;
}

Listing parse_listing(std::string_view body, const std::string& kind) {
  const json j = parse_body(body, "listing");
  if (!j.is_object() || str(j, "kind") != "Listing" || !j.contains("data") ||
      !j["data"].is_object()) {
    throw MalformedResponse("body is not a Listing");
  }
  const json& data = j["data"];
  const auto children = data.find("children");
  if (children == data.end() || !children->is_array()) {
    throw MalformedResponse("Listing without a children array");
  }
  Listing out;
  out.after = opt_str(data, "after");
  std::size_t index = 0;
  for (const json& child : *children) {
    const std::string ref = "#" + std::to_string(index++);
    if (!child.is_object() || !child.contains("data") || !child["data"].is_object()) {
      out.rejected.emplace_back(ref, "child is not {\"kind\",\"data\"}");
      continue;
    }
    if (str(child, "kind") != kind) {
      continue;  // "more" placeholders and the like
    }
    try {
      out.items.push_back(parse_item(kind, child["data"]));
    } catch (const std::exception& e) {
      const std::string id = str(child["data"], "id");
      out.rejected.emplace_back(id.empty() ? ref : kind + "_" + id, e.what());
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_base36(std::string_view id) {
  if (const auto us = id.find('_'); us != std::string_view::npos && us == 2) {
    id.remove_prefix(3);
  }
  if (id.empty() || id.size() > kMaxIdChars) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (const char c : id) {
    const int u = std::tolower(static_cast<unsigned char>(c));
    int digit = 0;
    if (u >= '0' && u <= '9') {
      digit = u - '0';
    } else if (u >= 'a' && u <= 'z') {
      digit = u - 'a' + 10;
    } else {
      return std::nullopt;
    }
    n = n * 36 + static_cast<std::uint64_t>(digit);
  }
  return n;
}

std::vector<std::string> parse_subreddits(const std::string& setting) {
  std::vector<std::string> raw;
  const std::string_view trimmed = [&] {
    std::string_view s = setting;
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
      s.remove_prefix(1);
    }
    return s;
  }();
  if (!trimmed.empty() && trimmed.front() == '[') {
    const json j = json::parse(trimmed, nullptr, false);
    if (!j.is_array()) {
      throw std::invalid_argument("subreddits: not a valid JSON array");
    }
    for (const auto& v : j) {
      if (!v.is_string()) {
        throw std::invalid_argument("subreddits: every entry must be a string, got " + v.dump());
      }
      raw.push_back(v.get<std::string>());
    }
  } else {
    std::size_t start = 0;
    while (start <= setting.size()) {
      const std::size_t comma = std::min(setting.find(',', start), setting.size());
      raw.push_back(setting.substr(start, comma - start));
      start = comma + 1;
    }
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string name : raw) {
    name.erase(std::remove_if(name.begin(), name.end(),
                              [](unsigned char c) { return std::isspace(c) != 0; }),
               name.end());
    if (name.rfind("/r/", 0) == 0) {
      name = name.substr(3);
    } else if (name.rfind("r/", 0) == 0) {
      name = name.substr(2);
    }
    if (name.empty()) {
      continue;
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool ok = name.size() >= 2 && name.size() <= kMaxSubName &&
                    std::all_of(name.begin(), name.end(), [](unsigned char c) {
                      return std::isalnum(c) != 0 || c == '_';
                    });
    if (!ok) {
      throw std::invalid_argument("subreddits: invalid subreddit name \"" + name + "\"");
    }
    if (seen.insert(name).second) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace socialai::reddit
