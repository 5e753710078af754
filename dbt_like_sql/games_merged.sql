-- games_merged: every game of one partition, once.
-- Inputs: $games — a list of the partition's game-table Parquet files (generated
-- and landed).  A game is kept once by game id (earliest created, then source
-- name), and then once by move-sequence hash, so the same game landed under two
-- ids is not counted twice.
WITH src AS (
    SELECT * FROM read_parquet($games, union_by_name = true)
),
by_id AS (
    SELECT *, row_number() OVER (PARTITION BY game_id ORDER BY created_at, source) AS _rn_id
    FROM src
),
by_hash AS (
    SELECT * EXCLUDE (_rn_id),
           row_number() OVER (PARTITION BY move_hash ORDER BY created_at, source, game_id) AS _rn_hash
    FROM by_id
    WHERE _rn_id = 1
)
SELECT * EXCLUDE (_rn_hash)
FROM by_hash
WHERE _rn_hash = 1
ORDER BY game_id
