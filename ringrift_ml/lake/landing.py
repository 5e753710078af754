"""The landing zone: game records that arrive from outside the pipeline.

Where a file goes, step by step (every step is safe to repeat after a crash):

1. **Arrival.**  A writer puts a file into ``<root>/landing/``: JSON Lines of game
   records (``.jsonl``), one record or a list of records (``.json``, at most
   ``MAX_JSON_BYTES``), or Parquet in the lake's games schema (``.parquet``); suffixes
   are matched case-insensitively.  Write it under a name ending in ``.partial`` and
   rename it when complete; a ``.partial`` file is never touched.
2. **Look.**  :func:`observe` looks at the zone without reading or moving any file.
   A file is *stable* when its size, modification time and inode are unchanged since
   the previous look; only stable files move on.  Anything that is not a regular file
   with a known suffix (a symbolic link, whose target is never read; a hidden file; a
   directory; an unknown suffix) is to be quarantined with the reason.  The Dagster
   sensor only observes; :func:`settle`, in a run, stages and quarantines what it saw
   (:func:`scan` does both at once for the shell).
3. **Staging.**  :func:`stage` hashes a stable file (streaming) and renames it to
   ``<root>/lake/incoming/<sha256><suffix>``: content-addressed, so nothing is ever
   overwritten; a file whose content was seen before is recorded as a duplicate and
   removed.  Every step appends to ``lake.landing_events``.
4. **Ingestion.**  :func:`ingest` reads a staged file in bounded batches (memory does
   not grow with the file), validates every record by replaying it
   (:func:`~ringrift_ml.lake.records.convert_record`) and writes its games as Parquet
   files (one per partition) under the lake's data path; one small lake transaction
   then registers those files and the ``ingested`` event together, so the whole file
   appears at once or not at all.  Any error - a bad record,
   a game id that already names a different game, an unreadable file, any exception -
   rolls that transaction back and quarantines the whole file under
   ``<root>/quarantine/<sha256><suffix>`` beside ``<...>.reason.json``; the zone
   moves on.  After the commit the file moves to ``<root>/lake/files/``.
5. **Audit.**  :func:`audit` reconciles every file ever landed (by content hash) with
   the games in the lake and the files in quarantine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import stat as _stat
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

from ..atomic import write_text
from .io import append
from .layout import Layout
from .records import convert_record
from .schema import GAMES_SCHEMA
from .store import LakeError, LakeStore

SUFFIXES = (".jsonl", ".json", ".parquet")
PARTIAL = ".partial"
MAX_JSON_BYTES = 64 << 20
BATCH_RECORDS = 1000
MAX_LINE_BYTES = 64 << 20


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def landing_dir(root: Path) -> Path:
    return Layout(root).landing


def incoming_dir(root: Path) -> Path:
    return Layout(root).incoming


def files_dir(root: Path) -> Path:
    return Layout(root).landed_files


def quarantine_dir(root: Path) -> Path:
    return Layout(root).quarantine


def suffix_of(name: str) -> Optional[str]:
    low = name.lower()
    for s in SUFFIXES:
        if low.endswith(s) and len(low) > len(s):
            return s
    return None


@dataclasses.dataclass
class Look:
    """What :func:`scan` saw."""

    stable: list  # Paths ready to stage
    waiting: list  # names seen for the first time or still changing, and .partial files
    rejected: list  # (name, reason) quarantined at once
    looks: dict  # name -> [size, mtime_ns, inode] for the next scan


def observe(root: Path, previous: Optional[dict] = None) -> Look:
    """Look at the landing zone without changing or reading anything (step 2): which
    files are stable since ``previous`` (``Look.looks`` of an earlier call), which are
    still changing, and which entries are to be quarantined (``rejected``: name and
    reason, nothing moved yet)."""
    d = landing_dir(root)
    previous = previous or {}
    out = Look([], [], [], {})
    if not d.is_dir():
        return out
    for entry in sorted(os.scandir(d), key=lambda e: e.name):
        name = entry.name
        st = entry.stat(follow_symlinks=False)
        reason = None
        if _stat.S_ISLNK(st.st_mode):
            reason = "a symbolic link: landing takes regular files only, and a link's target is never read"
        elif name.endswith(PARTIAL):
            out.waiting.append(name)
            continue
        elif _stat.S_ISDIR(st.st_mode):
            reason = "a directory: landing takes files only"
        elif not _stat.S_ISREG(st.st_mode):
            reason = "not a regular file"
        elif name.startswith("."):
            reason = f"a hidden file; write a file as '<name>{PARTIAL}' and rename it when complete"
        elif suffix_of(name) is None:
            reason = f"unknown suffix: landing takes {', '.join(SUFFIXES)} (any case)"
        if reason is not None:
            out.rejected.append((name, reason))
            continue
        look = [st.st_size, st.st_mtime_ns, st.st_ino]
        out.looks[name] = look
        if previous.get(name) == look:
            out.stable.append(Path(entry.path))
        else:
            out.waiting.append(name)
    return out


def settle(store: LakeStore, stable: dict, rejected: list, run_id: Optional[str] = None) -> tuple:
    """Act on an earlier :func:`observe` (steps 2-3, in a run): stage each file of
    ``stable`` (``{name: look}``) whose look is still the same, quarantine each entry
    of ``rejected`` (names) that is still there for the same kind of reason.  A file
    that changed meanwhile is left for a later look.  Returns ``(staged, rejected)``:
    :class:`Staged` values and ``(name, reason)`` pairs."""
    now = observe(store.root, stable)
    still = {p.name for p in now.stable}
    staged = [stage(store, landing_dir(store.root) / name, run_id) for name in sorted(stable) if name in still]
    reasons = dict(now.rejected)
    out = [(name, _reject(store, landing_dir(store.root) / name, reasons[name], run_id))
           for name in sorted(set(rejected)) if name in reasons]
    return staged, out


def scan(store: LakeStore, previous: Optional[dict] = None, run_id: Optional[str] = None) -> Look:
    """:func:`observe`, then quarantine what it rejects at once (the shell's path:
    ``ringrift lake ingest``)."""
    landing_dir(store.root).mkdir(parents=True, exist_ok=True)
    out = observe(store.root, previous)
    out.rejected = [(name, _reject(store, landing_dir(store.root) / name, reason, run_id))
                    for name, reason in out.rejected]
    return out


def _reject(store: LakeStore, path: Path, reason: str, run_id: Optional[str]) -> str:
    """Quarantine something that is not read (a link, a hidden file ...): it is moved
    as it is, under a name derived from its own name and the time."""
    tag = hashlib.sha256(f"{path.name}\0{time.time_ns()}".encode()).hexdigest()
    qd = quarantine_dir(store.root)
    qd.mkdir(parents=True, exist_ok=True)
    dest = qd / f"unread-{tag[:24]}"
    os.replace(path, dest)
    _write_reason(dest, path.name, reason, None)
    store.write(lambda con: append(con, "landing_events", [_event(f"unread:{tag}", path.name, None, "quarantined",
                                                                  reason, 0, 0, 0, [], str(dest), run_id)]),
                f"quarantine {path.name}")
    return reason


def _write_reason(dest: Path, name: str, reason: str, sha: Optional[str]) -> None:
    write_text(dest.with_name(dest.name + ".reason.json"),
               json.dumps({"file": name, "sha256": sha, "reason": reason, "quarantined_at": time.time()}, indent=1))


def _event(sha, name, size, event, reason, records, in_lake, quarantined, partitions, stored, run_id) -> dict:
    return {"file_hash": sha, "name": name, "size": size, "event": event, "reason": reason, "records": records,
            "in_lake": in_lake, "quarantined": quarantined, "partitions": json.dumps(sorted(partitions)),
            "stored_path": stored, "run_id": run_id, "event_at": _now()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_state(store: LakeStore, sha: str) -> Optional[dict]:
    """A landed file's latest ledger event (``lake.landed_files``: event, stored path,
    records ...), or None for a file the ledger has never seen."""
    rows = store.query("SELECT * FROM lake.landed_files WHERE file_hash = ?", [sha]).to_pylist()
    return rows[0] if rows else None


def _ledger(store: LakeStore, sha: str) -> list:
    rows = store.query("SELECT event, name FROM lake.landing_events WHERE file_hash = ? ORDER BY event_at", [sha]).to_pylist()
    return rows


@dataclasses.dataclass
class Staged:
    sha: str
    path: Optional[Path]  # the staged file, None for a duplicate
    name: str
    duplicate: bool = False


def stage(store: LakeStore, path: Path, run_id: Optional[str] = None) -> Staged:
    """Content-address a stable landing file (step 3)."""
    path = Path(path)
    sha = sha256_file(path)
    size = path.stat().st_size
    suffix = suffix_of(path.name)
    events = {r["event"] for r in _ledger(store, sha)}
    target = incoming_dir(store.root) / f"{sha}{suffix}"
    if events or target.exists():
        # The same bytes arrived before (under this or another name): nothing to add -
        # once the earlier copy is verified to be where the ledger says.  Otherwise the
        # file stays in the landing zone and the error says why (nothing is discarded
        # on the ledger's word alone).
        if not target.exists():
            problem = earlier_copy_problem(store, sha)
            if problem:
                raise LakeError(f"landing {path.name}: the ledger has seen this content before, but {problem}; "
                                "the file stays in the landing zone")
        os.remove(path)
        _record_duplicate(store, sha, path.name, size, "same content as an earlier file", run_id)
        return Staged(sha, None, path.name, duplicate=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    store.write(lambda con: append(con, "landing_events", [_event(sha, path.name, size, "staged", None, 0, 0, 0, [],
                                                                  str(target), run_id)]), f"stage {path.name}")
    return Staged(sha, target, path.name)


def _record_duplicate(store: LakeStore, sha: str, name: str, size: int, reason: str, run_id) -> int:
    """The ledger's ``duplicate`` event of a file whose bytes add nothing; its snapshot."""
    return store.write(lambda con: append(con, "landing_events", [_event(
        sha, name, size, "duplicate", reason, 0, 0, 0, [], None, run_id)]), f"duplicate {name}", {"file_hash": sha})[1]


