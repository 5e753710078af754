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

from ..rules.view import PHASE_NAMES
from ._k_encode import encode_into
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
    """``(planes uint8 [C, n_cells], globals float32 [G])`` of a state array: per seat
    slot (the mover is slot 0) the controlled stacks' heights and caps, the seat's rings
    in each stack, its markers and collapsed cells; must-act, empty and valid; the
    globals in :data:`GLOBALS`' order (compiled: ``_k_encode.encode_into``)."""
    planes = np.empty((len(PLANES), n_cells), dtype=np.uint8)
    g = np.empty(len(GLOBALS), dtype=np.float32)
    encode_into(S, n_cells, len(_SLOT_PLANES), len(PHASE_NAMES), SLOTS, planes, g)
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
