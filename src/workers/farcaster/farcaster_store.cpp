// FarcasterStore: unnest-based bulk upserts for casts, profiles, reactions, follows and wallets.
#include "workers/farcaster/farcaster_store.h"

namespace socialai::farcaster {
namespace {

// DISTINCT ON: a batch naming a row twice must not make ON CONFLICT touch it twice.
constexpr const char* kUpsertCasts = R"sql(
WITH up AS (
  INSERT INTO external_posts AS p (source, external_id, author_external_id, community, content,
                                   parent_external_id, created_at, raw)
  SELECT DISTINCT ON (h) 'farcaster', h, a, c, t, par, to_timestamp(ts), r::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
              $7::text[]) AS u(h, a, c, t, par, ts, r)
  ORDER BY h
  ON CONFLICT (source, external_id) DO UPDATE SET
    author_external_id = EXCLUDED.author_external_id, community = EXCLUDED.community,
    content = EXCLUDED.content, parent_external_id = EXCLUDED.parent_external_id,
    created_at = EXCLUDED.created_at, raw = EXCLUDED.raw, updated_at = now()
  WHERE (p.author_external_id, p.community, p.content, p.parent_external_id, p.created_at, p.raw)
        IS DISTINCT FROM (EXCLUDED.author_external_id, EXCLUDED.community, EXCLUDED.content,
                          EXCLUDED.parent_external_id, EXCLUDED.created_at, EXCLUDED.raw)
  RETURNING 1
) SELECT count(*) FROM up)sql";

constexpr const char* kDeleteCasts = R"sql(
DELETE FROM external_posts WHERE source = 'farcaster' AND external_id = ANY ($1::text[]))sql";

constexpr const char* kUpsertProfile = R"sql(
INSERT INTO profiles AS p (source, external_id, username, display_name, bio, avatar_url, raw)
VALUES ('farcaster', $1, $2, $3, $4, $5, $6::jsonb)
ON CONFLICT (source, external_id) DO UPDATE SET
  username = EXCLUDED.username, display_name = EXCLUDED.display_name, bio = EXCLUDED.bio,
  avatar_url = EXCLUDED.avatar_url, raw = EXCLUDED.raw, updated_at = now()
WHERE (p.username, p.display_name, p.bio, p.avatar_url, p.raw)
      IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.display_name, EXCLUDED.bio,
                        EXCLUDED.avatar_url, EXCLUDED.raw))sql";

// A reaction targets a cast (post) or a URL (url), the other being NULL; each kind of target has
// its own unique index (sql/015_reaction_urls.sql), hence two INSERTs.
constexpr const char* kUpsertReactions = R"sql(
WITH incoming AS (
  SELECT DISTINCT ON (actor, post, url, kind) actor, post, url, kind, ts
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
       AS u(actor, post, url, kind, ts)
  ORDER BY actor, post, url, kind
), to_urls AS (
  INSERT INTO reactions AS r (source, target_url, actor_external_id, kind, created_at)
  SELECT 'farcaster', url, actor, kind, to_timestamp(ts) FROM incoming WHERE url IS NOT NULL
  ON CONFLICT (source, target_url, actor_external_id, kind) DO UPDATE SET
    created_at = EXCLUDED.created_at
  WHERE r.created_at IS DISTINCT FROM EXCLUDED.created_at
)
INSERT INTO reactions AS r (source, post_external_id, actor_external_id, kind, created_at)
SELECT 'farcaster', post, actor, kind, to_timestamp(ts) FROM incoming WHERE post IS NOT NULL
ON CONFLICT (source, post_external_id, actor_external_id, kind) DO UPDATE SET
  created_at = EXCLUDED.created_at
WHERE r.created_at IS DISTINCT FROM EXCLUDED.created_at)sql";

// One DELETE per kind of target, so each uses its unique index.
constexpr const char* kDeleteReactions = R"sql(
WITH d AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS d(actor, post, url, kind)
), by_post AS (
  DELETE FROM reactions r USING d
  WHERE d.post IS NOT NULL AND r.source = 'farcaster' AND r.post_external_id = d.post
    AND r.actor_external_id = d.actor AND r.kind = d.kind
), by_url AS (
  DELETE FROM reactions r USING d
  WHERE d.url IS NOT NULL AND r.source = 'farcaster' AND r.target_url = d.url
    AND r.actor_external_id = d.actor AND r.kind = d.kind
) SELECT 1)sql";

