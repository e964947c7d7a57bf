-- Search: the indexing queue on external_posts, full-text and trigram indexes, tag extraction,
-- and the query functions search_posts / search_profiles (SPEC §7 "search", §10 figures).

-- The extension lives once per database. Tests create it in public before migrating, so that
-- every per-test schema sees it through search_path; here it is a no-op then.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Indexing queue. New rows get the default (true); changed text sets it again through the
-- trigger below. The search worker's own UPDATE never sets title/content/community, so the
-- trigger does not fire for it and indexed rows stay indexed.
ALTER TABLE external_posts ADD COLUMN IF NOT EXISTS search_pending boolean NOT NULL DEFAULT true;

CREATE OR REPLACE FUNCTION socialai_mark_search_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_pending := true;
  RETURN NEW;
END $$;

-- INSERT: always queue, whatever the writer said. UPDATE: only when the indexed text really
-- changed (an upsert rewriting identical text is not re-indexed). The WHEN clause is evaluated
-- without calling the function, so unchanged upserts cost next to nothing.
DROP TRIGGER IF EXISTS external_posts_search_pending_ins ON external_posts;
CREATE TRIGGER external_posts_search_pending_ins BEFORE INSERT ON external_posts
  FOR EACH ROW WHEN (NOT NEW.search_pending) EXECUTE FUNCTION socialai_mark_search_pending();
DROP TRIGGER IF EXISTS external_posts_search_pending_upd ON external_posts;
CREATE TRIGGER external_posts_search_pending_upd
  BEFORE UPDATE OF title, content, community ON external_posts
  FOR EACH ROW
  WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.content IS DISTINCT FROM NEW.content
        OR OLD.community IS DISTINCT FROM NEW.community)
  EXECUTE FUNCTION socialai_mark_search_pending();

CREATE INDEX IF NOT EXISTS external_posts_search_pending ON external_posts (id)
  WHERE search_pending;

-- The pending list (fastupdate) makes indexing cheap, but every query scans it; 1 MB bounds
-- that cost while keeping bulk indexing above 10,000 posts/s.
CREATE INDEX IF NOT EXISTS external_posts_search_vector ON external_posts
  USING gin (search_vector) WITH (fastupdate = on, gin_pending_list_limit = 1024);

CREATE INDEX IF NOT EXISTS profiles_username_trgm ON profiles USING gin (username gin_trgm_ops);
CREATE INDEX IF NOT EXISTS profiles_display_name_trgm ON profiles
  USING gin (display_name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS profiles_bio_fts ON profiles
  USING gin (to_tsvector('english', coalesce(bio, '')));

-- Every lexeme (english stem) of an indexed post that could be a misspelled word's target: 3..32
-- letters, nothing else (no numbers, hashes, URLs, handles), so it stays dictionary-sized. Only
-- grows; a stale word is harmless (it matches no post). Used by the fuzzy fallback of
-- search_posts, which compares stems: "etherium" -> "ethereum", "stakng" -> "stake".
CREATE TABLE IF NOT EXISTS search_lexemes (
  word text PRIMARY KEY
);
CREATE INDEX IF NOT EXISTS search_lexemes_trgm ON search_lexemes USING gin (word gin_trgm_ops);

-- Tags of a post: lowercase, distinct, in byte order. #hashtags (with at least one letter),
-- $cashtags (letters only: "$ETH" -> "$eth"), @mentions (dots and dashes inside, as in
-- "@dwr.eth") and the community/channel itself (bare, without a sigil). A sigil glued to a word,
-- a URL path or an e-mail address ("C#", "a.com/#x", "me@x.org") is not a tag.
CREATE OR REPLACE FUNCTION socialai_extract_tags(title text, content text, community text)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}')
  FROM (
    SELECT lower(m[1]) COLLATE "C" AS t
    FROM regexp_matches(concat_ws(' ', title, content),
                        '(?<![[:alnum:]_$#@&/.])'
                        '(#[[:alnum:]_]*[[:alpha:]][[:alnum:]_]*'
                        '|\$[[:alpha:]]+(?![[:alnum:]_])'
                        '|@[[:alnum:]_]+(?:[.-][[:alnum:]_]+)*)', 'g') AS m
    UNION ALL
    SELECT lower(btrim(community)) WHERE btrim(community) <> ''
  ) AS found
