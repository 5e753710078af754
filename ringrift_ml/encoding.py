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
from .rules.view import MOVE_TYPE_NAMES, PHASE_NAMES, StateView, move_from_cells, move_to_cells, move_types

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
    v = StateView(S, n_cells)
    N = n_cells
    n = v.num_players
    cur = v.current_player
    planes = np.zeros((PLANES, N), dtype=np.float32)
    # slot of each player number (1-based); slot 0 = the mover.
    slot_of = np.full(5, -1, dtype=np.int64)
    for k in range(n):
        slot_of[(cur - 1 + k) % n + 1] = k
    ctrl, mk, cl = v.controllers, v.marker_owners, v.collapsed_owners
    heights, caps = v.stack_heights, v.cap_heights
    for p in range(1, n + 1):
        base = slot_of[p] * PLANES_PER_SLOT
        mine = ctrl == p
        planes[base + 0, mine] = heights[mine] / HEIGHT_SCALE
        planes[base + 1, mine] = caps[mine] / HEIGHT_SCALE
        planes[base + 2, mk == p] = 1.0
        planes[base + 3, cl == p] = 1.0
    if 0 <= v.must_act_cell < N:
        planes[PLANES - 1, v.must_act_cell] = 1.0
    g = np.zeros(GLOBALS, dtype=np.float32)
    g[v.phase_index] = 1.0
    o = len(PHASE_NAMES)
    rpp = max(1, v.rings_per_player)
    for p in range(1, n + 1):
        b = o + slot_of[p] * 4
        g[b] = 1.0
        g[b + 1] = v.rings_in_hand(p) / rpp
        g[b + 2] = v.eliminated_rings(p) / max(1, v.elimination_threshold)
        g[b + 3] = v.territory(p) / max(1, v.territory_minimum)
    g[o + SLOTS * 4 + min(v.pending_index, 2)] = 1.0
    return np.concatenate([planes.ravel(), g])


def encode_moves(rows: np.ndarray) -> np.ndarray:
    """``(type, from + 1, to + 1)`` of each move row (0 where a move has no cell)."""
    out = np.empty((len(rows), 3), dtype=np.int16)
    frm, to = move_from_cells(rows), move_to_cells(rows)
    out[:, 0] = move_types(rows)
    out[:, 1] = np.where(frm >= 0, frm + 1, 0)
    out[:, 2] = np.where(to >= 0, to + 1, 0)
    return out


def outcome_for(ranks: dict, winner, num_players: int, player: int) -> float:
    """Final outcome from ``player``'s view in [-1, 1]: rank 1 -> +1, last -> -1, linear between."""
    if ranks:
        return rank_value(int(ranks[str(player)] if str(player) in ranks else ranks[player]), num_players)
    if winner is None:
        raise ValueError("outcome: the game has neither ranks nor a winner")
    return 1.0 if winner == player else -1.0
