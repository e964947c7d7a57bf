-- The GIN index on external_posts.search_vector takes new entries into its pending list
-- (fastupdate) and merges the list into the index when it outgrows gin_pending_list_limit.
-- With 1 MB (002_search) that merge ran every few hundred posts, inside the search worker's
-- UPDATE: one batch of 2,000 posts took 290 ms with the index, 63 ms without it. With 8 MB,
-- indexing a backlog of 200,000 posts ran at a median 12,719 posts/s against 10,578 (five
-- alternated runs; tests/bench/notes/bench_search.md).
-- Searches scan the pending list, so the search worker merges it itself
-- (gin_clean_pending_list) at the end of every cycle that indexed something: a larger list
-- only lasts while a backlog is being indexed.
ALTER INDEX external_posts_search_vector SET (gin_pending_list_limit = 8192);
