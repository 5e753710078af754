"""The model registry as the loop reads and writes it: the status of a generation, its
newest row, the best, and :func:`write_registry_row`.

Both the loop's steps (``run``) and the ladder's regression watch (``ladder``) read the
registry; the ladder also rolls promotions back, which the loop reacts to.  The reading
and the one writing path live here, below both, so that neither imports the other for it.
"""

from __future__ import annotations

import resource

from ..lake import LakeStore

PROMOTED, REJECTED, ROLLED_BACK, FAILED = "promoted", "rejected", "rolled_back", "failed"


def process_cpu_seconds() -> float:
    """CPU seconds of this process, its finished children (selfplay and match workers)
    and the tasks it ran on a Ray cluster (:func:`ringrift_ml.cluster.remote_cpu_seconds`)."""
    from ..cluster import remote_cpu_seconds

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + remote_cpu_seconds()


def write_registry_row(store: LakeStore, row: dict, message: str, run_id=None) -> None:
    """Commit one ``lake.model_registry`` row and record the alerts it raises
    (``ringrift_ml.alerts.registry_alerts``: a gate regression, a rollback, a failed
    generation) in the storage root's alert log: every row the loop writes goes through
    here, from a shell as from Dagster."""
    from ..alerts import registry_alerts
    from ..lake.layout import Layout
    from ..lake.lineage import record_row

    record_row(store, "model_registry", [row], message, run_id)
    registry_alerts(row, Layout(store.root).alerts_log)


def registry(store: LakeStore, board: str, players: int) -> list:
    """The partition's registry rows, oldest first (the newest row of a generation is its state)."""
    return store.query("SELECT * FROM lake.model_registry WHERE board = ? AND players = ? "
                       "ORDER BY generation, created_at", [board, players]).to_pylist()


def generation_states(rows: list) -> dict:
    """Generation -> its newest registry row."""
    out: dict = {}
    for r in rows:
        out[r["generation"]] = r
    return out


def current_best(rows: list) -> dict | None:
    """The newest promoted generation that was not rolled back, or None (bootstrap)."""
    promoted = [r for r in generation_states(rows).values() if r["status"] == PROMOTED]
    return max(promoted, key=lambda r: r["generation"]) if promoted else None


__all__ = ["FAILED", "PROMOTED", "REJECTED", "ROLLED_BACK", "current_best", "generation_states",
           "process_cpu_seconds", "registry"]
