"""Games the pipeline generates itself (selfplay), written to the lake."""

from __future__ import annotations

from typing import Optional

from .io import append
from .records import convert_record
from .store import LakeStore, cpu_extra_info, recorded_cpu_seconds

SOURCE_KEY = "selfplay"


def write_generated(store: LakeStore, records: list, run_id: Optional[str] = None,
                    cpu_seconds: Optional[float] = None) -> dict:
    """Append generated game records to ``lake.games`` in one commit.

    Generated ids are unique by construction (``game_id_for``), so a row whose
    ``entry_id`` is already in the lake is the same game generated again (a rerun after
    a crash, or the same config and inputs): it is skipped, never doubled.
    ``cpu_seconds``: what playing them cost, kept in the commit's extra info with the
    run id (:func:`commit_cpu_seconds` reads it back), so the CPU of games a stopped
    process landed is not lost to the process that resumes the work."""
    if not records:
        raise ValueError("write_generated: no records")
    converted = [convert_record(r, source="selfplay", source_key=SOURCE_KEY, source_name=f"selfplay run {run_id}",
                                run_id=run_id, require_finished=False) for r in records]

    def insert(con):
        ids = [g["entry_id"] for g in converted]
        have = {r[0] for r in con.execute("SELECT entry_id FROM lake.games WHERE list_contains(?, entry_id)",
                                          [ids]).fetchall()}
        fresh = [g for g in converted if g["entry_id"] not in have]
        append(con, "games", fresh)
        return {"games": len(fresh), "already_in_lake": len(converted) - len(fresh),
                "moves": sum(g["length"] for g in fresh),
                "partitions": sorted({f"{g['board']}|{g['players']}" for g in converted})}

    out, snap = store.write(insert, f"selfplay: {len(records)} games", cpu_extra_info(run_id, cpu_seconds))
    out["snapshot"] = snap
    return out


def commit_cpu_seconds(store: LakeStore, run_id: str, exclude: tuple = ()) -> float:
    """CPU seconds recorded by the selfplay commits of ``run_id`` (:func:`write_generated`),
    leaving out the snapshots in ``exclude``; commits without a figure count 0."""
    return recorded_cpu_seconds(store, "selfplay:%", run_id, exclude)


__all__ = ["commit_cpu_seconds", "write_generated"]
