"""SQL transforms over the lake (``dbt_like_sql/``): the merged games and their checks."""

from __future__ import annotations

import importlib.resources
from typing import Optional

from .store import LakeStore


def sql(name: str) -> str:
    """The text of ``dbt_like_sql/<name>.sql`` (found in an installed package too)."""
    res = importlib.resources.files("dbt_like_sql") / f"{name}.sql"
    if not res.is_file():
        raise FileNotFoundError(f"SQL transform {name!r}: {res} does not exist")
    return res.read_text()


def merge_partition(store: LakeStore, board: str, players: int, run_id: Optional[str] = None,
                    rebuild: bool = False) -> dict:
    """Bring ``lake.games_merged`` of one partition up to date in one transaction: the
    move sequences whose merged row is missing, stale or beaten by a newer row
    (``games_merged_changes.sql``) are deleted and their winners inserted again
    (``games_merged.sql``), so a merge reads the big columns of the new games only and
    writes only them.  The result is the full rebuild's (``rebuild``: empty the
    partition first and insert every sequence), since ``lake.games`` only grows.
    Returns the counts, ``changed`` the sequences rewritten."""
    params = {"board": board, "players": players}

    def update(con):
        rows_in = con.execute("SELECT count(*) FROM lake.games WHERE board = $board AND players = $players",
                              params).fetchone()[0]
        if rows_in == 0:
            raise FileNotFoundError(f"partition {board}|{players}: no games in lake.games")
        if rebuild:
            con.execute("DELETE FROM lake.games_merged WHERE board = $board AND players = $players", params)
        con.execute("DROP TABLE IF EXISTS temp.merge_changes")
        con.execute(f"CREATE TEMP TABLE merge_changes AS {sql('games_merged_changes')}", params)
        changed = con.execute("SELECT count(*) FROM temp.merge_changes").fetchone()[0]
        if changed:
            con.execute("DELETE FROM lake.games_merged WHERE board = $board AND players = $players "
                        "AND move_hash IN (SELECT move_hash FROM temp.merge_changes)", params)
            con.execute(f"INSERT INTO lake.games_merged BY NAME {sql('games_merged')}", params)
        con.execute("DROP TABLE temp.merge_changes")
        out = con.execute("SELECT count(*) FROM lake.games_merged WHERE board = $board AND players = $players",
                          params).fetchone()
        sources = con.execute(
            "SELECT source, count(*) FROM lake.games_merged WHERE board = $board AND players = $players GROUP BY 1 "
            "ORDER BY 1", params).fetchall()
        return {"rows_in": int(rows_in), "rows_out": int(out[0]), "duplicates_removed": int(rows_in - out[0]),
                "changed": int(changed), "by_source": {s: int(n) for s, n in sources}}

    stats, snap = store.write(update, f"games_merged {board}|{players}", {"run_id": run_id})
    stats["snapshot"] = snap
    return stats


def id_conflicts(store: LakeStore, board: str, players: int) -> list:
    """Game ids of a partition that name more than one move sequence, with their sources."""
    with store.connect(read_only=True) as con:
        return [dict(zip(("game_id", "sequences", "sources"), r)) for r in
                con.execute(sql("games_id_conflicts"), {"board": board, "players": players}).fetchall()]


__all__ = ["id_conflicts", "merge_partition", "sql"]
