"""The lakehouse store: DuckLake tables under one storage root, reached through DuckDB.

DuckLake keeps table data as Parquet files under ``<root>/lake/data/`` and its catalog
(tables, snapshots, file lists) in a database:

* the embedded default, a SQLite file ``<root>/lake/catalog.sqlite`` (no server; one
  writer commits at a time, so writers retry on "database is locked");
* PostgreSQL for many processes and hosts: ``catalog="postgres:dbname=... host=..."``
  (or ``$RINGRIFT_LAKE_CATALOG``); concurrent writers commit without retries.  Such a
  catalog belongs to one data path, the one it was created with: opening it from a
  storage root whose data path differs is refused with both paths named (its files
  are not there), unless the store is given that data path (``data_path=`` or
  ``$RINGRIFT_LAKE_DATA_PATH``: a directory every host mounts).  A SQLite catalog
  lives under its root and moves with it.

Every commit is a snapshot: readers see one consistent snapshot and never block the
pipeline; ``FROM lake.games AT (VERSION => n)`` reads an old one.  The extensions are
loaded from the ``duckdb-extension-*`` wheels by file path, so nothing is downloaded at
run time.

    store = LakeStore.open("storage")           # creates the tables on first use
    with store.connect(read_only=True) as con:  # a DuckDB connection, the lake attached as "lake"
        con.sql("SELECT count(*) FROM lake.games").fetchall()
    snap = store.write(lambda con: con.execute("INSERT INTO lake.x ..."), "what this commit does")
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import random
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import duckdb

from ..atomic import atomic_path

DUCKDB_VERSION = "1.5.5"
ALIAS = "lake"
DATA_PATH_ENV = "RINGRIFT_LAKE_DATA_PATH"
_DATA_PATH_MISMATCH = re.compile(r'DATA_PATH parameter "([^"]*)" does not match existing data path in the catalog '
                                 r'"([^"]*)"')
# Errors of a commit that lost a race with another writer: the transaction is retried.
_RETRYABLE = ("database is locked", "conflict", "busy", "could not serialize", "deadlock", "already exists")


class LakeError(RuntimeError):
    """The lake cannot be opened or written (names the catalog and the reason)."""


def _extension_file(package: str, name: str, entry: str) -> str:
    """Path of DuckDB extension ``name`` shipped in the wheel ``package``, under the
    file name DuckDB derives the entry point from (``<entry>.duckdb_extension``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise LakeError(f"DuckDB extension package {package!r} is not installed (pip install {package.replace('_', '-')}"
                        f"=={DUCKDB_VERSION})")
    src = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not src.is_file():
        raise LakeError(f"{package} has no extension for DuckDB {duckdb.__version__} ({src} missing); "
                        f"install duckdb=={DUCKDB_VERSION} and the matching extension wheels")
    if name == entry:
        return str(src)
    cache = Path(os.environ.get("RINGRIFT_DUCKDB_EXT_CACHE") or Path.home() / ".cache" / "ringrift-lab" / "duckdb-ext")
    dst = cache / f"v{duckdb.__version__}" / f"{entry}.duckdb_extension"
    if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    return str(dst)


# One connection per process and lake, shared through cursors (see LakeStore.connect).
_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()


def is_retryable(e: BaseException) -> bool:
    """Did a commit lose a race with another writer (so that a retry may succeed)?"""
    return isinstance(e, duckdb.Error) and any(k in str(e).lower() for k in _RETRYABLE)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class LakeStore:
    """One storage root's DuckLake (see the module docstring)."""

    def __init__(self, root: Path, catalog: Optional[str] = None, schema: Optional[str] = None,
                 data_path: Optional[Path] = None):
        self.root = Path(root).resolve()
        self.catalog = catalog or os.environ.get("RINGRIFT_LAKE_CATALOG") or "sqlite"
        # PostgreSQL only: the schema holding this lake's catalog tables, so that one
        # database can hold several lakes (tests give each its own).
        self.schema = schema or os.environ.get("RINGRIFT_LAKE_SCHEMA") or None
        if self.catalog != "sqlite" and not self.catalog.startswith("postgres:"):
            raise LakeError(f"catalog: expected 'sqlite' or 'postgres:<libpq connection string>', got {self.catalog!r}")
        shared = data_path or os.environ.get(DATA_PATH_ENV) or None
        self.data_path = Path(shared).resolve() if shared else self.root / "lake" / "data"
        self.catalog_file = self.root / "lake" / "catalog.sqlite"
        self._lake_id: Optional[str] = None

    # ---- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, catalog: Optional[str] = None, schema: Optional[str] = None,
             data_path: Optional[Path] = None) -> "LakeStore":
        """The lake of ``root``; its tables are created on first use (under a lock, so
        two first runs on a fresh root do not race)."""
        from .schema import ensure_tables

        store = cls(root, catalog, schema, data_path)
        store.data_path.mkdir(parents=True, exist_ok=True)
        with store.lock("init"):
            if store.catalog == "sqlite" and not store.catalog_file.exists():
                # WAL: readers never block the committing writer, nor it them.
                with sqlite3.connect(store.catalog_file) as db:
                    db.execute("PRAGMA journal_mode=WAL")
            store.write(ensure_tables, "create the lake's tables")
        return store

    @property
    def lake_id(self) -> Optional[str]:
        """The lake's identity (``lake.lake_info``, a UUID fixed when its tables were
        created): storage roots or catalogs with one id are one lake (or copies of it);
        different ids, different lakes (e.g. two schemas of one database).  None where
        the table is empty."""
        if self._lake_id is None:
            rows = self.query("SELECT lake_id FROM lake.lake_info ORDER BY created_at, lake_id LIMIT 1").to_pylist()
            self._lake_id = rows[0]["lake_id"] if rows else None
        return self._lake_id

    @property
    def kind(self) -> str:
        return "sqlite" if self.catalog == "sqlite" else "postgres"

    def table_counts(self, names) -> tuple:
        """``(snapshot, {name: rows})`` of tables and views, all as of the newest snapshot."""
        with self.connect(read_only=True) as con:
            snap = int(con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])
            counts = {name: int(con.execute(f'SELECT count(*) FROM lake."{name}" AT (VERSION => {snap})')
                                .fetchone()[0]) for name in names}
        return snap, counts

    def compact(self) -> None:
        """Merge the lake's small data files (DuckLake ``merge_adjacent_files``)."""
        self.write(lambda con: con.execute("CALL ducklake_merge_adjacent_files('lake')"), "compact data files")

    def describe(self) -> str:
        """The catalog without credentials (for logs and metadata)."""
        if self.kind == "sqlite":
            return f"sqlite:{self.catalog_file}"
        parts = [p for p in self.catalog[len("postgres:"):].split() if not p.startswith("password=")]
        return "postgres:" + " ".join(parts) + (f" (schema {self.schema})" if self.schema else "")

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock shared by the processes using this root (file lock)."""
        d = self.root / "lake" / "locks"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{name}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection with the lake attached as ``lake``.

        By default a cursor on this process's shared connection (loading the extensions
        costs about half a second, so it is done once per process); ``fresh=True`` opens
        a connection of its own, attached read-only when ``read_only`` (what a reader
        outside the pipeline uses)."""
        if not fresh:
            cur = self._shared().cursor()
            try:
                yield cur
            except duckdb.Error as e:
                raise LakeError(f"lake {self.describe()}: {e}") from e
            finally:
                cur.close()
            return
        con = self._open(read_only)
        try:
            yield con
        except duckdb.Error as e:
            raise LakeError(f"lake {self.describe()}: {e}") from e
        finally:
            con.close()

    def _shared(self) -> duckdb.DuckDBPyConnection:
        with _SHARED_LOCK:
            key = (os.getpid(), str(self.root), self.catalog, self.schema, str(self.data_path))
            con = _SHARED.get(key)
            if con is None:
                con = _SHARED[key] = self._open(read_only=False)
            return con

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(config={"threads": 1})
        try:
            con.execute(f"LOAD {_sql_str(_extension_file('duckdb_extension_ducklake', 'ducklake', 'ducklake'))}")
            if self.kind == "sqlite":
                con.execute(f"LOAD {_sql_str(_extension_file('duckdb_extension_sqlite', 'sqlite', 'sqlite_scanner'))}")
                target = f"ducklake:sqlite:{self.catalog_file}"
            else:
                con.execute(
                    f"LOAD {_sql_str(_extension_file('duckdb_extension_postgres', 'postgres', 'postgres_scanner'))}")
                target = f"ducklake:postgres:{self.catalog[len('postgres:'):]}"
            # SQLite, OVERRIDE_DATA_PATH: files are found under this root even when the
            # folder was moved or copied (the catalog, inside the root, stores them
            # relative to the data path).  PostgreSQL: the catalog outlives any one
            # root, and its files are under the data path it was created with; another
            # root's data path is refused (see the module docstring).
            opts = f"DATA_PATH {_sql_str(str(self.data_path) + '/')}"
            if self.kind == "sqlite":
                opts += ", OVERRIDE_DATA_PATH true"
            if self.kind == "postgres" and self.schema:
                opts += f", METADATA_SCHEMA {_sql_str(self.schema)}"
            if read_only:
                opts += ", READ_ONLY"
            self._retry(lambda: con.execute(f"ATTACH {_sql_str(target)} AS {ALIAS} ({opts})"), "attach")
        except duckdb.Error as e:
            con.close()
            m = _DATA_PATH_MISMATCH.search(str(e))
            if m:
                raise LakeError(
                    f"lake {self.describe()}: this catalog's data is under {m.group(2).rstrip('/')}, but storage root "
                    f"{self.root} would read and write it under {m.group(1).rstrip('/')}: the catalog belongs to "
                    "another storage root.  Use that root, give this one a catalog of its own (another database or "
                    f"schema), or, when {m.group(2).rstrip('/')} is a directory every host mounts, open the lake with "
                    f"that data path (${DATA_PATH_ENV}).") from e
            raise LakeError(f"lake {self.describe()}: {e}") from e
        return con

    # ---- writing -----------------------------------------------------------------------
    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], Any], message: str, extra: Optional[dict] = None,
              attempts: int = 40) -> tuple:
        """Run ``fn(con)`` in one transaction and commit it as one snapshot.

        A commit that loses a race with another writer is retried from the start, so
        ``fn`` must only write through ``con``.  Returns ``(fn's result, snapshot id)``."""
        with self.connect() as con:
            def attempt():
                con.execute("BEGIN")
                try:
                    con.execute("CALL lake.set_commit_message('ringrift-lab', ?, extra_info => ?)",
                                [message, json.dumps(extra or {}, sort_keys=True, default=str)])
                    out = fn(con)
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    raise
                snap = con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0]
                return out, int(snap)

            return self._retry(attempt, message, attempts)

    def _retry(self, fn: Callable[[], Any], what: str, attempts: int = 40) -> Any:
        delay = 0.01
        for i in range(attempts):
            try:
                return fn()
            except duckdb.Error as e:
                if i == attempts - 1 or not is_retryable(e):
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    # ---- reading -------------------------------------------------------------------------
    def snapshot(self) -> int:
        """The id of the newest snapshot."""
        with self.connect(read_only=True) as con:
            return int(con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])

    def query(self, sql: str, params: Optional[list] = None):
        """Rows of ``sql`` as an Arrow table (tables are ``lake.<name>``; an old snapshot
        reads as ``lake.<name> AT (VERSION => n)``)."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).to_arrow_table()


def drop_postgres_schema(catalog: str, schema: str) -> None:
    """Remove one lake's catalog tables from a PostgreSQL database (``DROP SCHEMA ...
    CASCADE``; its data files are left alone): what a test's private lake, or a retired
    lake, leaves behind.  ``catalog``: ``postgres:<libpq string>``."""
    if not catalog.startswith("postgres:"):
        raise LakeError(f"catalog: expected 'postgres:<libpq connection string>', got {catalog!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema or ""):
        raise LakeError(f"schema: expected a plain identifier, got {schema!r}")
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute(f"LOAD {_sql_str(_extension_file('duckdb_extension_postgres', 'postgres', 'postgres_scanner'))}")
        con.execute(f"ATTACH {_sql_str(catalog[len('postgres:'):])} AS pg (TYPE postgres)")
        con.execute(f"CALL postgres_execute('pg', 'DROP SCHEMA IF EXISTS \"{schema}\" CASCADE')")
    except duckdb.Error as e:
        raise LakeError(f"catalog {catalog.split('password=')[0].strip()}: cannot drop schema {schema}: {e}") from e
    finally:
        con.close()


def cpu_extra_info(run_id: Optional[str], cpu_seconds: Optional[float]) -> dict:
    """A commit's extra info carrying its run id and, when measured, the CPU seconds the
    committed work cost (:func:`recorded_cpu_seconds` reads them back), so the work of a
    process stopped after the commit is not lost to the one that resumes it."""
    return {"run_id": run_id, **({"cpu_seconds": round(float(cpu_seconds), 3)} if cpu_seconds is not None else {})}


def recorded_cpu_seconds(store: "LakeStore", message_like: str, run_id: Optional[str] = None,
                         exclude: tuple = ()) -> float:
    """The CPU seconds recorded (:func:`cpu_extra_info`) by the commits whose message
    matches ``message_like`` (SQL ``LIKE``) and, when given, whose run id is ``run_id``,
    leaving out the snapshots in ``exclude``; commits without a figure count 0."""
    rows = store.query("SELECT snapshot_id, commit_extra_info FROM lake.snapshots() WHERE commit_message LIKE ?",
                       [message_like]).to_pylist()
    total = 0.0
    for r in rows:
        if r["snapshot_id"] in exclude or not r["commit_extra_info"]:
            continue
        try:
            info = json.loads(r["commit_extra_info"])
        except ValueError:
            continue
        if isinstance(info, dict) and (run_id is None or info.get("run_id") == run_id):
            total += float(info.get("cpu_seconds") or 0.0)
    return total


__all__ = ["ALIAS", "DATA_PATH_ENV", "DUCKDB_VERSION", "LakeError", "LakeStore", "cpu_extra_info", "drop_postgres_schema",
           "is_retryable", "recorded_cpu_seconds"]
