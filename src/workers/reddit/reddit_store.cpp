// Set-based writes of the reddit worker: one jsonb parameter per statement expanded with
// jsonb_to_recordset, so a page of 100 items costs three statements (see reddit_store.h).
#include "workers/reddit/reddit_store.h"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

namespace socialai::reddit {
namespace {

using json = nlohmann::json;

// The WHERE clause keeps an unchanged row as it is: a re-fetched page writes nothing.
constexpr const char* kUpsertPostsSql = R"sql(
INSERT INTO external_posts AS e (source, external_id, author_external_id, community, title,
  content, url, parent_external_id, thread_external_id, created_at, score, reply_count, raw)
SELECT 'reddit', r.external_id, r.author_external_id, r.community, r.title, r.content, r.url,
  r.parent_external_id, r.thread_external_id, to_timestamp(r.created_utc), r.score,
  r.reply_count, r.raw
FROM jsonb_to_recordset($1::jsonb) AS r(external_id text, author_external_id text,
  community text, title text, content text, url text, parent_external_id text,
  thread_external_id text, created_utc double precision, score integer, reply_count integer,
  raw jsonb)
ON CONFLICT (source, external_id) DO UPDATE SET
  author_external_id = EXCLUDED.author_external_id, community = EXCLUDED.community,
  title = EXCLUDED.title, content = EXCLUDED.content, url = EXCLUDED.url,
  parent_external_id = EXCLUDED.parent_external_id,
  thread_external_id = EXCLUDED.thread_external_id, created_at = EXCLUDED.created_at,
  score = EXCLUDED.score, reply_count = EXCLUDED.reply_count, raw = EXCLUDED.raw,
  updated_at = now()
WHERE (e.author_external_id, e.community, e.title, e.content, e.url, e.parent_external_id,
       e.thread_external_id, e.created_at, e.score, e.reply_count, e.raw)
  IS DISTINCT FROM
      (EXCLUDED.author_external_id, EXCLUDED.community, EXCLUDED.title, EXCLUDED.content,
       EXCLUDED.url, EXCLUDED.parent_external_id, EXCLUDED.thread_external_id,
       EXCLUDED.created_at, EXCLUDED.score, EXCLUDED.reply_count, EXCLUDED.raw))sql";

constexpr const char* kUpsertProfilesSql = R"sql(
INSERT INTO profiles AS p (source, external_id, username, raw)
SELECT 'reddit', r.external_id, r.username, r.raw
FROM jsonb_to_recordset($1::jsonb) AS r(external_id text, username text, raw jsonb)
ON CONFLICT (source, external_id) DO UPDATE SET
  username = EXCLUDED.username, raw = EXCLUDED.raw, updated_at = now()
WHERE (p.username, p.raw) IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.raw))sql";

constexpr const char* kSaveCursorSql = R"sql(
INSERT INTO sync_state (worker, key, cursor, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()
WHERE sync_state.cursor IS DISTINCT FROM EXCLUDED.cursor)sql";

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

json opt(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

std::string StreamCursor::to_json() const {
  json j = json::object();
  if (newest) {
    j["newest"] = *newest;
  }
  if (pass_newest) {
    j["pass_newest"] = *pass_newest;
  }
  if (after) {
    j["after"] = *after;
  }
  return j.dump();
}

StreamCursor StreamCursor::from_json(const std::optional<std::string>& text) {
  StreamCursor c;
  if (!text || text->empty()) {
    return c;
  }
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    spdlog::warn("reddit: unreadable cursor \"{}\"; starting a full pass", text->substr(0, 80));
    return c;
  }
  const auto field = [&](const char* k) -> std::optional<std::string> {
    const auto it = j.find(k);
    return it != j.end() && it->is_string() ? std::optional(it->get<std::string>())
                                            : std::nullopt;
  };
  c.newest = field("newest");
  c.pass_newest = field("pass_newest");
  c.after = field("after");
  return c;
}

std::string stream_key(const std::string& subreddit, const std::string& stream) {
  return "r/" + subreddit + "/" + stream;
}

StreamCursor load_cursor(Db& db, const std::string& worker, const std::string& key) {
  return db.with_transaction([&](pqxx::work& tx) {
    const auto r =
        db.exec(tx, "SELECT cursor FROM sync_state WHERE worker = $1 AND key = $2", worker, key);
    if (r.empty() || r[0][0].is_null()) {
      return StreamCursor{};
    }
    return StreamCursor::from_json(r[0][0].as<std::string>());
  });
}

std::size_t commit_page(Db& db, const std::string& worker, const std::string& key,
                        const std::vector<Item>& items, const StreamCursor& cursor) {
  // Sorted and de-duplicated: one row per key per statement (ON CONFLICT needs it), and
  // concurrent writers lock rows in the same order.
  std::map<std::string, const Item*> posts;
  std::map<std::string, std::string> authors;
  for (const Item& it : items) {
    posts[it.fullname] = &it;
    if (!it.author_fullname.empty()) {
      authors[it.author_fullname] = it.author;
    }
  }
  json post_rows = json::array();
  for (const auto& [fullname, it] : posts) {
    post_rows.push_back({{"external_id", fullname},
                         {"author_external_id",
                          it->author_fullname.empty() ? json(nullptr) : json(it->author_fullname)},
                         {"community", it->subreddit},
                         {"title", opt(it->title)},
                         {"content", it->content},
                         {"url", it->url.empty() ? json(nullptr) : json(it->url)},
                         {"parent_external_id", opt(it->parent_fullname)},
                         {"thread_external_id", opt(it->link_fullname)},
                         {"created_utc", it->created_utc},
                         {"score", opt(it->score)},
                         {"reply_count", opt(it->reply_count)},
                         {"raw", it->raw}});
  }
  json profile_rows = json::array();
  for (const auto& [fullname, name] : authors) {
    profile_rows.push_back(
        {{"external_id", fullname},
         {"username", name},
         {"raw", {{"name", name}, {"author_fullname", fullname}}}});
  }
  return db.with_transaction([&](pqxx::work& tx) {
    std::size_t changed = 0;
    if (!post_rows.empty()) {
      changed = db.exec(tx, kUpsertPostsSql, post_rows.dump()).affected_rows();
    }
    if (!profile_rows.empty()) {
      db.exec(tx, kUpsertProfilesSql, profile_rows.dump());
    }
    db.exec(tx, kSaveCursorSql, worker, key, cursor.to_json());
    return changed;
  });
}

}  // namespace socialai::reddit
