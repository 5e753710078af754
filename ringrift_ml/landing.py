"""The landing zone: game records that arrive from outside the pipeline.

A file in ``<storage>/landing/`` is either JSON Lines of game records (this
project's record format, as ``ringrift selfplay`` writes) or Parquet in the lake's
games schema.  Every record is validated — fields, partition, and a full replay
through the rules engine that must reproduce the recorded winner.  A valid file is
staged into the lake as ``lake/games|moves/.../landed-<name>.parquet`` (one file
per partition it touches) and moved to ``landing/processed/``; a file with any
invalid record moves whole to ``quarantine/`` beside a ``.reason.json`` sidecar.
Nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Optional

from . import lake
from .rules import BOARD_TYPES
from .rules.records import replay_record

SUFFIXES = (".jsonl", ".parquet")


@dataclasses.dataclass
class IngestResult:
    file: str
    partitions: list  # [(board, players)] staged
    games: int = 0
    quarantined: Optional[str] = None  # path of the quarantined file
    reason: Optional[str] = None


def pending(root: Path) -> list:
    """Landing files waiting to be ingested, oldest first."""
    d = Path(root) / "landing"
    if not d.is_dir():
        return []
    files = [p for p in d.iterdir() if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def source_name(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)
    return f"landed-{stem}"


def _read(path: Path) -> list:
    if path.suffix == ".jsonl":
        out = []
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"line {i}: not JSON ({e.msg})") from None
        return out
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a broken file
        raise ValueError(f"not a readable Parquet file ({e})") from None
    missing = [c for c in ("game_id", "board", "players", "moves_json", "winner", "rules_options")
               if c not in table.column_names]
    if missing:
        raise ValueError(f"Parquet lacks lake games columns {missing}")
    return [lake.row_to_record(row) for row in table.to_pylist()]


def validate_record(rec, where: str) -> None:
    """Raise ValueError naming the record and the reason if ``rec`` is not a valid finished game."""
    if not isinstance(rec, dict):
        raise ValueError(f"{where}: expected a JSON object")
    gid = rec.get("gameId")
    if not isinstance(gid, str) or not gid:
        raise ValueError(f"{where}: gameId missing or not a string")
    where = f"{where} (game {gid})"
    if rec.get("boardType") not in BOARD_TYPES:
        raise ValueError(f"{where}: boardType {rec.get('boardType')!r} is not one of {', '.join(BOARD_TYPES)}")
    if rec.get("numPlayers") not in (2, 3, 4):
        raise ValueError(f"{where}: numPlayers {rec.get('numPlayers')!r} is not 2, 3 or 4")
    if not isinstance(rec.get("moves"), list) or not rec["moves"]:
        raise ValueError(f"{where}: moves missing or empty")
    verdict = replay_record(rec, where)
    if not verdict.ok:
        raise ValueError(f"{where}: replay failed: {verdict.message}")


def ingest(root: Path, path: Path) -> IngestResult:
    """Validate one landing file and stage it into the lake, or quarantine it."""
    root, path = Path(root), Path(path)
    try:
        recs = _read(path)
        if not recs:
            raise ValueError("no records")
        for i, rec in enumerate(recs, 1):
            validate_record(rec, f"record {i}")
        seen = set()
        for rec in recs:
            if rec["gameId"] in seen:
                raise ValueError(f"game id {rec['gameId']!r} appears twice in the file")
            seen.add(rec["gameId"])
    except (ValueError, OSError, KeyError, TypeError) as e:
        return _quarantine(root, path, str(e))
    by_part: dict = {}
    for rec in recs:
        by_part.setdefault((rec["boardType"], int(rec["numPlayers"])), []).append(rec)
    source = source_name(path)
    for part_recs in by_part.values():
        lake.write_games(root, part_recs, source)
    done = root / "landing" / "processed"
    done.mkdir(parents=True, exist_ok=True)
    os.replace(path, done / path.name)
    return IngestResult(str(path), sorted(by_part), games=len(recs))


def _quarantine(root: Path, path: Path, reason: str) -> IngestResult:
    q = root / "quarantine"
    q.mkdir(parents=True, exist_ok=True)
    dest = q / path.name
    if dest.exists():  # keep earlier quarantined files: never overwrite evidence
        dest = q / f"{path.stem}.{int(time.time() * 1000)}{path.suffix}"
    os.replace(path, dest)
    sidecar = dest.with_name(dest.name + ".reason.json")
    sidecar.write_text(json.dumps({"file": path.name, "reason": reason, "quarantined_at": time.time()}, indent=1))
    return IngestResult(str(path), [], quarantined=str(dest), reason=reason)
