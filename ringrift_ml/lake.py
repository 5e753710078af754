"""The lakehouse layout and tables, independent of any orchestrator.

Tables are Parquet files in a hive layout under the storage root::

    lake/games/board=<b>/players=<n>/<source>.parquet   one row per game
    lake/moves/board=<b>/players=<n>/<source>.parquet   one row per move

Every table carries ``schema_version``.  Files are written to a temporary name and
renamed, so a reader never sees half a file and re-writing a partition's file
replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Iterable, Optional

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = 1

GAMES_SCHEMA = pa.schema(
    [
        ("schema_version", pa.int32()),
        ("game_id", pa.string()),
        ("board", pa.string()),
        ("players", pa.int32()),
        ("seed", pa.int64()),
        ("generator", pa.string()),
        ("generator_version", pa.string()),
        ("rules_options", pa.string()),  # JSON
        ("moves_json", pa.string()),  # the full move list, bookkeeping included
        ("policy_json", pa.string()),  # per-move search policies (JSON list, nulls for unsearched)
        ("move_hash", pa.string()),  # sha256 of the move sequence (deduplication)
        ("winner", pa.int32()),
        ("ranks", pa.string()),  # JSON {seat: rank}
        ("victory_reason", pa.string()),
        ("length", pa.int32()),
        ("source", pa.string()),
        ("created_at", pa.timestamp("ms", tz="UTC")),
        # Added later and nullable: files written before it read as NULL.
        ("rules_version", pa.int32()),
    ]
)

MOVES_SCHEMA = pa.schema(
    [
        ("schema_version", pa.int32()),
        ("game_id", pa.string()),
        ("board", pa.string()),
        ("players", pa.int32()),
        ("ply", pa.int32()),
        ("player", pa.int32()),
        ("phase", pa.string()),
        ("move_type", pa.string()),
        ("move_json", pa.string()),
        ("source", pa.string()),
    ]
)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in order; nullable columns that files of an
    older layout lack are filled with nulls."""
    for field in schema:
        if field.name not in table.column_names:
            if not field.nullable:
                raise ValueError(f"table: required column {field.name!r} is missing")
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(schema.names).cast(schema)


