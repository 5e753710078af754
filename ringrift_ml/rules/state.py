"""The public :class:`GameState`: an immutable wrapper around one state array.

The array layout is described in :mod:`ringrift_ml.rules._layout`.  ``GameState``
objects are never mutated after construction; ``apply_move`` returns a new one.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._k_board import state_hash as _state_hash
from ._layout import (
    CL,
    CP,
    CT,
    H,
    M_ELIM,
    M_FROM,
    M_HAND,
    M_NP,
    M_PENDING,
    M_PHASE,
    M_PLY,
    M_RANK,
    M_REASON,
    M_STATUS,
    M_TERR,
    M_TOTAL_ELIM,
    M_CUR,
    M_WINNER,
    M_AGE_SEQ,
    AGE,
    MK,
    MT,
    PHASE_NAMES,
    REASON_NAMES,
    RG,
    empty_state_array,
)
from ._serialize import parse_state, state_to_json
from .boards import BoardSpec
from .options import read_options


class GameState:
    """A RingRift position: board, counters, player to act, phase and game status.

    Read it through the properties; serialize with :meth:`to_json` and load with
    :meth:`from_json`.  ``S`` exposes the raw array for the fast paths.
    """

    __slots__ = ("spec", "_S", "_legal")

    def __init__(self, spec: BoardSpec, S: np.ndarray):
        self.spec = spec
        self._S = S
        self._legal = None  # cached legal move rows (the state never changes)

    # ---- construction -----------------------------------------------------------
    @staticmethod
    def empty_array(spec: BoardSpec) -> np.ndarray:
        return empty_state_array(spec.n_cells)

    @classmethod
    def from_json(cls, d, rules_options: Optional[dict] = None) -> "GameState":
        """Load a serialized state (contract-vector form); ValueError names what is wrong."""
        spec, S = parse_state(d, rules_options)
        return cls(spec, S)

    def to_json(self) -> dict:
        return state_to_json(self)

    # ---- raw access ---------------------------------------------------------------
    @property
    def S(self) -> np.ndarray:
        """The state array (do not modify: states are shared)."""
        return self._S

    def copy_array(self) -> np.ndarray:
        return self._S.copy()

    # ---- summary --------------------------------------------------------------------
    @property
    def board_type(self) -> str:
        return self.spec.name

    @property
    def rules_options(self) -> dict:
        """Every rules option this game is played under (``rulesOptions`` JSON keys)."""
        return read_options(self._S)

    @property
    def num_players(self) -> int:
        return int(self._S[MT, M_NP])

    @property
    def current_player(self) -> int:
        return int(self._S[MT, M_CUR])

    @property
    def current_phase(self) -> str:
        return PHASE_NAMES[int(self._S[MT, M_PHASE])]

    @property
    def game_status(self) -> str:
        return "completed" if self._S[MT, M_STATUS] else "active"

    @property
    def is_over(self) -> bool:
        return bool(self._S[MT, M_STATUS])

    @property
    def winner(self) -> Optional[int]:
        w = int(self._S[MT, M_WINNER])
        return w or None

    @property
    def victory_reason(self) -> Optional[str]:
        return REASON_NAMES[int(self._S[MT, M_REASON])]

    @property
    def ranks(self) -> Optional[dict]:
        """Final rank per player (1 = winner, ties share a rank); None while active."""
        if not self.is_over:
            return None
        return {p: int(self._S[MT, M_RANK + p - 1]) for p in range(1, self.num_players + 1)}

    @property
    def ply(self) -> int:
        """Moves applied since the game (or the loaded state) started."""
        return int(self._S[MT, M_PLY])

    @property
    def pending_decision(self) -> Optional[str]:
        return {0: None, 1: "line_elimination", 2: "territory_elimination"}[int(self._S[MT, M_PENDING])]

    @property
    def must_move_from(self):
        c = int(self._S[MT, M_FROM])
        return None if c < 0 else self.spec.cell_pos(c)

    def rings_in_hand(self, player: int) -> int:
        return int(self._S[MT, M_HAND + self._check_player(player) - 1])

    def eliminated_rings(self, player: int) -> int:
        """Rings ``player`` has been credited with eliminating."""
        return int(self._S[MT, M_ELIM + self._check_player(player) - 1])

    def territory(self, player: int) -> int:
        return int(self._S[MT, M_TERR + self._check_player(player) - 1])

    @property
    def total_eliminated(self) -> int:
        return int(self._S[MT, M_TOTAL_ELIM])

    def _check_player(self, player: int) -> int:
        if not isinstance(player, (int, np.integer)) or not 1 <= player <= self.num_players:
            raise ValueError(f"player: expected 1..{self.num_players}, got {player!r}")
        return int(player)

    # ---- board contents ------------------------------------------------------------
    def stacks(self) -> dict:
        """``{position key: rings bottom->top}`` for every stack."""
        S = self._S
        out = {}
        for c in np.nonzero(S[H, : self.spec.n_cells])[0]:
            h, bits = int(S[H, c]), int(S[RG, c])
            out[self.spec.cell_key(int(c))] = [((bits >> (2 * i)) & 3) + 1 for i in range(h)]
        return out

    def markers(self) -> dict:
        S = self._S
        return {self.spec.cell_key(int(c)): int(S[MK, c]) for c in np.nonzero(S[MK, : self.spec.n_cells])[0]}

    def collapsed(self) -> dict:
        S = self._S
        return {self.spec.cell_key(int(c)): int(S[CL, c]) for c in np.nonzero(S[CL, : self.spec.n_cells])[0]}

    def stack_count(self) -> int:
        return int(np.count_nonzero(self._S[H, : self.spec.n_cells]))

    def marker_count(self) -> int:
        return int(np.count_nonzero(self._S[MK, : self.spec.n_cells]))

    def collapsed_count(self) -> int:
        return int(np.count_nonzero(self._S[CL, : self.spec.n_cells]))

    def progress(self) -> int:
        """The termination measure S = markers + collapsed + eliminated (RR-CANON-R191)."""
        return self.marker_count() + self.collapsed_count() + self.total_eliminated

    def controller(self, key: str) -> Optional[int]:
        c = self.spec.cell_of_key(key)
        v = int(self._S[CT, c])
        return v or None

    def cap_height(self, key: str) -> int:
        return int(self._S[CP, self.spec.cell_of_key(key)])

    # ---- identity ---------------------------------------------------------------------
    def zobrist(self) -> int:
        """Hash of the whole position (board, counters, turn and phase)."""
        return int(_state_hash(self._S))

    def __eq__(self, other) -> bool:
        # Equal positions with their stacks in the same age order; the age stamps
        # themselves (and their counter) may differ, e.g. after a JSON round trip.
        if not isinstance(other, GameState) or other.spec is not self.spec:
            return False
        a, b = self._S, other._S
        if not (np.array_equal(a[:MT], b[:MT]) and np.array_equal(a[MT, :M_AGE_SEQ], b[MT, :M_AGE_SEQ])):
            return False
        cells = np.nonzero(a[H, : self.spec.n_cells])[0]
        return np.array_equal(np.argsort(a[AGE, cells], kind="stable"), np.argsort(b[AGE, cells], kind="stable"))

    def __hash__(self) -> int:
        return self.zobrist()

    def __repr__(self) -> str:
        return (
            f"GameState({self.board_type}, {self.num_players}p, ply={self.ply}, "
            f"player={self.current_player}, phase={self.current_phase}, status={self.game_status})"
        )
