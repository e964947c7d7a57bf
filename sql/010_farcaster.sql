-- Farcaster worker: indexes for its per-fid replace statements (reactions by actor, wallets by
-- the profile that verified them). Idempotent.
CREATE INDEX IF NOT EXISTS reactions_source_actor ON reactions (source, actor_external_id);
CREATE INDEX IF NOT EXISTS wallets_profile ON wallets (profile_source, profile_external_id)
  WHERE profile_source IS NOT NULL;