def move_hash(moves: list) -> str:
    """Content hash of a move sequence: equal games from different ids collide."""
    return hashlib.sha256(json.dumps(moves, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def partition_dir(root: Path, table: str, board: str, players: int) -> Path:
    return Path(root) / "lake" / table / f"board={board}" / f"players={players}"


def records_to_tables(records: Iterable[dict], source: str) -> tuple:
    """Game records (this project's format) to (games, moves) Arrow tables.

    Phases come from replaying each game, so the moves table says in which phase
    every move was played."""
    from .rules.records import record_options, start_state
    from .rules.replay import iter_replay

    now = int(time.time() * 1000)
    g_rows = {name: [] for name in GAMES_SCHEMA.names}
    m_rows = {name: [] for name in MOVES_SCHEMA.names}
    for rec in records:
        moves = rec["moves"]
        g_rows["schema_version"].append(SCHEMA_VERSION)
        g_rows["game_id"].append(rec["gameId"])
        g_rows["board"].append(rec["boardType"])
        g_rows["players"].append(rec["numPlayers"])
        g_rows["seed"].append(rec.get("seed"))
        g_rows["generator"].append(rec.get("generator"))
        g_rows["generator_version"].append(rec.get("generatorVersion"))
        # The options the game is replayed under, so that a stored record means the
        # same rules whatever format it arrived in.
        g_rows["rules_options"].append(json.dumps(record_options(rec), sort_keys=True))
        g_rows["moves_json"].append(json.dumps(moves))
        g_rows["policy_json"].append(json.dumps(rec.get("policy")) if rec.get("policy") is not None else None)
        g_rows["move_hash"].append(move_hash(moves))
        g_rows["winner"].append(rec.get("winner"))
        g_rows["ranks"].append(json.dumps(rec.get("ranks")) if rec.get("ranks") else None)
        g_rows["victory_reason"].append(rec.get("victoryReason"))
        g_rows["length"].append(len(moves))
        g_rows["source"].append(source)
        g_rows["created_at"].append(now)
        g_rows["rules_version"].append(rec.get("rulesVersion"))
        for step, md in zip(iter_replay(start_state(rec), moves), moves):
            m_rows["schema_version"].append(SCHEMA_VERSION)
            m_rows["game_id"].append(rec["gameId"])
            m_rows["board"].append(rec["boardType"])
            m_rows["players"].append(rec["numPlayers"])
            m_rows["ply"].append(step.ply)
            m_rows["player"].append(md["player"])
            m_rows["phase"].append(step.phase)
            m_rows["move_type"].append(md["type"])
            m_rows["move_json"].append(json.dumps(md))
            m_rows["source"].append(source)
    return (pa.Table.from_pydict(g_rows, schema=GAMES_SCHEMA), pa.Table.from_pydict(m_rows, schema=MOVES_SCHEMA))


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write ``table`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def table_rows(table: str, board: str, players: int, root: Path) -> int:
    """Rows of one table partition (0 if it has no files)."""
    d = partition_dir(root, table, board, players)
    files = sorted(d.glob("*.parquet")) if d.is_dir() else []
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def row_to_record(row: dict) -> dict:
    """A games-table row back to a game record (replay checks, samples, landed Parquet).

    Only the identity, rules options and moves are required; the other columns are
    carried over when the row has them."""
    rec = {
        "gameId": row["game_id"],
        "boardType": row["board"],
        "numPlayers": int(row["players"]),
        "rulesOptions": json.loads(row["rules_options"] or "{}"),
        "seed": row.get("seed"),
        "moves": json.loads(row["moves_json"]),
        "winner": row["winner"],
        "ranks": json.loads(row["ranks"]) if row.get("ranks") else None,
        "victoryReason": row.get("victory_reason"),
    }
    if row.get("policy_json"):
        rec["policy"] = json.loads(row["policy_json"])
    for key, col in (
        ("generator", "generator"),
        ("generatorVersion", "generator_version"),
        ("rulesVersion", "rules_version"),
    ):
        if row.get(col) is not None:
            rec[key] = row[col]
    return rec


# -- writing and merging partitions -------------------------------------------

SQL_DIR = Path(__file__).resolve().parents[1] / "dbt_like_sql"


def sql(name: str) -> str:
    """The text of ``dbt_like_sql/<name>.sql``."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL transform {name!r}: {path} does not exist")
    return path.read_text()


def write_games(root: Path, records: list, source: str) -> dict:
    """Write records of one partition as ``<source>.parquet`` in games and moves.

    Re-writing the same source replaces its files, so re-running a generator never
    duplicates rows.  Returns the written paths and row counts."""
    if not records:
        raise ValueError(f"write_games: no records for source {source!r}")
    parts = {(r["boardType"], int(r["numPlayers"])) for r in records}
    if len(parts) != 1:
        raise ValueError(f"write_games: records of source {source!r} span partitions {sorted(parts)}")
    (board, players), = parts
    games, moves = records_to_tables(records, source)
    g = write_parquet_atomic(games, partition_dir(root, "games", board, players) / f"{source}.parquet")
    m = write_parquet_atomic(moves, partition_dir(root, "moves", board, players) / f"{source}.parquet")
    return {"games_path": str(g), "moves_path": str(m), "games": games.num_rows, "moves": moves.num_rows}


def merge_partition(root: Path, board: str, players: int) -> dict:
    """Run the ``games_merged`` and ``moves_merged`` transforms for one partition."""
    import duckdb

    gdir = partition_dir(root, "games", board, players)
    game_files = sorted(str(p) for p in gdir.glob("*.parquet")) if gdir.is_dir() else []
    if not game_files:
        raise FileNotFoundError(f"partition {board}|{players}: no game files under {gdir}")
    move_files = [str(partition_dir(root, "moves", board, players) / Path(f).name) for f in game_files]
    missing = [f for f in move_files if not Path(f).is_file()]
    if missing:
        raise FileNotFoundError(f"partition {board}|{players}: game files without moves: {missing}")
    out_g = partition_dir(root, "games_merged", board, players) / "data.parquet"
    out_m = partition_dir(root, "moves_merged", board, players) / "data.parquet"
    con = duckdb.connect()
    try:
        merged = con.sql(sql("games_merged"), params={"games": game_files}).to_arrow_table()
        merged = conform(merged, GAMES_SCHEMA)
        rows_in = con.sql("SELECT count(*) FROM read_parquet($g, union_by_name = true)",
                          params={"g": game_files}).fetchall()[0][0]
        write_parquet_atomic(merged, out_g)
        mv = con.sql(sql("moves_merged"), params={"moves": move_files, "kept": str(out_g)}).to_arrow_table()
        write_parquet_atomic(mv.cast(MOVES_SCHEMA), out_m)
    finally:
        con.close()
    return {
        "rows_in": int(rows_in),
        "rows_out": merged.num_rows,
        "duplicates_removed": int(rows_in) - merged.num_rows,
        "moves_out": mv.num_rows,
        "sources": [Path(f).stem for f in game_files],
        "games_path": str(out_g),
        "moves_path": str(out_m),
    }


# Catalog views: name -> table directory under lake/.
CATALOG_VIEWS = {
    "games": "games_merged",
    "moves": "moves_merged",
    "samples": "training_samples",
    "models": "models",
    "calibration": "calibration",
    "elo": "elo",
}


def refresh_catalog(root: Path, extra: Optional[dict] = None) -> dict:
    """(Re)create ``<root>/ringrift.duckdb`` with one view per lake table that has data.

    Views read the Parquet files with hive partitioning, so ``board`` and
    ``players`` are columns and new partitions appear without a refresh."""
    import duckdb

    root = Path(root).resolve()
    views = dict(CATALOG_VIEWS, **(extra or {}))
    path = root / "ringrift.duckdb"
    made = {}
    con = duckdb.connect(str(path))
    try:
        for view, table in views.items():
            files = list((root / "lake" / table).glob("**/*.parquet"))
            if not files:
                con.execute(f'DROP VIEW IF EXISTS "{view}"')
                continue
            glob = str(root / "lake" / table / "**" / "*.parquet").replace("'", "''")
            con.execute(
                f"CREATE OR REPLACE VIEW \"{view}\" AS SELECT * FROM "
                f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            )
            made[view] = con.execute(f'SELECT count(*) FROM "{view}"').fetchall()[0][0]
    finally:
        con.close()
    return {"path": str(path), "views": made}