$$;

-- search_posts(query, lim): posts matching websearch_to_tsquery('english', query), best first.
-- rank = ts_rank_cd(title A, content B; normalised by log length, scaled into [0,1)) plus 1 when
-- the words of a multi-word query appear adjacent and in order (an exact match ranks first).
-- headline = ts_headline of the returned rows only.
--
-- Trade-off (SPEC §10: p95 <= 20 ms over 1,000,000 posts, common terms included): ranking reads
-- every matching tsvector, and a common term matches hundreds of thousands of posts. So only
-- the newest max(100, 10 * lim) matches (by id) are ranked; older matches are seen only when
-- fewer newer ones exist. For a query whose words are that common, recency wins over relevance (a
-- feed is usually read that way), and the cost is bounded whatever the term. The candidate
-- query is planned with the real tsquery each call (EXECUTE), so the planner picks a backward
-- scan of the primary key for common terms and the GIN index for rare ones. random_page_cost is
-- 1.1 here because the search working set is meant to be in memory: with the default 4 the
-- planner keeps the backward scan too long (a term in 3,000 of 1M posts: 20 ms instead of 8).
--
-- Fuzzy fallback: when nothing matches, each alphabetic query lexeme of 3+ letters that no
-- indexed post contains (not in search_lexemes) is replaced by its most similar known lexeme
-- (pg_trgm similarity >= 0.3, ties by word), and the search runs once more ("etherium" finds
-- "ethereum"). Words with no similar lexeme stay, so an AND query with a hopeless word still
-- finds nothing.
CREATE OR REPLACE FUNCTION search_posts(query text, lim int DEFAULT 20)
RETURNS TABLE (id bigint, source text, external_id text, rank real, headline text)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET client_min_messages = warning
SET pg_trgm.similarity_threshold = 0.3
SET random_page_cost = 1.1
AS $$
#variable_conflict use_column
DECLARE
  q tsquery;
  pq tsquery;
  lexeme text;
  fixed text;
  changed boolean := false;
  ranked constant text := $q$
    WITH candidates AS (
      SELECT p.id, p.search_vector FROM external_posts p
      WHERE p.search_vector @@ $1
      ORDER BY p.id DESC
      LIMIT greatest(10 * $3, 100)
    ), ranked AS (
      SELECT c.id,
             (ts_rank_cd(c.search_vector, $1, 1 | 32)
              + CASE WHEN numnode($2) > 1 AND c.search_vector @@ $2 THEN 1 ELSE 0 END)::real AS rank
      FROM candidates c
      ORDER BY rank DESC, c.id DESC
      LIMIT $3
    )
    SELECT p.id, p.source, p.external_id, r.rank,
           ts_headline('english', concat_ws(' - ', p.title, p.content), $1,
                       'MaxFragments=2, MaxWords=20, MinWords=8, FragmentDelimiter=" ... "')
    FROM ranked r JOIN external_posts p ON p.id = r.id
    ORDER BY r.rank DESC, r.id DESC
  $q$;
