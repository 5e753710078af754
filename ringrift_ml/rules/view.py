"""Read-only, named access to a position's state array.

Code outside the rules package (players, search, encodings, selfplay) reads positions
through :class:`StateView` (from Python) and :mod:`ringrift_ml.rules.kernels` (from
compiled code), never through the raw array layout, so the layout can change inside
the rules package alone.  A view wraps the live array without copying: it reads
whatever the array holds now.
"""

from __future__ import annotations

import numpy as np

from ._layout import (
    CL,
    CP,
    CT,
    H,
    M_CUR,
    M_ELIM,
    M_FROM,
    M_HAND,
    M_LINELEN,
    M_LPS_LEADER,
    M_LPS_REQ,
    M_LPS_STREAK,
    M_NP,
    M_ONB,
    M_PENDING,
    M_PHASE,
    M_PLY,
    M_RANK,
    M_REASON,
    M_RPP,
    M_STATUS,
    M_SWAP_AVAIL,
    M_TERR,
    M_TMIN,
    M_VTHRESH,
    M_WINNER,
    MK,
    RG,
    MOVE_TYPE_NAMES,
    MT,
    MV_CONTINUE_CAPTURE,
    MV_OVERTAKING_CAPTURE,
    PHASE_NAMES,
    REASON_NAMES,
    F_FROM,
    F_TO,
    F_TYPE,
)

PENDING_NAMES = (None, "line_elimination", "territory_elimination")


class StateView:
    """Named reads of one state array (see the module docstring)."""

    __slots__ = ("S", "n_cells")

    def __init__(self, S: np.ndarray, n_cells: int):
        self.S = S
        self.n_cells = n_cells

    # ---- turn and game status ---------------------------------------------------
    @property
    def num_players(self) -> int:
        return int(self.S[MT, M_NP])

    @property
    def current_player(self) -> int:
        return int(self.S[MT, M_CUR])

    @property
    def phase_index(self) -> int:
        """Index of the phase in :data:`PHASE_NAMES` (for encodings)."""
        return int(self.S[MT, M_PHASE])

    @property
    def current_phase(self) -> str:
        return PHASE_NAMES[int(self.S[MT, M_PHASE])]

    @property
    def is_over(self) -> bool:
        return bool(self.S[MT, M_STATUS])

    @property
    def winner(self):
        w = int(self.S[MT, M_WINNER])
        return w or None

    @property
    def victory_reason(self):
        return REASON_NAMES[int(self.S[MT, M_REASON])]

    def ranks(self):
        """``{player: rank}`` once the game is over, else ``None``."""
        if not self.is_over:
            return None
        return {p: int(self.S[MT, M_RANK + p - 1]) for p in range(1, self.num_players + 1)}

    @property
    def ply(self) -> int:
        return int(self.S[MT, M_PLY])

    @property
    def pending_index(self) -> int:
        """0 none, 1 a line's elimination, 2 a region's elimination (for encodings)."""
        return int(self.S[MT, M_PENDING])

    @property
    def must_act_cell(self) -> int:
        """The cell whose stack must act (placed stack, capturing stack), or -1."""
        return int(self.S[MT, M_FROM])

    @property
    def swap_available(self) -> bool:
        """The player to act may play the pie rule's ``swap_sides`` now."""
        return int(self.S[MT, M_SWAP_AVAIL]) == 2 and self.current_player == 2

    @property
    def lps_leader(self) -> int:
        """The player with a run of exclusive last-player-standing rounds (0: none)."""
        return int(self.S[MT, M_LPS_LEADER])

    @property
    def lps_streak(self) -> int:
        return int(self.S[MT, M_LPS_STREAK])

    @property
    def lps_rounds_required(self) -> int:
        return int(self.S[MT, M_LPS_REQ])

    # ---- per player --------------------------------------------------------------
    def rings_in_hand(self, p: int) -> int:
        return int(self.S[MT, M_HAND + p - 1])

    def eliminated_rings(self, p: int) -> int:
        return int(self.S[MT, M_ELIM + p - 1])

    def territory(self, p: int) -> int:
        return int(self.S[MT, M_TERR + p - 1])

    def rings_on_board(self, p: int) -> int:
        return int(self.S[MT, M_ONB + p - 1])

    # ---- game parameters -----------------------------------------------------------
    @property
    def rings_per_player(self) -> int:
        return int(self.S[MT, M_RPP])

    @property
    def elimination_threshold(self) -> int:
        return int(self.S[MT, M_VTHRESH])

    @property
    def territory_minimum(self) -> int:
        return int(self.S[MT, M_TMIN])

    @property
    def line_length(self) -> int:
        return int(self.S[MT, M_LINELEN])

    # ---- per cell (views, length n_cells) ------------------------------------------
    @property
    def stack_heights(self) -> np.ndarray:
        return self.S[H, : self.n_cells]

    @property
    def cap_heights(self) -> np.ndarray:
        return self.S[CP, : self.n_cells]

    @property
    def controllers(self) -> np.ndarray:
        """Player controlling the stack on each cell (0: no stack)."""
        return self.S[CT, : self.n_cells]

    @property
    def marker_owners(self) -> np.ndarray:
        return self.S[MK, : self.n_cells]

    @property
    def collapsed_owners(self) -> np.ndarray:
        return self.S[CL, : self.n_cells]

    def ring_counts(self) -> np.ndarray:
        """``[4, n_cells]``: how many rings of players 1-4 each cell's stack holds."""
        h = self.S[H, : self.n_cells]
        bits = self.S[RG, : self.n_cells]
        top = int(h.max()) if h.size else 0
        if top == 0:
            return np.zeros((4, self.n_cells), dtype=np.int64)
        level = np.arange(top, dtype=bits.dtype)[:, None]
        # [top, cells]: colour of the ring at each level, -1 above the stack's top.
        colour = np.where(h[None, :] > level, (bits[None, :] >> (2 * level)) & 3, -1)
        return (colour[None, :, :] == np.arange(4)[:, None, None]).sum(axis=1, dtype=np.int64)


# ---- move rows (``FastGame.legal()``, ``Replayer.rows()``) ----------------------------
# A move row's fields, by position: type (index into MOVE_TYPE_NAMES), player, from
# cell, to cell, and four fields whose meaning depends on the type (a: capture target
# | line direction | region border colour | elimination context | recovery mode;
# b: placement count | line length | region size | recovery extraction cell; c: line
# segment offset (-1: the whole line) | recovery line option; d: recovery segment |
# region signature).
ROW_FIELDS = ("type", "player", "from", "to", "a", "b", "c", "d")

def move_types(rows: np.ndarray) -> np.ndarray:
    """Type code of each move row: an index into :data:`MOVE_TYPE_NAMES`."""
    return rows[:, F_TYPE]


def move_from_cells(rows: np.ndarray) -> np.ndarray:
    """Origin cell of each move row (-1 for moves without one)."""
    return rows[:, F_FROM]


def move_to_cells(rows: np.ndarray) -> np.ndarray:
    """Destination / target cell of each move row (-1 for moves without one)."""
    return rows[:, F_TO]


def capture_mask(rows: np.ndarray) -> np.ndarray:
    """Which move rows are capture segments (first or continued)."""
    t = rows[:, F_TYPE]
    return (t == MV_OVERTAKING_CAPTURE) | (t == MV_CONTINUE_CAPTURE)


__all__ = [
    "MOVE_TYPE_NAMES",
    "ROW_FIELDS",
    "PENDING_NAMES",
    "PHASE_NAMES",
    "StateView",
    "capture_mask",
    "move_from_cells",
    "move_to_cells",
    "move_types",
]