def earlier_copy_problem(store: LakeStore, sha: str) -> Optional[str]:
    """Why an earlier copy of file ``sha`` cannot stand for a new one (None: it can):
    an ingested file's games must be readable in the lake (as many as the ledger
    says), a staged or quarantined file must lie where the ledger put it."""
    state = file_state(store, sha)
    if state is None:
        return "no earlier copy was staged, ingested or quarantined"
    if state["event"] == "ingested":
        try:
            # The sum reads the rows' data files (a bare count may come from the catalog's
            # statistics), so a missing or unreadable file raises here.
            row = store.query("SELECT count(*) AS n, sum(length(game_id) + length(moves_json)) AS b FROM lake.games "
                              "WHERE source_file = ?", [sha]).to_pylist()[0]
        except LakeError as e:
            return f"its games are recorded in the lake but cannot be read ({e})"
        want = int(state["in_lake"] or 0)
        if row["n"] < want:
            return f"the lake holds {row['n']} of the {want} games the ledger recorded for it"
        return None
    stored = state.get("stored_path")
    if stored and not Path(stored).exists():
        return f"its {state['event']} copy {stored} is missing"
    return None


def pending(store: LakeStore) -> list:
    """Staged files not ingested yet, oldest first (also those a crash left behind)."""
    d = incoming_dir(store.root)
    if not d.is_dir():
        return []
    files = [p for p in d.iterdir() if p.is_file() and not p.name.startswith(".") and suffix_of(p.name)]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


