"""Where the lakehouse lives.  Resolved when a run uses it, never at import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import dagster as dg

from ringrift_ml.lake import LakeStore
from ringrift_ml.lake.layout import Layout, storage_root

_STORES: dict = {}


class LakeResource(dg.ConfigurableResource):
    """The storage root and the lake's catalog.

    ``root``: if set, else ``$RINGRIFT_STORAGE``, else ``./storage``.  ``catalog``:
    ``"sqlite"`` (the embedded default, a file under the root) or
    ``"postgres:<libpq connection string>"`` for many processes and hosts; unset, it
    is ``$RINGRIFT_LAKE_CATALOG`` or ``"sqlite"``.  ``lake_schema``: on PostgreSQL, the
    schema of this lake's catalog tables (several lakes in one database); unset,
    ``$RINGRIFT_LAKE_SCHEMA`` or the database's default."""

    root: Optional[str] = None
    catalog: Optional[str] = None
    lake_schema: Optional[str] = None

    def path(self) -> Path:
        p = storage_root(self.root)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def layout(self) -> Layout:
        """Every path under the root (the one map assets use; they build none themselves)."""
        return Layout(self.path())

    def store(self) -> LakeStore:
        """The lake (opened once per process and root; tables created on first use)."""
        key = (str(self.path()), self.catalog or os.environ.get("RINGRIFT_LAKE_CATALOG") or "sqlite",
               self.lake_schema)
        if key not in _STORES:
            _STORES[key] = LakeStore.open(Path(key[0]), key[1], key[2])
        return _STORES[key]
