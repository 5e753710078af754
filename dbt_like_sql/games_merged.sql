-- games_merged: every distinct game of one partition, once.
-- Inputs: $board, $players.  Reads lake.games (generated and landed games, append-only).
-- A game is kept once per move sequence (move_hash): the earliest row wins (then the
-- smallest entry_id), so the same game landed twice, or landed and generated, counts
-- once.  Game ids are unique by construction for generated games and checked at
-- landing; a blocking check (games_id_conflicts.sql) fails if one id still names two
-- move sequences.  merge_partition evaluates it for the sequences in the temporary
-- table merge_changes (games_merged_changes.sql: all of them on an empty partition).
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY move_hash ORDER BY created_at, entry_id) AS _rn
    FROM lake.games
    WHERE board = $board AND players = $players
      AND move_hash IN (SELECT move_hash FROM merge_changes)
)
WHERE _rn = 1