constexpr const char* kDeleteOtherReactions = R"sql(
DELETE FROM reactions r
WHERE r.source = 'farcaster' AND r.actor_external_id = $1
  AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[]) AS i(post, url, kind)
                  WHERE i.post IS NOT DISTINCT FROM r.post_external_id
                    AND i.url IS NOT DISTINCT FROM r.target_url AND i.kind = r.kind))sql";

constexpr const char* kUpsertFollows = R"sql(
INSERT INTO follows AS f (source, follower_external_id, followee_external_id, created_at)
SELECT DISTINCT ON (follower, target) 'farcaster', follower, target, to_timestamp(ts)
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(follower, target, ts)
ORDER BY follower, target
ON CONFLICT (source, follower_external_id, followee_external_id) DO UPDATE SET
  created_at = EXCLUDED.created_at
WHERE f.created_at IS DISTINCT FROM EXCLUDED.created_at)sql";

constexpr const char* kDeleteFollows = R"sql(
DELETE FROM follows f USING unnest($1::text[], $2::text[]) AS d(follower, target)
WHERE f.source = 'farcaster' AND f.follower_external_id = d.follower
  AND f.followee_external_id = d.target)sql";

constexpr const char* kDeleteOtherFollows = R"sql(
DELETE FROM follows f
WHERE f.source = 'farcaster' AND f.follower_external_id = $1
  AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) AS i(target)
                  WHERE i.target = f.followee_external_id))sql";

constexpr const char* kUpsertWallets = R"sql(
INSERT INTO wallets AS w (chain, address, profile_source, profile_external_id)
SELECT DISTINCT ON (chain, address) chain, address, 'farcaster', fid
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(chain, address, fid)
ORDER BY chain, address
ON CONFLICT (chain, address) DO UPDATE SET
  profile_source = EXCLUDED.profile_source, profile_external_id = EXCLUDED.profile_external_id,
  updated_at = now()
WHERE (w.profile_source, w.profile_external_id)
      IS DISTINCT FROM (EXCLUDED.profile_source, EXCLUDED.profile_external_id))sql";

// Wallets no longer verified are unlinked from the profile, not deleted: chain workers may hold
// their balances.
constexpr const char* kUnlinkWallets = R"sql(
UPDATE wallets w SET profile_source = NULL, profile_external_id = NULL, updated_at = now()
FROM unnest($1::text[], $2::text[], $3::text[]) AS d(chain, address, fid)
WHERE w.chain = d.chain AND w.address = d.address AND w.profile_source = 'farcaster'
  AND w.profile_external_id = d.fid)sql";

// Only the chains verifications name: a row of another EVM chain (base) copied its link from
// the address's ethereum row when its worker created it, and is not this worker's to unlink.
constexpr const char* kUnlinkOtherWallets = R"sql(
UPDATE wallets w SET profile_source = NULL, profile_external_id = NULL, updated_at = now()
WHERE w.profile_source = 'farcaster' AND w.profile_external_id = $1
  AND w.chain IN ('ethereum', 'solana')
  AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS i(chain, address)
                  WHERE i.chain = w.chain AND i.address = w.address))sql";

// User data from events: each new value replaces that type's column and key in raw; the other
// types stay as they were.
constexpr const char* kMergeUserData = R"sql(
INSERT INTO profiles AS p (source, external_id, username, display_name, bio, avatar_url, raw)
SELECT 'farcaster', fid,
       max(v) FILTER (WHERE t = 'USER_DATA_TYPE_USERNAME'),
       max(v) FILTER (WHERE t = 'USER_DATA_TYPE_DISPLAY'),
       max(v) FILTER (WHERE t = 'USER_DATA_TYPE_BIO'),
       max(v) FILTER (WHERE t = 'USER_DATA_TYPE_PFP'), jsonb_object_agg(t, v)
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(fid, t, v)
GROUP BY fid
ON CONFLICT (source, external_id) DO UPDATE SET
  username = COALESCE(EXCLUDED.username, p.username),
  display_name = COALESCE(EXCLUDED.display_name, p.display_name),
  bio = COALESCE(EXCLUDED.bio, p.bio), avatar_url = COALESCE(EXCLUDED.avatar_url, p.avatar_url),
  raw = COALESCE(p.raw, '{}'::jsonb) || EXCLUDED.raw, updated_at = now()
