"""Appending rows to lake tables, and reading them back."""

from __future__ import annotations

import itertools
from typing import Iterable

import pyarrow as pa

from .schema import TABLES

_NAMES = itertools.count()


def to_table(rows: list, schema: pa.Schema) -> pa.Table:
    """Rows (dicts) as an Arrow table of ``schema`` (missing keys become nulls)."""
    return pa.Table.from_pylist(rows, schema=schema)


def append(con, table: str, data) -> int:
    """Insert ``data`` (an Arrow table or a list of row dicts) into ``lake.<table>``
    inside the caller's transaction; returns the row count."""
    schema = TABLES[table][0]
    if not isinstance(data, pa.Table):
        data = to_table(list(data), schema)
    if data.num_rows == 0:
        return 0
    name = f"_append_{next(_NAMES)}"
    con.register(name, data)
    try:
        con.execute(f'INSERT INTO lake."{table}" BY NAME SELECT * FROM {name}')
    finally:
        con.unregister(name)
    return data.num_rows


def append_many(con, table: str, batches: Iterable) -> int:
    return sum(append(con, table, b) for b in batches)


__all__ = ["append", "append_many", "to_table"]