# ---- reading a file in bounded batches ---------------------------------------------------
def _records(path: Path) -> Iterator[tuple]:
    """``(record number, record)`` of a staged file, one at a time."""
    suffix = suffix_of(path.name)
    if suffix == ".jsonl":
        with open(path, "rb") as fh:
            n = 0
            for i, raw in enumerate(_lines(fh), 1):
                if not raw.strip():
                    continue
                n += 1
                try:
                    rec = json.loads(raw)
                except ValueError as e:
                    raise ValueError(f"line {i}: not JSON ({e})") from None
                yield i, rec
    elif suffix == ".json":
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"a .json document over {MAX_JSON_BYTES >> 20} MB; land large files as JSON Lines")
        with open(path, "rb") as fh:
            doc = json.loads(fh.read())
        recs = doc if isinstance(doc, list) else [doc]
        for i, rec in enumerate(recs, 1):
            yield i, rec
    else:
        import pyarrow.parquet as pq

        from .records import row_to_record

        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for a broken file
            raise ValueError(f"not a readable Parquet file ({type(e).__name__}: {e})") from None
        need = ("game_id", "board", "players", "moves_json", "winner", "rules_options")
        missing = [c for c in need if c not in pf.schema_arrow.names]
        if missing:
            raise ValueError(f"Parquet lacks the lake's games columns {missing}")
        i = 0
        for batch in pf.iter_batches(batch_size=256):
            for row in batch.to_pylist():
                i += 1
                try:
                    rec = row_to_record(row)
                except (ValueError, TypeError, KeyError) as e:
                    raise ValueError(f"row {i}: {type(e).__name__}: {e}") from None
                yield i, rec


