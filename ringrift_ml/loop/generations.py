"""The model registry as the loop reads and writes it: the status of a generation, its
newest row, the best, :func:`write_registry_row`, and what the recent generations say
the next one will cost (:func:`from_registry`, the estimate's registry basis, which the
loop's CPU budget asks before it starts a generation).

Both the loop's steps (``run``) and the ladder's regression watch (``ladder``) read the
registry; the ladder also rolls promotions back, which the loop reacts to.  The reading
and the one writing path live here, below both, so that neither imports the other for it.
"""

from __future__ import annotations

import resource
import statistics
from typing import Optional

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


_COST_STEPS = ("selfplay", "train", "gate", "ladder")  # the steps a generation's CPU is split into


def first_promotion(states: dict) -> Optional[int]:
    """The partition's first promoted generation (``generation_states``), or None: the
    generations after it played their selfplay and gates with a network."""
    promoted = [g for g, r in states.items() if r["status"] in (PROMOTED, ROLLED_BACK)]
    return min(promoted) if promoted else None


def from_registry(store: LakeStore, cfg: "LoopConfig", newest: int = 3,
                  states: Optional[dict] = None) -> Optional[dict]:
    """The estimate of the next generation's CPU from the partition's recent generations
    (``loop.estimate``'s ``registry`` basis), or None when it has none with measured
    steps.  ``states``: the partition's ``generation_states`` where the caller has
    them (None: read here)."""
    if states is None:
        states = generation_states(registry(store, cfg.board, cfg.players))
    rows = [r for g, r in sorted(states.items()) if r["status"] not in (FAILED, ROLLED_BACK)
            and r.get("selfplay_cpu_seconds") is not None]
    # Once a network is the best, selfplay and the gate search with it, at another cost
    # than the bootstrap player's: generations played after the first promotion speak
    # for the next one.  Without any, the bootstrap's figures are all there is (basis
    # ``registry-bootstrap``: a rough guide, which ``estimate`` replaces by a calibration).
    basis = "registry"
    first = first_promotion(states)
    if first is not None:
        later = [r for r in rows if r["generation"] > first]
        if later:
            rows = later
        elif rows:
            basis = "registry-bootstrap"
    rows = rows[-newest:]
    if not rows:
        return None
    med = {s: statistics.median(float(r.get(f"{s}_cpu_seconds") or 0.0) for r in rows) for s in _COST_STEPS}
    low = med["selfplay"] + med["train"] + med["gate"]
    high = low + max(float(r.get("ladder_cpu_seconds") or 0.0) for r in rows)
    return estimate_result(cfg, basis, low, high, {f"{s}_cpu_seconds": round(v, 1) for s, v in med.items()},
                           {"generations": [r["generation"] for r in rows]})


def estimate_result(cfg: "LoopConfig", basis: str, low: float, high: float, steps: dict, detail: dict) -> dict:
    """An estimate as ``loop.estimate`` returns it: the CPU range in seconds and hours,
    the basis, the steps' figures and ``detail``."""
    return {"partition": cfg.partition, "basis": basis, "cpu_seconds": [round(low, 1), round(high, 1)],
            "cpu_hours": [round(low / 3600, 5), round(high / 3600, 5)], "steps": steps, **detail}


__all__ = ["FAILED", "PROMOTED", "REJECTED", "ROLLED_BACK", "current_best", "estimate_result",
           "first_promotion", "from_registry", "generation_states", "process_cpu_seconds", "registry"]
