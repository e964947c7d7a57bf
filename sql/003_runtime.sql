-- Runtime additions: one heartbeat row per worker process (two instances of a worker on one
-- host, e.g. an active one and a standby, no longer overwrite each other's row), and a standing
-- note a worker shows operators (e.g. "daily budget reached").
ALTER TABLE worker_heartbeats ADD COLUMN IF NOT EXISTS note text;
ALTER TABLE worker_heartbeats DROP CONSTRAINT IF EXISTS worker_heartbeats_pkey;
ALTER TABLE worker_heartbeats ADD PRIMARY KEY (worker, host, pid);