def _lines(fh) -> Iterator[bytes]:
    """Lines of a binary file, refusing any line longer than ``MAX_LINE_BYTES``."""
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise ValueError(f"a line longer than {MAX_LINE_BYTES >> 20} MB")
        yield line


def count_records(path: Path) -> int:
    """Records in a file that could not be ingested, counted without parsing them
    (for the audit); 0 when even that is impossible."""
    try:
        suffix = suffix_of(path.name)
        if suffix == ".jsonl":
            with open(path, "rb") as fh:
                return sum(1 for line in _lines(fh) if line.strip())
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        with open(path, "rb") as fh:
            doc = json.loads(fh.read())
        return len(doc) if isinstance(doc, list) else 1
    except Exception:  # noqa: BLE001 - a count of an unreadable file is best effort
        return 0


# ---- ingestion -----------------------------------------------------------------------
@dataclasses.dataclass
class IngestResult:
    file: str  # the name it arrived under
    sha: str
    status: str  # ingested | quarantined | done-before | duplicate (ingested meanwhile by another host)
    games: int = 0
    partitions: list = dataclasses.field(default_factory=list)  # ["board|players"]
    reason: Optional[str] = None
    stored_path: Optional[str] = None
    snapshot: Optional[int] = None
    seconds: float = 0.0

    def line(self) -> str:
        if self.status == "quarantined":
            return f"QUARANTINED {self.file} ({self.sha[:12]}): {self.reason}"
        return (f"{self.status.upper():11s} {self.file} ({self.sha[:12]}): {self.games} games"
                f"{' in ' + ', '.join(self.partitions) if self.partitions else ''}")


class _Rejected(Exception):
    """A file that must be quarantined (the message is the reason)."""


