"""State and move encodings for learning, relative to the player to act.

Seats are rotated so the player to act is slot 0, the next player slot 1, and so
on: one network serves every seat, and a value is always "for the mover".

* ``encode_state(S, spec)`` -> ``float32[PLANES * N + GLOBALS]``: per-cell planes
  followed by global features (layout below; ``feature_names`` lists them).
* ``encode_moves(rows)`` -> ``int16[K, 3]``: ``(type, from + 1, to + 1)`` per legal
  move (0 = no cell).  A policy network scores a move from factored logits over
  these three fields, so one output layout fits every board and move kind.
"""

from __future__ import annotations

import numpy as np

from .ai.base import rank_value
from .rules._layout import (
    CL, CP, CT, F_FROM, F_TO, F_TYPE, H, M_CUR, M_ELIM, M_FROM, M_HAND, M_NP, M_PENDING, M_PHASE, M_RPP,
    M_TERR, M_TMIN, M_VTHRESH, MK, MT, MOVE_TYPE_NAMES, PHASE_NAMES,
)

ENCODING_VERSION = 1
SLOTS = 4
# Per slot: stack height, cap height (stacks it controls), marker, collapsed cell.
PLANES_PER_SLOT = 4
PLANES = SLOTS * PLANES_PER_SLOT + 1  # + the cell that must act (placed stack / capture origin)
GLOBALS = len(PHASE_NAMES) + SLOTS * 4 + 3  # phase, per slot (present, hand, eliminated, territory), pending
N_MOVE_TYPES = len(MOVE_TYPE_NAMES)
HEIGHT_SCALE = 8.0


def feature_size(n_cells: int) -> int:
    return PLANES * n_cells + GLOBALS


def feature_names(n_cells: int) -> list:
    names = []
    for s in range(SLOTS):
        for what in ("height", "cap", "marker", "collapsed"):
            names.append(f"slot{s}_{what}")
    names.append("must_act")
    planes = [f"{p}[{c}]" for p in names for c in range(n_cells)]
    glob = [f"phase_{p}" for p in PHASE_NAMES]
    for s in range(SLOTS):
        glob += [f"slot{s}_present", f"slot{s}_hand", f"slot{s}_eliminated", f"slot{s}_territory"]
    glob += ["pending_none", "pending_line_elim", "pending_territory_elim"]
    return planes + glob


def encode_state(S: np.ndarray, n_cells: int) -> np.ndarray:
    """Features of state array ``S`` (see the module docstring)."""
    N = n_cells
    m = S[MT]
    n = int(m[M_NP])
    cur = int(m[M_CUR])
    planes = np.zeros((PLANES, N), dtype=np.float32)
    # slot of each player number (1-based); slot 0 = the mover.
    slot_of = np.full(5, -1, dtype=np.int64)
    for k in range(n):
        slot_of[(cur - 1 + k) % n + 1] = k
    ctrl, mk, cl = S[CT, :N], S[MK, :N], S[CL, :N]
    for p in range(1, n + 1):
        base = slot_of[p] * PLANES_PER_SLOT
        mine = ctrl == p
        planes[base + 0, mine] = S[H, :N][mine] / HEIGHT_SCALE
        planes[base + 1, mine] = S[CP, :N][mine] / HEIGHT_SCALE
        planes[base + 2, mk == p] = 1.0
        planes[base + 3, cl == p] = 1.0
    if 0 <= m[M_FROM] < N:
        planes[PLANES - 1, int(m[M_FROM])] = 1.0
    g = np.zeros(GLOBALS, dtype=np.float32)
    g[int(m[M_PHASE])] = 1.0
    o = len(PHASE_NAMES)
    rpp = max(1, int(m[M_RPP]))
    for p in range(1, n + 1):
        b = o + slot_of[p] * 4
        g[b] = 1.0
        g[b + 1] = m[M_HAND + p - 1] / rpp
        g[b + 2] = m[M_ELIM + p - 1] / max(1, int(m[M_VTHRESH]))
        g[b + 3] = m[M_TERR + p - 1] / max(1, int(m[M_TMIN]))
    g[o + SLOTS * 4 + min(int(m[M_PENDING]), 2)] = 1.0
    return np.concatenate([planes.ravel(), g])


def encode_moves(rows: np.ndarray) -> np.ndarray:
    """``(type, from + 1, to + 1)`` of each move row (0 where a move has no cell)."""
    out = np.empty((len(rows), 3), dtype=np.int16)
    out[:, 0] = rows[:, F_TYPE]
    out[:, 1] = np.where(rows[:, F_FROM] >= 0, rows[:, F_FROM] + 1, 0)
    out[:, 2] = np.where(rows[:, F_TO] >= 0, rows[:, F_TO] + 1, 0)
    return out


def outcome_for(ranks: dict, winner, num_players: int, player: int) -> float:
    """Final outcome from ``player``'s view in [-1, 1]: rank 1 -> +1, last -> -1, linear between."""
    if ranks:
        return rank_value(int(ranks[str(player)] if str(player) in ranks else ranks[player]), num_players)
    if winner is None:
        raise ValueError("outcome: the game has neither ranks nor a winner")
    return 1.0 if winner == player else -1.0
