-- moves_merged: the moves of exactly the games kept by games_merged.
-- Inputs: $moves — the partition's move-table Parquet files; $kept — the
-- games_merged file.  A move belongs to the (game_id, source) it was written
-- with, so duplicates of a game contribute no moves.
SELECT m.*
FROM read_parquet($moves, union_by_name = true) AS m
SEMI JOIN read_parquet($kept) AS g
    ON m.game_id = g.game_id AND m.source = g.source
ORDER BY m.game_id, m.ply