def ingest(store: LakeStore, path: Path, run_id: Optional[str] = None, batch: int = BATCH_RECORDS) -> IngestResult:
    """Ingest one staged file (step 4).  Never raises for bad data: the file ends in
    the lake or in quarantine, and the result says which."""
    path = Path(path)
    t0 = time.time()
    sha = path.name[: -len(suffix_of(path.name))]
    events = _ledger(store, sha)
    name = next((e["name"] for e in events if e["event"] == "staged"), path.name)
    done = {e["event"] for e in events} & {"ingested", "quarantined"}
    if done:  # a crash after the commit: only the file's move is left to do
        status = done.pop()
        stored = _finish(store.root, path, status)
        return IngestResult(name, sha, "done-before", stored_path=str(stored), seconds=time.time() - t0)
    size = path.stat().st_size
    stored = files_dir(store.root) / path.name

    try:
        files, games, parts = _convert_file(store, path, sha, name, run_id, batch)
    except _Rejected as e:
        return _quarantine(store, path, sha, name, size, str(e)[:2000], run_id, t0)

    def register(con):
        # One small transaction makes the whole file visible at once: its Parquet
        # files (written above, one per partition, memory flat in the file's size)
        # join lake.games together with the ledger event.
        _one_ingest_at_a_time(con)
        if con.execute("SELECT count(*) FROM lake.landing_events WHERE file_hash = ? AND event = 'ingested'",
                       [sha]).fetchone()[0]:
            raise _IngestedElsewhere()
        for f in files:
            con.execute("CALL ducklake_add_data_files('lake', 'games', ?)", [str(f)])
        clash = _id_clashes(con, sha)
        if clash:
            raise _Rejected(clash)
        append(con, "landing_events", [_event(sha, name, size, "ingested", None, games, games, 0, parts, str(stored),
                                              run_id)])

    try:
        _, snap = store.write(register, f"ingest {name}", {"file_hash": sha, "run_id": run_id})
    except _Rejected as e:
        _remove(files)
        return _quarantine(store, path, sha, name, size, str(e)[:2000], run_id, t0)
    except _IngestedElsewhere:
        # Another host of this lake staged the same bytes at the same time and
        # committed them first: its games stand, this copy adds nothing.
        _remove(files)
        snap = _record_duplicate(store, sha, name, size, "same content ingested meanwhile by another host of this lake",
                                 run_id)
        os.remove(path)
        return IngestResult(name, sha, "duplicate", snapshot=snap, seconds=time.time() - t0)
    _finish(store.root, path, "ingested")
    return IngestResult(name, sha, "ingested", games=games, partitions=sorted(parts), stored_path=str(stored),
                        snapshot=snap, seconds=time.time() - t0)


class _IngestedElsewhere(Exception):
    """The file's content was ingested by another writer after this one staged it."""


def _one_ingest_at_a_time(con) -> None:
    """Make concurrent ingest commits conflict.  DuckLake merges concurrent appends
    without a conflict, so two hosts that staged the same bytes at once would both add
    its games; two transactions that rewrite the same row do conflict, and the loser
    is retried from the start (``LakeStore.write``), when it sees the winner's ledger
    event.  Every ingest rewrites the lake's identity row (values unchanged): ingest
    commits land one at a time, other writers are not held up."""
    con.execute("UPDATE lake.lake_info SET lake_id = lake_id")


