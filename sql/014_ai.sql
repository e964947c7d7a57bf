-- AI worker (SPEC §7 "ai"): work state, claims with leases, the embedding cache.
-- The result tables (embeddings, ai_summaries, ai_sentiment, ai_topics, ai_item_topics,
-- ai_recommendations, ai_usage) are in 001_core.sql.

-- What the pipeline last did with an item, per pipeline ("<provider>:<embedding model>+<chat
-- model>"). content_hash = md5 of the text the worker built (see docs/ai.md); a changed text
-- re-queues the item. Failed items are retried after retry_at, at most a few times.
CREATE TABLE IF NOT EXISTS ai_item_state (
  item_type    text NOT NULL,
  item_id      bigint NOT NULL,
  pipeline     text NOT NULL,
  content_hash text NOT NULL,
  status       text NOT NULL CHECK (status IN ('done', 'failed')),
  attempts     integer NOT NULL DEFAULT 0,
  error        text,
  retry_at     timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_type, item_id, pipeline)
);

-- Claims: an instance owns an item until its lease ends (a crashed instance's items come back
-- after the lease). Taken with FOR UPDATE SKIP LOCKED on the source rows plus an
-- ON CONFLICT ... WHERE lease expired guard, so two instances never hold the same item.
CREATE TABLE IF NOT EXISTS ai_claims (
  item_type   text NOT NULL,
  item_id     bigint NOT NULL,
  pipeline    text NOT NULL,
  owner       text NOT NULL,
  lease_until timestamptz NOT NULL,
  PRIMARY KEY (item_type, item_id, pipeline)
);

-- Identical texts are embedded once per model.
CREATE TABLE IF NOT EXISTS ai_embedding_cache (
  model        text NOT NULL,
  content_hash text NOT NULL,
  dims         integer NOT NULL,
  vector       real[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, content_hash)
);

CREATE INDEX IF NOT EXISTS embeddings_model_created ON embeddings (model, created_at);
CREATE INDEX IF NOT EXISTS ai_usage_created ON ai_usage (created_at);
CREATE INDEX IF NOT EXISTS ai_topics_model ON ai_topics (model);
CREATE INDEX IF NOT EXISTS external_posts_author ON external_posts (source, author_external_id);
CREATE INDEX IF NOT EXISTS reactions_actor ON reactions (source, actor_external_id);
