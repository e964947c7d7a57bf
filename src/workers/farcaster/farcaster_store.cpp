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

// The DELETE and the INSERTs see the same snapshot and touch disjoint keys. A reaction targets
// a cast (post) or a URL (url), the other being NULL; each kind of target has its own unique
// index (sql/015_reaction_urls.sql), hence two INSERTs.
constexpr const char* kReplaceReactions = R"sql(
WITH incoming AS (
  SELECT DISTINCT ON (post, url, kind) post, url, kind, ts
  FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(post, url, kind, ts)
  ORDER BY post, url, kind
), gone AS (
  DELETE FROM reactions r
  WHERE r.source = 'farcaster' AND r.actor_external_id = $1
    AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.post IS NOT DISTINCT FROM r.post_external_id
                    AND i.url IS NOT DISTINCT FROM r.target_url AND i.kind = r.kind)
), to_urls AS (
  INSERT INTO reactions AS r (source, target_url, actor_external_id, kind, created_at)
  SELECT 'farcaster', url, $1, kind, to_timestamp(ts) FROM incoming WHERE url IS NOT NULL
  ON CONFLICT (source, target_url, actor_external_id, kind) DO UPDATE SET
    created_at = EXCLUDED.created_at
  WHERE r.created_at IS DISTINCT FROM EXCLUDED.created_at
)
INSERT INTO reactions AS r (source, post_external_id, actor_external_id, kind, created_at)
SELECT 'farcaster', post, $1, kind, to_timestamp(ts) FROM incoming WHERE post IS NOT NULL
ON CONFLICT (source, post_external_id, actor_external_id, kind) DO UPDATE SET
  created_at = EXCLUDED.created_at
WHERE r.created_at IS DISTINCT FROM EXCLUDED.created_at)sql";

constexpr const char* kReplaceFollows = R"sql(
WITH incoming AS (
  SELECT DISTINCT ON (target) target, ts
  FROM unnest($2::text[], $3::bigint[]) AS u(target, ts)
  ORDER BY target
), gone AS (
  DELETE FROM follows f
  WHERE f.source = 'farcaster' AND f.follower_external_id = $1
    AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.target = f.followee_external_id)
)
INSERT INTO follows AS f (source, follower_external_id, followee_external_id, created_at)
SELECT 'farcaster', $1, target, to_timestamp(ts) FROM incoming
ON CONFLICT (source, follower_external_id, followee_external_id) DO UPDATE SET
  created_at = EXCLUDED.created_at
WHERE f.created_at IS DISTINCT FROM EXCLUDED.created_at)sql";

constexpr const char* kReplaceWallets = R"sql(
WITH incoming AS (
  SELECT DISTINCT chain, address FROM unnest($2::text[], $3::text[]) AS u(chain, address)
), unlinked AS (
  UPDATE wallets w SET profile_source = NULL, profile_external_id = NULL, updated_at = now()
  WHERE w.profile_source = 'farcaster' AND w.profile_external_id = $1
    AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.chain = w.chain AND i.address = w.address)
)
INSERT INTO wallets AS w (chain, address, profile_source, profile_external_id)
SELECT chain, address, 'farcaster', $1 FROM incoming
ON CONFLICT (chain, address) DO UPDATE SET
  profile_source = EXCLUDED.profile_source, profile_external_id = EXCLUDED.profile_external_id,
  updated_at = now()
WHERE (w.profile_source, w.profile_external_id)
      IS DISTINCT FROM (EXCLUDED.profile_source, EXCLUDED.profile_external_id))sql";

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
  return db_.exec(tx, kUpsertCasts, h.str(), a.str(), c.str(), t.str(), par.str(), ts.str(),
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
  db_.exec(tx, kUpsertProfile, std::to_string(fid), p.username, p.display_name, p.bio,
           p.avatar_url, p.raw);
}

void FarcasterStore::replace_reactions(pqxx::work& tx, std::uint64_t fid,
                                       const std::vector<ReactionRow>& rows) {
  PgArray post, url, kind, ts;
  for (const auto& x : rows) {
    const auto or_null = [](const std::string& v) {
      return v.empty() ? std::nullopt : std::optional<std::string_view>(v);
    };
    post.add(or_null(x.target_hash));
    url.add(or_null(x.target_url));
    kind.add(x.kind);
    ts.add(x.unix_ts);
  }
  db_.exec(tx, kReplaceReactions, std::to_string(fid), post.str(), url.str(), kind.str(),
           ts.str());
}

void FarcasterStore::replace_follows(pqxx::work& tx, std::uint64_t fid,
                                     const std::vector<LinkRow>& rows) {
  PgArray target, ts;
  for (const auto& x : rows) {
    target.add(std::to_string(x.target_fid));
    ts.add(x.unix_ts);
  }
  db_.exec(tx, kReplaceFollows, std::to_string(fid), target.str(), ts.str());
}

void FarcasterStore::replace_wallets(pqxx::work& tx, std::uint64_t fid,
                                     const std::vector<WalletRow>& rows) {
  PgArray chain, address;
  for (const auto& x : rows) {
    chain.add(x.chain);
    address.add(x.address);
  }
  db_.exec(tx, kReplaceWallets, std::to_string(fid), chain.str(), address.str());
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
