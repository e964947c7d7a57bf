-- Reddit worker: the post a comment belongs to (Reddit's link_id), beside parent_external_id
-- (its direct parent, a post or another comment), so a whole thread is one indexed lookup.
ALTER TABLE external_posts ADD COLUMN IF NOT EXISTS thread_external_id text;
CREATE INDEX IF NOT EXISTS external_posts_thread ON external_posts (source, thread_external_id)
  WHERE thread_external_id IS NOT NULL;