WHERE (p.username, p.display_name, p.bio, p.avatar_url, p.raw)
      IS DISTINCT FROM (COALESCE(EXCLUDED.username, p.username),
                        COALESCE(EXCLUDED.display_name, p.display_name),
                        COALESCE(EXCLUDED.bio, p.bio), COALESCE(EXCLUDED.avatar_url, p.avatar_url),
                        COALESCE(p.raw, '{}'::jsonb) || EXCLUDED.raw))sql";

constexpr const char* kSetCursor = R"sql(
INSERT INTO sync_state AS s (worker, key, cursor) VALUES ($1, $2, $3)
ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()
WHERE s.cursor IS DISTINCT FROM EXCLUDED.cursor)sql";

}  // namespace

void PgArray::sep() {
  if (!first_) {
    s_ += ',';
  }
  first_ = false;
}

void PgArray::add(std::optional<std::string_view> v) {
  sep();
  if (!v) {
    s_ += "NULL";
    return;
  }
  s_ += '"';
  for (char c : *v) {
    if (c == '"' || c == '\\') {
      s_ += '\\';
    }
    s_ += c;
  }
  s_ += '"';
}

void PgArray::add(std::int64_t v) {
  sep();
  s_ += std::to_string(v);
}

std::int64_t FarcasterStore::upsert_casts(pqxx::work& tx, const std::vector<CastRow>& casts) {
  if (casts.empty()) {
    return 0;
  }
  PgArray h, a, c, t, par, ts, r;
  for (const CastRow& x : casts) {
    h.add(x.hash);
    a.add(std::to_string(x.fid));
    c.add(x.parent_url);
    t.add(x.text);
    par.add(x.parent_hash);
    ts.add(x.unix_ts);
    r.add(x.raw);
  }
  return db_
      .exec(tx, kUpsertCasts, h.str(), a.str(), c.str(), t.str(), par.str(), ts.str(),
            r.str())[0][0]
      .as<std::int64_t>();
}

std::int64_t FarcasterStore::delete_casts(pqxx::work& tx, const std::vector<std::string>& hashes) {
  if (hashes.empty()) {
    return 0;
  }
  PgArray h;
  for (const auto& x : hashes) {
    h.add(x);
  }
  return db_.exec(tx, kDeleteCasts, h.str()).affected_rows();
}

void FarcasterStore::upsert_profile(pqxx::work& tx, std::uint64_t fid, const ProfileData& p) {
  db_.exec(tx, kUpsertProfile, std::to_string(fid), p.username, p.display_name, p.bio, p.avatar_url,
           p.raw);
}

namespace {

std::optional<std::string_view> or_null(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string_view>(v);
}

}  // namespace

void FarcasterStore::upsert_reactions(pqxx::work& tx, const std::vector<ReactionRow>& rows) {
  if (rows.empty()) {
    return;
  }
  PgArray actor, post, url, kind, ts;
  for (const auto& x : rows) {
    actor.add(std::to_string(x.fid));
    post.add(or_null(x.target_hash));
    url.add(or_null(x.target_url));
    kind.add(x.kind);
    ts.add(x.unix_ts);
  }
  db_.exec(tx, kUpsertReactions, actor.str(), post.str(), url.str(), kind.str(), ts.str());
}

void FarcasterStore::delete_reactions(pqxx::work& tx, const std::vector<ReactionRow>& rows) {
  if (rows.empty()) {
    return;
  }
  PgArray actor, post, url, kind;
  for (const auto& x : rows) {
    actor.add(std::to_string(x.fid));
    post.add(or_null(x.target_hash));
    url.add(or_null(x.target_url));
    kind.add(x.kind);
  }
  db_.exec(tx, kDeleteReactions, actor.str(), post.str(), url.str(), kind.str());
}

void FarcasterStore::replace_reactions(pqxx::work& tx, std::uint64_t fid,
                                       std::vector<ReactionRow> rows) {
  PgArray post, url, kind;
  for (auto& x : rows) {
    x.fid = fid;
    post.add(or_null(x.target_hash));
    url.add(or_null(x.target_url));
    kind.add(x.kind);
  }
  db_.exec(tx, kDeleteOtherReactions, std::to_string(fid), post.str(), url.str(), kind.str());
  upsert_reactions(tx, rows);
}

