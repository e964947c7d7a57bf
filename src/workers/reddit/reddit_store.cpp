// Set-based writes of the reddit worker: one jsonb parameter per statement expanded with
// jsonb_to_recordset, so a page of 100 items costs three statements (see reddit_store.h).
#include "workers/reddit/reddit_store.h"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

namespace socialai::reddit {
namespace {

using json = nlohmann::json;

const std::string kInsertPostsSql = R"sql(
INSERT INTO external_posts AS e (source, external_id, author_external_id, community, title,
  content, url, parent_external_id, thread_external_id, created_at, score, reply_count, raw)
SELECT 'reddit', r.external_id, r.author_external_id, r.community, r.title, r.content, r.url,
  r.parent_external_id, r.thread_external_id, to_timestamp(r.created_utc), r.score,
  r.reply_count, r.raw
FROM jsonb_to_recordset($1::jsonb) AS r(external_id text, author_external_id text,
  community text, title text, content text, url text, parent_external_id text,
  thread_external_id text, created_utc double precision, score integer, reply_count integer,
  raw jsonb))sql";

// Tree comments: a stored row (the comment stream's copy carries fields a tree's lacks, such
// as link_title) is kept, so the two sources never rewrite a row back and forth.
const std::string kInsertNewPostsSql =
    kInsertPostsSql + " ON CONFLICT (source, external_id) DO NOTHING";

// The WHERE clause keeps an unchanged row as it is: a re-fetched page writes nothing.
const std::string kUpsertPostsSql = kInsertPostsSql + R"sql(
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

constexpr const char* kYoungPostsSql = R"sql(
SELECT external_id FROM external_posts
WHERE source = 'reddit' AND lower(community) = $1 AND external_id LIKE 't3\_%'
  AND created_at > now() - make_interval(hours => $2::int)
ORDER BY created_at DESC, external_id DESC LIMIT $3)sql";

constexpr const char* kTreeCandidatesSql = R"sql(
SELECT p.external_id, s.cursor FROM external_posts p
LEFT JOIN sync_state s ON s.worker = $1 AND s.key = 'r/' || $2 || '/tree/' || p.external_id
WHERE p.source = 'reddit' AND lower(p.community) = $2 AND p.external_id LIKE 't3\_%'
  AND ((s.cursor IS NOT NULL AND (s.cursor::jsonb ? 'load' OR s.cursor::jsonb ? 'deeper'))
    OR (p.reply_count > 0
        AND (s.key IS NULL OR
             (p.created_at > now() - make_interval(hours => $3::int) AND
              (s.cursor::jsonb ->> 'num_comments') IS DISTINCT FROM p.reply_count::text))
        AND p.reply_count > (SELECT count(*) FROM external_posts c
                             WHERE c.source = 'reddit' AND c.thread_external_id = p.external_id)))
ORDER BY p.created_at DESC, p.external_id DESC LIMIT $4)sql";

// Rows for jsonb_to_recordset, one per fullname (ON CONFLICT needs that), sorted so that
// concurrent writers lock rows in the same order; authors go to `authors`.
json post_rows_of(const std::vector<Item>& items, std::map<std::string, std::string>& authors) {
  std::map<std::string, const Item*> posts;
  for (const Item& it : items) {
    posts[it.fullname] = &it;
    if (!it.author_fullname.empty()) {
      authors[it.author_fullname] = it.author;
    }
  }
  json rows = json::array();
  for (const auto& [fullname, it] : posts) {
    rows.push_back({{"external_id", fullname},
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
  return rows;
}

std::vector<std::string> column(const pqxx::result& r) {
  std::vector<std::string> out;
  for (const auto& row : r) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

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
  Batch b;
  b.upsert = items;
  b.state.emplace_back(key, cursor.to_json());
  return commit(db, worker, b);
}

std::size_t commit(Db& db, const std::string& worker, const Batch& batch) {
  std::map<std::string, std::string> authors;
  const json upsert_rows = post_rows_of(batch.upsert, authors);
  const json insert_rows = post_rows_of(batch.insert_only, authors);
  json profile_rows = json::array();
  for (const auto& [fullname, name] : authors) {
    profile_rows.push_back(
        {{"external_id", fullname},
         {"username", name},
         {"raw", {{"name", name}, {"author_fullname", fullname}}}});
  }
  return db.with_transaction([&](pqxx::work& tx) {
    std::size_t changed = 0;
    if (!upsert_rows.empty()) {
      changed += db.exec(tx, kUpsertPostsSql, upsert_rows.dump()).affected_rows();
    }
    if (!insert_rows.empty()) {
      changed += db.exec(tx, kInsertNewPostsSql, insert_rows.dump()).affected_rows();
    }
    if (!profile_rows.empty()) {
      db.exec(tx, kUpsertProfilesSql, profile_rows.dump());
    }
    for (const auto& [key, cursor] : batch.state) {
      db.exec(tx, kSaveCursorSql, worker, key, cursor);
    }
    return changed;
  });
}

std::string tree_key(const std::string& subreddit, const std::string& post_fullname) {
  return "r/" + subreddit + "/tree/" + post_fullname;
}

std::vector<std::string> young_posts(Db& db, const std::string& subreddit, int max_age_hours,
                                     int limit) {
  return db.with_transaction([&](pqxx::work& tx) {
    return column(db.exec(tx, kYoungPostsSql, subreddit, max_age_hours, limit));
  });
}

std::vector<std::pair<std::string, std::optional<std::string>>> tree_candidates(
    Db& db, const std::string& worker, const std::string& subreddit, int max_age_hours,
    int limit) {
  return db.with_transaction([&](pqxx::work& tx) {
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    for (const auto& row : db.exec(tx, kTreeCandidatesSql, worker, subreddit, max_age_hours, limit)) {
      out.emplace_back(row[0].as<std::string>(), row[1].is_null()
                                                     ? std::nullopt
                                                     : std::optional(row[1].as<std::string>()));
    }
    return out;
  });
}

}  // namespace socialai::reddit
