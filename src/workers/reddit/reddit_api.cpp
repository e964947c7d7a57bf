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

}  // namespace

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
