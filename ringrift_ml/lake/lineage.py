"""Lineage in SQL: which snapshot a step read, which games a sample set holds, which
sample set a model learned from.

Every reader records the snapshot it read; every sample set lists its games in
``lake.sample_set_games``; every model names its sample set.  Nothing is
overwritten, so "the games that trained model X" keeps its answer after more games
land::

    SELECT DISTINCT g.* FROM lake.models m
    JOIN lake.sample_set_games s USING (sample_set_id)
    JOIN lake.games g ON g.entry_id = s.entry_id
    WHERE m.model_id = 'X'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Iterator, Optional

import pyarrow as pa

from .io import append
from .records import canonical_json
from .schema import BIG_GAME_COLUMNS
from .store import LakeStore, cpu_extra_info, recorded_cpu_seconds


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _current_snapshot(con) -> int:
    return int(con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])


def read_partition(store: LakeStore, table: str, board: str, players: int, without: tuple = ()) -> tuple:
    """``(rows, snapshot)``: a partition of ``lake.<table>`` as of one snapshot, and
    that snapshot's id (read in the same connection, so the two agree).  ``without``:
    columns left out (:data:`BIG_GAME_COLUMNS` for checks of every game's small columns)."""
    skip = f" EXCLUDE ({', '.join(without)})" if without else ""
    with store.connect(read_only=True) as con:
        snap = _current_snapshot(con)
        rows = con.execute(f'SELECT *{skip} FROM lake."{table}" AT (VERSION => {snap}) WHERE board = ? AND '
                           f"players = ? ORDER BY game_id, entry_id", [board, players]).to_arrow_table()
    return rows, snap


def unsampled_games(store: LakeStore, board: str, players: int) -> tuple:
    """``(games, snapshot)``: the partition's merged games that no sample set of the
    partition holds yet, as of one snapshot, each ``(game_id, entry_id, bytes)`` (bytes:
    the size of its :data:`BIG_GAME_COLUMNS`), ordered by game id.  Only ids and sizes are
    read; :func:`read_games` reads the games themselves in bounded batches."""
    size = " + ".join(f"coalesce(strlen({c}), 0)" for c in BIG_GAME_COLUMNS)
    with store.connect(read_only=True) as con:
        snap = _current_snapshot(con)
        rows = con.execute(
            f"SELECT game_id, entry_id, {size} FROM lake.games_merged AT (VERSION => {snap}) "
            f"WHERE board = $board AND players = $players AND game_id NOT IN ("
            f"SELECT game_id FROM lake.sample_set_games AT (VERSION => {snap}) "
            f"WHERE board = $board AND players = $players) ORDER BY game_id, entry_id",
            {"board": board, "players": players}).fetchall()
    return [(g, e, int(b)) for g, e, b in rows], snap


def read_games(store: LakeStore, table: str, board: str, players: int, snapshot: int, games: list,
               max_bytes: int = 256 << 20):
    """Yield ``games`` (``(game_id, entry_id, bytes)``, as :func:`unsampled_games` gives
    them) from the partition of ``lake.<table>`` at ``snapshot`` as Arrow tables, in
    the order given and in batches whose :data:`BIG_GAME_COLUMNS` hold at most
    ``max_bytes`` (a single bigger game is a batch of its own).  ``LookupError`` if a
    game is not there."""
    if max_bytes < 1:
        raise ValueError(f"max_bytes: must be positive, got {max_bytes}")
    batches, batch, size = [], [], 0
    for key in games:
        if batch and size + key[2] > max_bytes:
            batches.append(batch)
            batch, size = [], 0
        batch.append(key)
        size += key[2]
    if batch:
        batches.append(batch)
    for batch in batches:
        entries = [e for _, e, _ in batch]
        with store.connect(read_only=True) as con:
            got = con.execute(f'SELECT * FROM lake."{table}" AT (VERSION => {int(snapshot)}) '
                              f"WHERE board = $board AND players = $players AND list_contains($entries, entry_id)",
                              {"board": board, "players": players, "entries": entries}).to_arrow_table()
        where = {e: i for i, e in enumerate(got.column("entry_id").to_pylist())}
        missing = [g for g, e, _ in batch if e not in where]
        if missing:
            raise LookupError(f"read_games: {len(missing)} game(s) not in lake.{table} at snapshot {snapshot}, "
                              f"e.g. {missing[:3]}")
        yield got.take([where[e] for e in entries])


def sample_set_id_for(board: str, players: int, snapshot: int, config: dict, run_id: Optional[str]) -> str:
    blob = canonical_json({"board": board, "players": players, "snapshot": snapshot, "config": config, "run": run_id})
    return "ss-" + hashlib.sha256(blob.encode()).hexdigest()[:20]


def write_sample_set(store: LakeStore, *, board: str, players: int, games_snapshot: int, games: list,
                     samples, config: dict, run_id: Optional[str], code_version: str,
                     npz_path: Optional[str] = None, npz_sha256: Optional[str] = None,
                     cpu_seconds: Optional[float] = None) -> tuple:
    """Record a sample set, its games (``[(game_id, entry_id)]``) and its samples in one
    commit; returns ``(sample_set_id, snapshot)``.  ``samples``: an Arrow table, or a
    list of Parquet files of ``nn.samples.SAMPLE_SCHEMA`` taken in that order (a big
    board's set is built a batch of games at a time and never held whole).
    ``cpu_seconds``: what building it cost, kept in the commit's extra info
    (:func:`sample_set_cpu_seconds`)."""
    import pyarrow.parquet as pq

    sid = sample_set_id_for(board, players, games_snapshot, config, run_id)
    parts = None if isinstance(samples, pa.Table) else [str(f) for f in samples]
    n = samples.num_rows if parts is None else sum(pq.ParquetFile(f).metadata.num_rows for f in parts)
    meta = {"sample_set_id": sid, "board": board, "players": players, "games_snapshot": games_snapshot,
            "games": len(games), "samples": n, "config": canonical_json(config),
            "code_version": code_version, "npz_path": npz_path, "npz_sha256": npz_sha256, "run_id": run_id,
            "created_at": _now()}
    if parts is None:
        extra = pa.table({"sample_set_id": [sid] * n, "board": [board] * n,
                          "players": pa.array([players] * n, pa.int32())})
        for name in extra.column_names:
            if name in samples.column_names:
                samples = samples.drop_columns([name])
            samples = samples.append_column(name, extra.column(name))

    def insert(con):
        if con.execute("SELECT count(*) FROM lake.sample_sets WHERE sample_set_id = ?", [sid]).fetchone()[0]:
            return "exists"  # the same run wrote it before a crash: nothing to add
        append(con, "sample_sets", [meta])
        append(con, "sample_set_games", [{"sample_set_id": sid, "board": board, "players": players,
                                          "game_id": g, "entry_id": e} for g, e in games])
        if parts is None:
            append(con, "samples", samples)
        elif parts:
            # the parts hold the sample columns only (nn.samples.SAMPLE_SCHEMA)
            con.execute("INSERT INTO lake.samples BY NAME SELECT *, $sid AS sample_set_id, $board AS board, "
                        "CAST($players AS INTEGER) AS players FROM read_parquet($files)",
                        {"sid": sid, "board": board, "players": players, "files": parts})
        return "written"

    _, snap = store.write(insert, f"sample set {sid} ({board}|{players})", cpu_extra_info(run_id, cpu_seconds))
    return sid, snap


def sample_set_cpu_seconds(store: LakeStore, sample_set_id: str) -> float:
    """The CPU seconds that building sample set ``sample_set_id`` cost, as its commit
    recorded them (0 when it recorded none): a loop generation resumed after its sample
    set was built counts them with its selfplay."""
    return recorded_cpu_seconds(store, f"sample set {sample_set_id} (%")


def sample_set(store: LakeStore, board: str, players: int, run_id: Optional[str] = None) -> Optional[dict]:
    """The sample set a run wrote for a partition, else the partition's newest."""
    rows = store.query(
        "SELECT * FROM lake.sample_sets WHERE board = ? AND players = ? "
        "ORDER BY (run_id = ?) DESC NULLS LAST, created_at DESC LIMIT 1", [board, players, run_id or ""]).to_pylist()
    return rows[0] if rows else None


def sample_set_by_id(store: LakeStore, sample_set_id: str) -> Optional[dict]:
    rows = store.query("SELECT * FROM lake.sample_sets WHERE sample_set_id = ?", [sample_set_id]).to_pylist()
    return rows[0] if rows else None


def sample_set_stats(store: LakeStore, sample_set_id: str) -> dict:
    """``{samples, searched (share with a search target), legal (mean legal moves)}`` of a sample set."""
    return store.query("SELECT count(*) AS samples, avg(CAST(has_search_policy AS DOUBLE)) AS searched, "
                       "avg(len(legal)) AS legal FROM lake.samples WHERE sample_set_id = ?",
                       [sample_set_id]).to_pylist()[0]


# A sample set's rows in ``nn.samples.SAMPLE_SCHEMA`` (without the set and partition columns).
_SAMPLE_SET_ROWS = "SELECT * EXCLUDE (sample_set_id, board, players) FROM lake.samples WHERE sample_set_id = ?"


def sample_set_samples(store: LakeStore, sample_set_id: str) -> pa.Table:
    """A sample set's rows in ``nn.samples.SAMPLE_SCHEMA`` (without the set and partition columns)."""
    return store.query(_SAMPLE_SET_ROWS, [sample_set_id])


def sample_set_batches(store: LakeStore, sample_set_id: str, rows: int = 2048) -> Iterator[pa.RecordBatch]:
    """A sample set's rows as :func:`sample_set_samples` has them, in record batches of
    at most ``rows`` positions, read as they are consumed: a big board's set is never
    held whole (its legal moves under every symmetry run to gigabytes)."""
    if rows < 1:
        raise ValueError(f"rows: expected a positive number of positions per batch, got {rows}")
    with store.connect(read_only=True) as con:
        yield from con.execute(_SAMPLE_SET_ROWS, [sample_set_id]).to_arrow_reader(rows)


def record_row(store: LakeStore, table: str, rows: list, message: str, run_id: Optional[str] = None) -> int:
    """Append rows (a model, its calibration, an Elo table ...) in one commit."""
    for r in rows:
        r.setdefault("created_at", _now())
        r.setdefault("run_id", run_id)
        for k, v in list(r.items()):
            if isinstance(v, (dict, list)):
                r[k] = json.dumps(v, sort_keys=True, default=str)
    _, snap = store.write(lambda con: append(con, table, rows), message, {"run_id": run_id})
    return snap


def record_model(store: LakeStore, *, board: str, players: int, model_id: str, path: str, sample_set_id: str,
                 samples: int, history: list, best: dict, meta: dict, config: dict, code_version: str,
                 run_id: Optional[str] = None) -> dict:
    """The ``lake.models`` row of a trained checkpoint: what it learned from (its sample
    set), its training history's first and last figures and its saved held-out
    evaluation ``best``; ``meta`` is the checkpoint's metadata (features, best epoch).
    A model already recorded is not recorded twice (a resumed step).  Returns the row."""
    old = store.query("SELECT * FROM lake.models WHERE model_id = ?", [model_id]).to_pylist()
    if old:
        return old[0]
    row = {
        "model_id": model_id, "board": board, "players": players, "path": path, "sample_set_id": sample_set_id,
        "samples": samples, "epochs": len(history), "train_loss": (history[-1].get("train") or {}).get("loss"),
        "val_loss": best["loss"], "val_top1": best["top1"], "val_value_mse": best["value_mse"],
        "initial_val_loss": history[0]["heldout"]["loss"], "config": config, "code_version": code_version,
        "features": meta["features"], "best_epoch": str(meta["best_epoch"]), "val_policy_ce": best["policy_ce"],
        "val_policy_ce_uniform": best["policy_ce_uniform"],
        "val_policy_target_entropy": best.get("policy_target_entropy"),
        "val_policy_gap_closed": best.get("policy_gap_closed"), "val_value_mse_zero": best["value_mse_zero"],
        "val_value_ece": best.get("value_ece"),
    }
    record_row(store, "models", [dict(row)], f"model {model_id} for {board}|{players}", run_id)
    return row


__all__ = ["read_games", "read_partition", "unsampled_games", "record_model", "record_row", "sample_set", "sample_set_batches", "sample_set_by_id", "sample_set_samples", "sample_set_stats", "sample_set_cpu_seconds", "sample_set_id_for", "write_sample_set"]