void FarcasterStore::upsert_follows(pqxx::work& tx, const std::vector<LinkRow>& rows) {
  if (rows.empty()) {
    return;
  }
  PgArray follower, target, ts;
  for (const auto& x : rows) {
    follower.add(std::to_string(x.fid));
    target.add(std::to_string(x.target_fid));
    ts.add(x.unix_ts);
  }
  db_.exec(tx, kUpsertFollows, follower.str(), target.str(), ts.str());
}

void FarcasterStore::delete_follows(pqxx::work& tx, const std::vector<LinkRow>& rows) {
  if (rows.empty()) {
    return;
  }
  PgArray follower, target;
  for (const auto& x : rows) {
    follower.add(std::to_string(x.fid));
    target.add(std::to_string(x.target_fid));
  }
  db_.exec(tx, kDeleteFollows, follower.str(), target.str());
}

void FarcasterStore::replace_follows(pqxx::work& tx, std::uint64_t fid, std::vector<LinkRow> rows) {
  PgArray target;
  for (auto& x : rows) {
    x.fid = fid;
    target.add(std::to_string(x.target_fid));
  }
  db_.exec(tx, kDeleteOtherFollows, std::to_string(fid), target.str());
  upsert_follows(tx, rows);
}

void FarcasterStore::upsert_wallets(pqxx::work& tx, const std::vector<WalletRow>& rows, bool link) {
  if (rows.empty()) {
    return;
  }
  PgArray chain, address, fid;
  for (const auto& x : rows) {
    chain.add(x.chain);
    address.add(x.address);
    fid.add(std::to_string(x.fid));
  }
  db_.exec(tx, link ? kUpsertWallets : kUnlinkWallets, chain.str(), address.str(), fid.str());
}

void FarcasterStore::replace_wallets(pqxx::work& tx, std::uint64_t fid,
                                     std::vector<WalletRow> rows) {
  PgArray chain, address;
  for (auto& x : rows) {
    x.fid = fid;
    chain.add(x.chain);
    address.add(x.address);
  }
  db_.exec(tx, kUnlinkOtherWallets, std::to_string(fid), chain.str(), address.str());
  upsert_wallets(tx, rows, true);
}

void FarcasterStore::merge_user_data(pqxx::work& tx, const std::vector<UserDataRow>& rows) {
  if (rows.empty()) {
    return;
  }
  PgArray fid, type, value;
  for (const auto& x : rows) {
    fid.add(std::to_string(x.fid));
    type.add(x.type);
    value.add(x.value);
  }
  db_.exec(tx, kMergeUserData, fid.str(), type.str(), value.str());
}

std::optional<std::string> FarcasterStore::cursor(pqxx::work& tx, const std::string& worker,
                                                  const std::string& key) {
  const auto r =
      db_.exec(tx, "SELECT cursor FROM sync_state WHERE worker = $1 AND key = $2", worker, key);
  if (r.empty() || r[0][0].is_null()) {
    return std::nullopt;
  }
  return r[0][0].as<std::string>();
}

void FarcasterStore::set_cursor(pqxx::work& tx, const std::string& worker, const std::string& key,
                                const std::string& cursor) {
  db_.exec(tx, kSetCursor, worker, key, cursor);
}

std::vector<std::string> FarcasterStore::cursor_keys(pqxx::work& tx, const std::string& worker,
                                                     const std::string& prefix) {
  std::vector<std::string> out;
  const auto r = db_.exec(tx, "SELECT key FROM sync_state WHERE worker = $1 AND left(key, $3) = $2",
                          worker, prefix, static_cast<int>(prefix.size()));
  for (const auto& row : r) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

std::vector<std::uint64_t> FarcasterStore::known_fids(pqxx::work& tx, std::int64_t limit) {
  std::vector<std::uint64_t> out;
  const auto r = db_.exec(tx,
                          "SELECT external_id::bigint FROM profiles "
                          "WHERE source = 'farcaster' AND external_id ~ '^[0-9]{1,18}$' "
                          "ORDER BY 1 LIMIT $1",
                          limit);
  for (const auto& row : r) {
    out.push_back(row[0].as<std::uint64_t>());
  }
  return out;
}

}  // namespace socialai::farcaster