def _convert_file(store: LakeStore, path: Path, sha: str, name: str, run_id: Optional[str], batch: int) -> tuple:
    """Validate every record of a staged file and write its games as one Parquet file
    per partition under the lake's data path (not yet registered).  Returns
    ``(files, games, partitions)``; raises ``_Rejected`` (having removed the files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writers: dict = {}  # "board|players" -> (ParquetWriter, path, buffered rows)
    ids: dict = {}
    games = 0

    def flush(key):
        w, _, buf = writers[key]
        if buf:
            w.write_table(pa.Table.from_pylist(buf, schema=GAMES_SCHEMA))
            buf.clear()

    try:
        for i, rec in _records(path):
            where = f"record {i}"
            try:
                g = convert_record(rec, source="landed", source_key=f"landed:{sha[:16]}", source_file=sha,
                                   source_name=name, run_id=run_id)
            except ValueError as e:
                raise _Rejected(f"{where}: {e}") from None
            if g["game_id"] in ids:
                raise _Rejected(f"{where}: game id {g['game_id']!r} appears twice in the file "
                                f"(records {ids[g['game_id']]} and {i})")
            ids[g["game_id"]] = i
            key = f"{g['board']}|{g['players']}"
            if key not in writers:
                d = store.data_path / "main" / "games" / f"board={g['board']}" / f"players={g['players']}"
                d.mkdir(parents=True, exist_ok=True)
                # a name of this attempt's own: two hosts may convert the same file at
                # once into one shared data path, and neither may overwrite the other's
                f = d / f"landed-{sha[:32]}-{uuid.uuid4().hex[:12]}.parquet"
                writers[key] = (pq.ParquetWriter(f, GAMES_SCHEMA), f, [])
            writers[key][2].append(g)
            games += 1
            if len(writers[key][2]) >= batch:
                flush(key)
        if games == 0:
            raise _Rejected("no records")
        for key in writers:
            flush(key)
    except BaseException as e:
        for w, _, _ in writers.values():
            with contextlib.suppress(Exception):
                w.close()
        _remove(f for _, f, _ in writers.values())
        if isinstance(e, _Rejected):
            raise
        if isinstance(e, RecursionError):
            raise _Rejected("a record nested too deeply to read") from None
        if isinstance(e, Exception):  # anything a hostile file provokes quarantines it
            raise _Rejected(f"{type(e).__name__}: {e}") from None
        raise
    for w, _, _ in writers.values():
        w.close()
    return [f for _, f, _ in writers.values()], games, set(writers)


def _remove(paths) -> None:
    for f in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(f)


def _quarantine(store: LakeStore, path: Path, sha: str, name: str, size: int, reason: str, run_id, t0) -> "IngestResult":
    records = count_records(path)
    dest = quarantine_dir(store.root) / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write_reason(dest, name, reason, sha)
    _, snap = store.write(lambda con: append(con, "landing_events", [_event(
        sha, name, size, "quarantined", reason, records, 0, records, [], str(dest), run_id)]),
        f"quarantine {name}", {"file_hash": sha})
    _finish(store.root, path, "quarantined")
    return IngestResult(name, sha, "quarantined", reason=reason, stored_path=str(dest), snapshot=snap,
                        seconds=time.time() - t0)


def _id_clashes(con, sha: str) -> Optional[str]:
    """A game id of this file that already names a different game in the lake."""
    row = con.execute(
        "SELECT n.game_id, o.source_name, o.source_file, o.run_id FROM lake.games n JOIN lake.games o "
        "ON n.game_id = o.game_id AND n.board = o.board AND n.players = o.players "
        "AND n.move_hash <> o.move_hash AND o.source_file IS DISTINCT FROM n.source_file "
        "WHERE n.source_file = ? LIMIT 1", [sha]).fetchone()
    if row is None:
        return None
    gid, other_name, other_file, other_run = row
    other = f"landed file {other_name!r} ({other_file[:12]})" if other_file else f"selfplay run {other_run}"
    return f"game id {gid!r} already names a different game in the lake, from {other}"


def _finish(root: Path, path: Path, status: str) -> Path:
    """Move a processed file out of incoming/ (idempotent)."""
    dest = (quarantine_dir(root) if status == "quarantined" else files_dir(root)) / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if dest.exists():
            os.remove(path)  # same content-addressed name: the same bytes are already there
        else:
            os.replace(path, dest)
    return dest


# ---- the whole zone -----------------------------------------------------------------
def ingest_all(store: LakeStore, run_id: Optional[str] = None, settle: float = 1.0) -> tuple:
    """Process the zone now, as the sensor-requested runs do: look twice ``settle``
    seconds apart, stage the stable files, ingest everything staged.  Returns
    ``(results, look)``."""
    first = scan(store, None, run_id)
    if first.looks and settle > 0:
        time.sleep(settle)
    look = scan(store, first.looks, run_id)
    look.rejected = first.rejected + look.rejected
    for p in look.stable:
        stage(store, p, run_id)
    results = [ingest(store, p, run_id) for p in pending(store)]
    return results, look


# ---- audit ------------------------------------------------------------------------------
def _check_data_files(store: LakeStore, out: dict) -> None:
    """Every data and delete file the catalog lists for the lake's tables must exist
    (a catalog whose files are elsewhere, or were deleted, is a finding)."""
    from .schema import TABLES

    for name in TABLES:
        try:
            rows = store.query(f"SELECT data_file, delete_file FROM ducklake_list_files('lake', '{name}')").to_pylist()
        except LakeError as e:
            out["problems"].append(f"lake.{name}: its data files cannot be listed ({e})")
            continue
        gone = [f for r in rows for f in (r["data_file"], r["delete_file"]) if f and not Path(f).exists()]
        if gone:
            out["missing_files"] += len(gone)
            out["problems"].append(f"lake.{name}: {len(gone)} of its data files are missing (e.g. {gone[0]})")


def audit(store: LakeStore) -> dict:
    """Reconcile every file ever landed with the lake and the quarantine.

    Per content hash: the records its terminal event counted, the games of that file
    actually in ``lake.games``, and whether the quarantined copy is where the ledger
    says.  ``lake_id`` names the lake audited.  ``lost`` counts records of files that
    are neither (fully) in the lake nor in quarantine, and staged files whose copy has
    vanished; ``missing_files`` the data files the catalog lists that are not there.  Whatever cannot be read is a finding
    in ``problems``, never an exception."""
    out = {"lake_id": None, "files": 0, "games": 0, "in_lake": 0, "quarantined": 0, "lost": 0, "pending": 0,
           "missing_files": 0, "problems": []}
    try:
        out["lake_id"] = store.lake_id
    except LakeError as e:
        out["problems"].append(f"the lake's identity cannot be read: {e}")
    _check_data_files(store, out)
    try:
        files = store.query("SELECT * FROM lake.landed_files").to_pylist()
        in_lake = {r["source_file"]: r["n"] for r in store.query(
            "SELECT source_file, count(*) AS n FROM lake.games WHERE source_file IS NOT NULL GROUP BY 1").to_pylist()}
    except LakeError as e:
        out["problems"].append(f"the ledger or the games cannot be read: {e}")
        return out
    for f in files:
        sha, ev = f["file_hash"], f["event"]
        out["files"] += 1
        if ev == "staged":
            if Path(f["stored_path"] or "").exists():
                out["pending"] += 1
            else:
                out["problems"].append(f"{f['name']} ({sha[:12]}): staged, but its file is gone")
            continue
        out["games"] += f["records"] or 0
        if ev == "ingested":
            have = in_lake.get(sha, 0)
            out["in_lake"] += have
            if have < f["records"]:
                out["lost"] += f["records"] - have
                out["problems"].append(f"{f['name']} ({sha[:12]}): {f['records']} records, {have} in the lake")
        elif ev == "quarantined":
            out["quarantined"] += f["records"] or 0
            if not Path(f["stored_path"] or "").exists():
                out["lost"] += f["records"] or 0
                out["problems"].append(f"{f['name']} ({sha[:12]}): quarantined, but {f['stored_path']} is gone")
    waiting = [p for p in landing_dir(store.root).iterdir()] if landing_dir(store.root).is_dir() else []
    out["pending"] += len(waiting)
    # Staged files whose ledger entry a crash prevented: still pending, not lost.
    known = {f["file_hash"] for f in files}
    out["pending"] += sum(1 for p in pending(store) if p.name[: -len(suffix_of(p.name))] not in known)
    return out


__all__ = [
    "IngestResult",
    "Look",
    "audit",
    "count_records",
    "ingest",
    "ingest_all",
    "observe",
    "settle",
    "file_state",
    "pending",
    "scan",
    "sha256_file",
    "stage",
    "suffix_of",
]
