-- games_merged_changes: the move sequences of one partition whose row in games_merged is
-- missing, stale or no longer the winner under games_merged.sql's rule.
-- Inputs: $board, $players.  Reads lake.games and lake.games_merged.
-- merge_partition deletes these sequences from games_merged and inserts their winners
-- again, so a merge reads the big columns (moves, policies) of new games only instead of
-- rewriting the whole partition; on an empty partition every sequence is a change, and
-- the result equals a full rebuild.  A row beats the merged one when it sorts before it
-- in games_merged.sql's order (created_at, then entry_id; NULL created_at sorts last).
WITH merged AS (
    SELECT move_hash, created_at, entry_id FROM lake.games_merged
    WHERE board = $board AND players = $players
), games AS (
    SELECT move_hash, created_at, entry_id FROM lake.games
    WHERE board = $board AND players = $players
)
SELECT g.move_hash
FROM games g LEFT JOIN merged m USING (move_hash)
WHERE m.move_hash IS NULL
   OR (g.created_at IS NOT NULL AND (m.created_at IS NULL OR g.created_at < m.created_at))
   OR (g.created_at IS NOT DISTINCT FROM m.created_at AND g.entry_id < m.entry_id)
UNION
-- a merged row whose game is gone from lake.games (lake.games is append-only; kept exact anyway)
SELECT m.move_hash
FROM merged m ANTI JOIN games g USING (entry_id)
