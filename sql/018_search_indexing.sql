-- Two costs of the search worker's indexing (tests/bench/notes/bench_search.md).
--
-- 1. The full-text index's pending list is merged into the index by the backend whose insert
-- overflows it (gin_pending_list_limit), and that merge gathers the list's entries in memory up
-- to work_mem (4 MB by default), writing each lexeme's new entries into the index once per
-- gathering. 017_search_pending_list allowed 8 MB, which the default work_mem cut into pieces.
-- With 32 MB here and the worker's indexing transactions at 64 MB of work_mem (setting
-- index_work_mem_mb), re-indexing 200,000 of 1,000,000 posts took 20 % less backend CPU (four
-- alternated pairs); either change alone gained nothing measurable. The worker still merges
-- the list at the end of each cycle that indexed something, so a larger list only lasts while
-- a backlog is being indexed (searches scan it meanwhile).
ALTER INDEX external_posts_search_vector SET (gin_pending_list_limit = 32768);

-- 2. The worker replaces a post's tags rows by item. With tags_item on (item_type, item_id) and
-- no statistics yet on a young tags table (item_type = 'post' then counts as 0.5 % of the
-- rows), the planner read every post's tags rows through that index for each batch and sorted
-- or hashed them: 348 of 500 batches while 1,000,000 new posts were indexed. With item_id first
-- there is no cheap way to read all posts' rows, only the batch's.
DROP INDEX IF EXISTS tags_item;
CREATE INDEX IF NOT EXISTS tags_item_id ON tags (item_id, item_type);
