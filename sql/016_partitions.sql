-- Partition leases (SPEC §8, common/partition_leases.h): the partitions a worker process holds
-- now ("shard:1, shard:2"), NULL for a worker with one lease or none held.
ALTER TABLE worker_heartbeats ADD COLUMN IF NOT EXISTS partitions text;
