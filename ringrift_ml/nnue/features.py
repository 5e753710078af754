"""The NNUE's inputs: sparse per-cell features seen from one seat, and a few dense globals.

Every seat ``p`` has its own view of the board (its *perspective*): each other seat
``q`` appears as the relative seat ``r = (q - p) mod n`` (0 is ``p`` itself), so one
set of weights serves every seat and every player count.  A cell holds at most one
active feature per perspective, its *code*:

* a stack controlled by relative seat ``r``: ``r * 15 + (min(height, 5) - 1) * 3 +
  min(cap, 3) - 1`` (codes 0-59);
* else a marker of ``r``: ``60 + r``; else a cell collapsed by ``r``: ``64 + r``;
* an empty cell: no feature.

The feature index is ``cell * CODES + code``.  A move changes the codes of a few cells
only (the stacks and markers it touches), which is what lets the first layer be an
accumulator updated incrementally (:mod:`ringrift_ml.ai._k_nnue`).

The globals of perspective ``p`` (not incremental, cheap): per relative seat whether it
plays, rings in hand, eliminated rings, territory and rings on the board (each
scaled to about [0, 1]); the relative seat of the player to act; the phase; the player
count.

A feature set has a name and a hash of its definition (:data:`FEATURE_SET`), written
into every NNUE file; a file of another feature set is refused.
"""

from __future__ import annotations

import hashlib
import json

from ..rules.view import PHASE_NAMES

# The numeric layout lives beside the compiled inference that reads it.
from ..ai._k_nnue import (  # noqa: F401  (public here)
    CAP_BUCKETS,
    CODES,
    COLLAPSED_BASE,
    HEIGHT_BUCKETS,
    MARKER_BASE,
    MOVER_BASE,
    N_GLOBALS,
    PHASE_BASE,
    PLAYERS_BASE,
    SEAT_GLOBALS,
    SEATS,
    STACK_CODES,
)

GLOBAL_NAMES = (tuple(f"rel{r}_{g}" for r in range(SEATS) for g in SEAT_GLOBALS)
                + tuple(f"mover_rel{r}" for r in range(SEATS))
                + tuple(f"phase_{p}" for p in PHASE_NAMES)
                + ("players_2", "players_3", "players_4"))
assert len(GLOBAL_NAMES) == N_GLOBALS


def _identity() -> str:
    blob = json.dumps({"codes": [HEIGHT_BUCKETS, CAP_BUCKETS, SEATS, CODES], "globals": GLOBAL_NAMES,
                       "order": "cell*CODES+code; stack r*15+(h-1)*3+cap-1, marker 60+r, collapsed 64+r"})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


FEATURE_SET = {"name": "rr-cells-rel", "version": 1, "hash": _identity()}
"""The feature set's name, version and the hash of its definition."""


def n_features(n_cells: int) -> int:
    return n_cells * CODES


def check_feature_set(found: dict, where: str) -> None:
    """Refuse an NNUE of another feature set (``ValueError`` naming both)."""
    if not isinstance(found, dict) or {k: found.get(k) for k in FEATURE_SET} != FEATURE_SET:
        raise ValueError(f"{where}: made for NNUE features {found!r}, this code reads {FEATURE_SET!r}")


__all__ = ["CODES", "FEATURE_SET", "GLOBAL_NAMES", "N_GLOBALS", "check_feature_set", "n_features"]
