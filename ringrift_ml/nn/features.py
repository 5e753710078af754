"""The spatial state encoding: named, versioned planes on the board's grid.

Seats are relative to the player to act: slot 0 is the mover, slot 1 the next seat in
turn order, and so on (slots beyond the player count stay zero), so one network serves
every seat.  An encoding is stored in two steps:

* :func:`encode` -> ``(planes uint8 [C, cells], globals float32 [G])``: compact, in the
  board's cell order (what sample files hold);
* :func:`to_grid` -> ``float32 [B, C, H, W]``: scaled and scattered onto the grid
  (:mod:`ringrift_ml.nn.grid`), what the network reads.

The feature set's identity (:data:`FEATURES`: name, version and a hash of every plane
and global name) is written into every sample file and checkpoint; loading one against
another encoding is refused (:func:`check_identity`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from ..rules.view import PHASE_NAMES, StateView
from .grid import Grid

SLOTS = 4
_SLOT_PLANES = ("ctrl_height", "ctrl_cap", "rings", "marker", "collapsed")
PLANES = tuple(f"slot{s}_{p}" for s in range(SLOTS) for p in _SLOT_PLANES) + ("must_act", "empty", "valid")
# uint8 planes are scaled by these at load time (1 for flags).
_SCALE = np.array([8.0 if p.endswith(("ctrl_height", "ctrl_cap", "_rings")) else 1.0 for p in PLANES],
                  dtype=np.float32)
GLOBALS = (
    tuple(f"phase_{p}" for p in PHASE_NAMES)
    + ("pending_none", "pending_line", "pending_territory")
    + tuple(f"slot{s}_{g}" for s in range(SLOTS) for g in ("present", "hand", "eliminated", "territory", "on_board"))
    + ("players_2", "players_3", "players_4", "swap_available", "lps_streak")
    + tuple(f"lps_leader_slot{s}" for s in range(SLOTS))
)


@dataclasses.dataclass(frozen=True)
class FeatureSet:
    name: str
    version: int
    planes: tuple
    globals: tuple

    @property
    def identity(self) -> str:
        """``name-vN-<hash of the layout>``: equal only for the same layout."""
        blob = json.dumps([self.name, self.version, self.planes, self.globals]).encode()
        return f"{self.name}-v{self.version}-{hashlib.sha256(blob).hexdigest()[:12]}"

    @property
    def n_planes(self) -> int:
        return len(self.planes)

    @property
    def n_globals(self) -> int:
        return len(self.globals)


FEATURES = FeatureSet("spatial", 1, PLANES, GLOBALS)


def check_identity(found: str, where: str) -> None:
    """Refuse data or a model made with another encoding (``ValueError`` naming both)."""
    if found != FEATURES.identity:
        raise ValueError(f"{where}: encoded with features {found!r}, this code reads {FEATURES.identity!r}")


def slot_of_players(n: int, mover: int) -> np.ndarray:
    """``slot[p]`` for player numbers 1..n (index 0 unused): the mover is slot 0."""
    out = np.full(5, -1, dtype=np.int64)
    for k in range(n):
        out[(mover - 1 + k) % n + 1] = k
    return out


def encode(S: np.ndarray, n_cells: int) -> tuple:
    """``(planes uint8 [C, n_cells], globals float32 [G])`` of a state array."""
    v = StateView(S, n_cells)
    n, mover = v.num_players, v.current_player
    slot = slot_of_players(n, mover)
    planes = np.zeros((len(PLANES), n_cells), dtype=np.uint8)
    ctrl, heights, caps = v.controllers, v.stack_heights, v.cap_heights
    marks, coll = v.marker_owners, v.collapsed_owners
    rings = v.ring_counts()
    k = len(_SLOT_PLANES)
    for p in range(1, n + 1):
        b = slot[p] * k
        mine = ctrl == p
        planes[b + 0] = np.where(mine, heights, 0)
        planes[b + 1] = np.where(mine, caps, 0)
        planes[b + 2] = rings[p - 1]
        planes[b + 3] = marks == p
        planes[b + 4] = coll == p
    base = SLOTS * k
    if 0 <= v.must_act_cell < n_cells:
        planes[base, v.must_act_cell] = 1
    planes[base + 1] = (heights == 0) & (marks == 0) & (coll == 0)
    planes[base + 2] = 1
    g = np.zeros(len(GLOBALS), dtype=np.float32)
    g[v.phase_index] = 1.0
    o = len(PHASE_NAMES)
    g[o + min(v.pending_index, 2)] = 1.0
    o += 3
    rpp = max(1, v.rings_per_player)
    for p in range(1, n + 1):
        b = o + slot[p] * 5
        g[b] = 1.0
        g[b + 1] = v.rings_in_hand(p) / rpp
        g[b + 2] = v.eliminated_rings(p) / max(1, v.elimination_threshold)
        g[b + 3] = v.territory(p) / max(1, v.territory_minimum)
        g[b + 4] = v.rings_on_board(p) / rpp
    o += SLOTS * 5
    g[o + n - 2] = 1.0
    o += 3
    g[o] = 1.0 if v.swap_available else 0.0
    g[o + 1] = v.lps_streak / max(1, v.lps_rounds_required)
    o += 2
    if v.lps_leader:
        g[o + slot[v.lps_leader]] = 1.0
    return planes, g


def to_grid(planes: np.ndarray, grid: Grid) -> np.ndarray:
    """Scaled float planes on the grid: ``[B, C, n_cells] uint8 -> [B, C, H, W] float32``."""
    planes = np.asarray(planes)
    if planes.ndim == 2:
        planes = planes[None]
    b, c, _ = planes.shape
    out = np.zeros((b, c, grid.size), dtype=np.float32)
    out[:, :, grid.flat] = planes.astype(np.float32) / _SCALE[None, :, None]
    return out.reshape(b, c, grid.height, grid.width)


__all__ = ["FEATURES", "FeatureSet", "GLOBALS", "PLANES", "check_identity", "encode", "slot_of_players", "to_grid"]
