"""The lakehouse: DuckLake tables under one storage root (see ``store.py``).

Public surface::

    from ringrift_ml.lake import LakeStore, connect
    store = LakeStore.open("storage")                    # embedded SQLite catalog by default
    with connect("storage") as con:                       # read-only DuckDB connection, lake attached
        con.sql("SELECT board, count(*) FROM lake.games_merged GROUP BY board")

Modules: ``store`` (opening, transactions with retries, snapshots), ``schema`` (the
tables), ``records`` (game identity, validation by replay, rows), ``landing`` (the
landing zone, its ledger and audit), ``generated`` (selfplay games), ``merge`` (SQL
transforms of ``dbt_like_sql/``), ``lineage`` (sample sets and what trained on them),
``samples`` (training samples of ``games`` rows).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

from .records import canonical_json, convert_record, game_id_for, move_hash, row_to_record
from .schema import GAMES_SCHEMA, SCHEMA_VERSION, TABLES, VIEWS
from .store import LakeError, LakeStore


@contextlib.contextmanager
def connect(root, catalog: Optional[str] = None, read_only: bool = True) -> Iterator:
    """A DuckDB connection with the lake of ``root`` attached as ``lake`` (read-only by
    default: readers never block the pipeline)."""
    with LakeStore.open(Path(root), catalog).connect(read_only=read_only, fresh=True) as con:
        yield con


__all__ = [
    "GAMES_SCHEMA",
    "LakeError",
    "LakeStore",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "canonical_json",
    "connect",
    "convert_record",
    "game_id_for",
    "move_hash",
    "row_to_record",
]
