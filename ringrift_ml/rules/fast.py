"""The fast path for search and selfplay: in-place play on raw state arrays.

The public ``GameState`` is immutable; search wants to mutate one array and undo.
``FastGame`` does exactly that with the same compiled rules code, keeping a stack
of snapshots for undo (a state is a few KB, so a snapshot is one ``memcpy``).

    g = FastGame(new_game("square8", 2))
    rows = g.legal()          # (K, 8) int64 move rows
    g.push(rows[0])           # apply in place
    g.pop()                   # undo
    g.hash()                  # incremental Zobrist hash of the position
"""

from __future__ import annotations

import numpy as np

from ._codec import row_to_move
from ._k_board import state_hash
from ._k_playout import random_playout, seed_rng
from ._k_turn import apply_trusted
from ._k_turn import legal_moves as _k_legal_moves
from ._layout import M_CUR, M_NP, M_STATUS, MAX_MOVES, MOVE_WIDTH, MT
from .state import GameState
from .view import StateView

PLAYOUT_BUFFER = 1 << 15  # move rows; far above any move list of a real game


class FastGame:
    """A mutable game for search: apply, undo, copy and hash without allocation churn."""

    __slots__ = ("spec", "S", "_undo", "_buf")

    def __init__(self, state: GameState):
        self.spec = state.spec
        self.S = state.copy_array()
        self._undo: list = []
        self._buf = np.empty((MAX_MOVES, MOVE_WIDTH), dtype=np.int64)

    def legal(self) -> np.ndarray:
        """Legal move rows (a fresh array; the generation buffer is reused)."""
        n = _k_legal_moves(self.S, self.spec.geo, self._buf)
        if n > self._buf.shape[0]:
            self._buf = np.empty((n, MOVE_WIDTH), dtype=np.int64)
            n = _k_legal_moves(self.S, self.spec.geo, self._buf)
        return self._buf[:n].copy()

    def push(self, row: np.ndarray) -> None:
        """Apply a legal move row in place (remembering how to undo it)."""
        self._undo.append(self.S.copy())
        apply_trusted(self.S, self.spec.geo, row)

    def apply(self, row: np.ndarray) -> None:
        """Apply a legal move row in place without keeping an undo snapshot."""
        apply_trusted(self.S, self.spec.geo, row)

    def pop(self) -> None:
        self.S[...] = self._undo.pop()

    def copy(self) -> "FastGame":
        g = FastGame.__new__(FastGame)
        g.spec = self.spec
        g.S = self.S.copy()
        g._undo = []
        g._buf = np.empty_like(self._buf)
        return g

    def scratch(self) -> "FastGame":
        """A working game sharing this one's board and move buffer; its state array
        is set by the caller (search loads node states into it)."""
        g = FastGame.__new__(FastGame)
        g.spec = self.spec
        g.S = None
        g._undo = []
        g._buf = self._buf
        return g

    def hash(self) -> int:
        return int(state_hash(self.S))

    def state(self) -> GameState:
        """An immutable snapshot of the current position."""
        return GameState(self.spec, self.S.copy())

    def move(self, row: np.ndarray):
        return row_to_move(self.spec, self.S, row)

    # ---- read surface (nothing outside the rules package reads the array layout) ----
    def view(self) -> StateView:
        """Named reads of the current position (live: it follows later moves)."""
        return StateView(self.S, self.spec.n_cells)

    @property
    def num_players(self) -> int:
        return int(self.S[MT, M_NP])  # direct: evaluators read it at every node

    @property
    def current_player(self) -> int:
        return int(self.S[MT, M_CUR])  # direct: search reads it at every node

    @property
    def current_phase(self) -> str:
        return StateView(self.S, 0).current_phase

    @property
    def is_over(self) -> bool:
        return bool(self.S[MT, M_STATUS])  # direct: search reads it at every node

    @property
    def winner(self):
        return StateView(self.S, 0).winner

    @property
    def victory_reason(self):
        return StateView(self.S, 0).victory_reason

    def ranks(self):
        """``{player: rank}`` once the game is over, else ``None``."""
        return StateView(self.S, 0).ranks()

    @property
    def ply(self) -> int:
        return StateView(self.S, 0).ply

    def rings_in_hand(self, p: int) -> int:
        return StateView(self.S, 0).rings_in_hand(p)

    def eliminated_rings(self, p: int) -> int:
        return StateView(self.S, 0).eliminated_rings(p)

    def territory(self, p: int) -> int:
        return StateView(self.S, 0).territory(p)


def playout(state: GameState, seed: int, max_moves: int = 100_000, record_moves: bool = False):
    """Play a uniformly random game from ``state``.

    Returns ``(final GameState, moves applied, move generations, move rows or None)``.
    """
    S = state.copy_array()
    buf = np.empty((PLAYOUT_BUFFER, MOVE_WIDTH), dtype=np.int64)
    record = np.empty((max_moves if record_moves else 0, MOVE_WIDTH), dtype=np.int64)
    rng = seed_rng(np.int64(seed))
    applied, gens, _ = random_playout(S, state.spec.geo, rng, max_moves, buf, record)
    rows = record[:applied].copy() if record_moves else None
    return GameState(state.spec, S), int(applied), int(gens), rows


__all__ = ["FastGame", "playout", "MAX_MOVES"]