BEGIN
  IF query IS NULL OR lim IS NULL OR lim <= 0 THEN
    RETURN;
  END IF;
  q := websearch_to_tsquery('english', query);
  IF numnode(q) = 0 THEN  -- only stop words
    RETURN;
  END IF;
  pq := phraseto_tsquery('english', query);
  RETURN QUERY EXECUTE ranked USING q, pq, lim;
  IF FOUND THEN
    RETURN;
  END IF;

  FOR lexeme IN
    SELECT DISTINCT v.lex FROM unnest(tsvector_to_array(to_tsvector('english', query))) AS v(lex)
  LOOP
    CONTINUE WHEN length(lexeme) < 3 OR lexeme !~ '^[[:alpha:]]+$'
      OR EXISTS (SELECT 1 FROM search_lexemes s WHERE s.word = lexeme);
    SELECT s.word INTO fixed FROM search_lexemes s
    WHERE s.word % lexeme
    ORDER BY similarity(s.word, lexeme) DESC, s.word
    LIMIT 1;
    IF fixed IS NOT NULL THEN
      q := ts_rewrite(q, socialai_lexeme_query(lexeme), socialai_lexeme_query(fixed));
      pq := ts_rewrite(pq, socialai_lexeme_query(lexeme), socialai_lexeme_query(fixed));
      changed := true;
    END IF;
  END LOOP;
  IF changed THEN
    RETURN QUERY EXECUTE ranked USING q, pq, lim;
  END IF;
END $$;

-- A tsquery holding exactly one lexeme, without normalisation (it is already a stem).
CREATE OR REPLACE FUNCTION socialai_lexeme_query(lexeme text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''')::tsquery
$$;

-- search_profiles(query, lim): profiles whose username or display name contains a word close to
-- the query (pg_trgm word similarity >= 0.6, so "vitalk" finds "vitalik.eth"), whose username is
-- the query, or whose bio matches it as full text. rank = the best of similarity and 0.9 * word
-- similarity over both names, at least 0.3 for a bio match; an exact username (case-insensitive,
-- "@" optional) adds 2 and an exact display name 1, so they come first.
-- Bounded work, as for posts: each source (exact username, the two word-similarity tests, bio)
-- gives at most 200 candidates, so a query such as "eth", a word of a third of all usernames,
-- does not score them all; among such near-equal matches the 200 are arbitrary, an exact
-- username never is. Plain similarity (%) is only used for scoring, not to find candidates: for
-- a short query its index test lets through nearly every name sharing one syllable.
CREATE INDEX IF NOT EXISTS profiles_username_lower ON profiles (lower(username));

CREATE OR REPLACE FUNCTION search_profiles(query text, lim int DEFAULT 20)
RETURNS TABLE (id bigint, source text, external_id text, username text, display_name text,
               rank real)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
SET client_min_messages = warning
SET pg_trgm.word_similarity_threshold = 0.6
AS $$
  WITH q AS (
    SELECT lower(ltrim(btrim(query), '@')) AS t, websearch_to_tsquery('english', query) AS tq
    WHERE lower(ltrim(btrim(query), '@')) <> ''
  ), by_name AS (
    (SELECT p.id FROM profiles p, q WHERE lower(p.username) = q.t LIMIT 200)
    UNION (SELECT p.id FROM profiles p, q WHERE q.t <% p.username LIMIT 200)
    UNION (SELECT p.id FROM profiles p, q WHERE q.t <% p.display_name LIMIT 200)
  ), by_bio AS (
    SELECT p.id FROM profiles p, q
    WHERE to_tsvector('english', coalesce(p.bio, '')) @@ q.tq
    LIMIT 200
  ), scored AS (
    SELECT p.id, p.source, p.external_id, p.username, p.display_name,
           greatest(similarity(p.username, q.t), similarity(p.display_name, q.t),
                    0.9 * word_similarity(q.t, p.username),
                    0.9 * word_similarity(q.t, p.display_name),
                    CASE WHEN b.id IS NOT NULL THEN 0.3 ELSE 0 END)
           + CASE WHEN lower(p.username) = q.t THEN 2 ELSE 0 END
           + CASE WHEN lower(p.display_name) = q.t THEN 1 ELSE 0 END AS rank
    FROM (SELECT c.id FROM by_name c UNION SELECT c.id FROM by_bio c) AS c
    JOIN profiles p ON p.id = c.id
    LEFT JOIN by_bio b ON b.id = c.id
    CROSS JOIN q
  )
  SELECT s.id, s.source, s.external_id, s.username, s.display_name, s.rank::real
  FROM scored s
  ORDER BY s.rank DESC, s.id
  LIMIT greatest(lim, 0)
$$;
