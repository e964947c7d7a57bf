-- Reactions to a URL instead of a cast (Farcaster's reactionBody.targetUrl: a channel URL, an
-- NFT as chain://eip155:1/erc721:…): target_url is set and post_external_id NULL; every other
-- reaction has a post and no URL. Exactly one of the two, so the primary key (which forbids
-- NULL) gives way to one unique index per kind of target (NULLs never conflict in either).
ALTER TABLE reactions ADD COLUMN IF NOT EXISTS target_url text;
CREATE UNIQUE INDEX IF NOT EXISTS reactions_post_key
  ON reactions (source, post_external_id, actor_external_id, kind);
ALTER TABLE reactions DROP CONSTRAINT IF EXISTS reactions_pkey;
ALTER TABLE reactions ALTER COLUMN post_external_id DROP NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS reactions_url_key
  ON reactions (source, target_url, actor_external_id, kind);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'reactions_one_target'
                 AND conrelid = 'reactions'::regclass) THEN
    ALTER TABLE reactions ADD CONSTRAINT reactions_one_target
      CHECK ((post_external_id IS NULL) <> (target_url IS NULL));
  END IF;
END $$;
