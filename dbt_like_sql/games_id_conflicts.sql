-- games_id_conflicts: game ids of one partition that name more than one move sequence.
-- Inputs: $board, $players.  One row per such id, with the sources that disagree.
SELECT game_id,
       count(DISTINCT move_hash) AS sequences,
       string_agg(DISTINCT coalesce('landed file ' || source_name || ' (' || left(source_file, 12) || ')',
                                   'selfplay run ' || coalesce(run_id, '?')), '; ') AS sources
FROM lake.games
WHERE board = $board AND players = $players
GROUP BY game_id
HAVING count(DISTINCT move_hash) > 1
ORDER BY game_id
