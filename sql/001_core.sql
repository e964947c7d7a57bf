-- Core schema: control tables (flags, settings, runs, heartbeats, cursors) and the shared data tables.
-- Applied by the migrations runner inside one transaction; see docs/database.md.

CREATE TABLE IF NOT EXISTS feature_flags (
  flag_name   text PRIMARY KEY,
  enabled     boolean NOT NULL DEFAULT true,
  description text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS settings (
  key        text PRIMARY KEY,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Any change to flags or settings wakes every worker (LISTEN socialai_config) within milliseconds.
CREATE OR REPLACE FUNCTION socialai_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('socialai_config', TG_TABLE_NAME);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS feature_flags_notify ON feature_flags;
CREATE TRIGGER feature_flags_notify BEFORE INSERT OR UPDATE OR DELETE ON feature_flags
  FOR EACH ROW EXECUTE FUNCTION socialai_notify_config();
DROP TRIGGER IF EXISTS settings_notify ON settings;
CREATE TRIGGER settings_notify BEFORE INSERT OR UPDATE OR DELETE ON settings
  FOR EACH ROW EXECUTE FUNCTION socialai_notify_config();

INSERT INTO feature_flags (flag_name, enabled, description) VALUES
  ('farcaster_enabled', true,  'Farcaster hub sync'),
  ('reddit_enabled',    false, 'Reddit sync'),
  ('ethereum_enabled',  true,  'Ethereum mainnet sync'),
  ('base_enabled',      true,  'BASE chain sync'),
  ('solana_enabled',    true,  'Solana sync'),
  ('ai_enabled',        true,  'AI processing'),
  ('search_enabled',    true,  'Search indexing')
ON CONFLICT (flag_name) DO NOTHING;

CREATE TABLE IF NOT EXISTS worker_runs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  worker       text NOT NULL,
  host         text NOT NULL,
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  items_ok     integer NOT NULL DEFAULT 0,
  items_failed integer NOT NULL DEFAULT 0,
  db_queries   integer NOT NULL DEFAULT 0,
  db_ms        double precision NOT NULL DEFAULT 0,
  error        text
);
CREATE INDEX IF NOT EXISTS worker_runs_worker_started ON worker_runs (worker, started_at DESC);

CREATE TABLE IF NOT EXISTS worker_errors (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  worker     text NOT NULL,
  item_ref   text NOT NULL,
  error      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS worker_errors_worker_created ON worker_errors (worker, created_at DESC);

CREATE TABLE IF NOT EXISTS worker_heartbeats (
  worker  text NOT NULL,
  host    text NOT NULL,
  pid     integer NOT NULL,
  state   text NOT NULL,
  beat_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (worker, host)
);

CREATE TABLE IF NOT EXISTS sync_state (
  worker     text NOT NULL,
  key        text NOT NULL,
  cursor     text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (worker, key)
);

CREATE TABLE IF NOT EXISTS profiles (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source          text NOT NULL,
  external_id     text NOT NULL,
  username        text,
  display_name    text,
  bio             text,
  avatar_url      text,
  follower_count  integer,
  following_count integer,
  raw             jsonb,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, external_id)
);

CREATE TABLE IF NOT EXISTS external_posts (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source             text NOT NULL,
  external_id        text NOT NULL,
  author_external_id text,
  community          text,
  title              text,
  content            text,
  url                text,
  parent_external_id text,
  created_at         timestamptz,
  score              integer,
  reply_count        integer,
  raw                jsonb,
  search_vector      tsvector,
  tags               text[],
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, external_id)
);

CREATE TABLE IF NOT EXISTS reactions (
  source             text NOT NULL,
  post_external_id   text NOT NULL,
  actor_external_id  text NOT NULL,
  kind               text NOT NULL,
  created_at         timestamptz,
  PRIMARY KEY (source, post_external_id, actor_external_id, kind)
);

CREATE TABLE IF NOT EXISTS follows (
  source               text NOT NULL,
  follower_external_id text NOT NULL,
  followee_external_id text NOT NULL,
  created_at           timestamptz,
  PRIMARY KEY (source, follower_external_id, followee_external_id)
);

CREATE TABLE IF NOT EXISTS wallets (
  chain              text NOT NULL,
  address            text NOT NULL,
  profile_source     text,
  profile_external_id text,
  ens_name           text,
  native_balance     numeric(78, 0),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain, address)
);

CREATE TABLE IF NOT EXISTS token_balances (
  chain      text NOT NULL,
  address    text NOT NULL,
  token      text NOT NULL,
  symbol     text,
  decimals   integer,
  balance    numeric(78, 0) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain, address, token)
);

CREATE TABLE IF NOT EXISTS nft_holdings (
  chain      text NOT NULL,
  address    text NOT NULL,
  contract   text NOT NULL,
  token_id   text NOT NULL,
  metadata   jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain, address, contract, token_id)
);

CREATE TABLE IF NOT EXISTS chain_transactions (
  chain        text NOT NULL,
  hash         text NOT NULL,
  block_number bigint,
  block_hash   text,
  block_time   timestamptz,
  from_address text,
  to_address   text,
  value        numeric(78, 0),
  status       text,
  PRIMARY KEY (chain, hash)
);

CREATE TABLE IF NOT EXISTS embeddings (
  item_type    text NOT NULL,
  item_id      bigint NOT NULL,
  model        text NOT NULL,
  dims         integer NOT NULL,
  vector       real[] NOT NULL,
  content_hash text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_type, item_id, model)
);

CREATE TABLE IF NOT EXISTS ai_summaries (
  item_type    text NOT NULL,
  item_id      bigint NOT NULL,
  model        text NOT NULL,
  summary      text NOT NULL,
  content_hash text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_type, item_id, model)
);

CREATE TABLE IF NOT EXISTS ai_sentiment (
  item_type    text NOT NULL,
  item_id      bigint NOT NULL,
  model        text NOT NULL,
  score        real NOT NULL CHECK (score BETWEEN -1 AND 1),
  label        text NOT NULL,
  content_hash text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_type, item_id, model)
);

CREATE TABLE IF NOT EXISTS ai_topics (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model      text NOT NULL,
  label      text NOT NULL,
  centroid   real[],
  size       integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ai_item_topics (
  item_type text NOT NULL,
  item_id   bigint NOT NULL,
  topic_id  bigint NOT NULL REFERENCES ai_topics (id) ON DELETE CASCADE,
  score     real,
  PRIMARY KEY (item_type, item_id, topic_id)
);

CREATE TABLE IF NOT EXISTS ai_recommendations (
  profile_id bigint NOT NULL,
  item_type  text NOT NULL,
  item_id    bigint NOT NULL,
  score      real NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (profile_id, item_type, item_id)
);

CREATE TABLE IF NOT EXISTS ai_usage (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider          text NOT NULL,
  model             text NOT NULL,
  operation         text NOT NULL,
  prompt_tokens     integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  cost_usd          numeric(12, 6) NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tags (
  tag       text NOT NULL,
  item_type text NOT NULL,
  item_id   bigint NOT NULL,
  PRIMARY KEY (tag, item_type, item_id)
);
CREATE INDEX IF NOT EXISTS tags_item ON tags (item_type, item_id);
