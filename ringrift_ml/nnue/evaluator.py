"""The NNUE as a search evaluator (``values`` per seat, no priors).

The accumulator follows the positions it is asked about: each call brings it from the
last evaluated position to the new one by the cells that differ
(:func:`ringrift_ml.ai._k_nnue.update`).  Alpha-beta visits leaves in depth-first
order, so consecutive leaves are siblings or cousins a few moves apart and an update
touches a handful of cells.  A position of another game or player count is simply
refreshed: the update compares every cell, so it is right for any position of the board.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..ai.base import terminal_values
from ..rules.fast import FastGame
from ..rules.kernels import num_players
from ..ai import _k_nnue as K
from .features import N_GLOBALS
from .model import NNUEWeights, board_cells


class NNUEEvaluator:
    """Seat values in ``[-1, 1]`` from an NNUE; ``quantised`` (default) runs the integer
    path search uses, otherwise the float reference."""

    def __init__(self, weights: NNUEWeights, quantised: bool = True):
        self.weights = weights
        self.board = weights.board
        self.quantised = bool(quantised)
        self.ncells = board_cells(weights.board)
        hidden, l1, l2 = weights.sizes
        if self.quantised:
            q = weights.quantised()
            self._W1, self._b1 = q["W1q"], q["b1q"]
            # The head's int8 weights in the lane layout the compiled head sums exactly
            # in float32 lanes (``K.lane_layout``), with its buffers.
            WT1, b1, s1, WT2, b2, s2, Ow, self._x, self._h1, self._h2 = K.lane_layout(
                q["L1wq"], q["L1bq"], q["L1dq"], q["L2wq"], q["L2bq"], q["L2dq"], q["Owq"])
            self._head = (WT1, b1, s1, WT2, b2, s2, Ow, np.int32(q["Obq"]), np.int64(q["Odq"]))
            self._acc = np.zeros((4, hidden), dtype=np.int16)
            self._run, self._seat = K.evaluate_quantised, K.evaluate_seat_quantised
        else:
            w = weights
            self._W1, self._b1 = w.W1, w.b1
            # The shifts only fill the quantised path's places (the float head has none).
            self._head = (w.L1w, w.L1b, np.zeros(l1, np.int32), w.L2w, w.L2b, np.zeros(l2, np.int32), w.Ow,
                          np.float32(w.Ob), np.int64(1))
            self._acc = np.zeros((4, hidden), dtype=np.float32)
            self._x = np.zeros(weights.head_inputs + N_GLOBALS, dtype=np.float32)
            self._h1, self._h2 = np.zeros(l1, dtype=np.float32), np.zeros(l2, dtype=np.float32)
            self._run, self._seat = K.evaluate_float, K.evaluate_seat_float
        self._g = np.zeros(N_GLOBALS, dtype=np.float32)
        self._codes = np.full((4, self.ncells), -1, dtype=np.int64)
        self._n = 0  # player count the accumulator was built for (0: never built)
        # What every compiled evaluation reads after the state (the arrays change in
        # place, so one tuple serves every call and the compiled search).
        self._args = (np.int64(self.ncells), np.int64(weights.pairwise), self._W1, self._acc, self._codes,
                      *self._head, self._g, self._x, self._h1, self._h2)

    def reset(self) -> None:
        """Forget the last position: the next evaluation refreshes the accumulator."""
        self._n = 0

    def _state(self, game: FastGame) -> np.ndarray:
        """The state array of a running game of this board, the accumulator refreshed
        when the player count changed (the update brings it the rest of the way)."""
        if game.spec.name != self.board:
            raise ValueError(f"nnue evaluator: the NNUE plays {self.board}, not {game.spec.name}")
        S = game.S
        n = int(num_players(S))
        if n != self._n:
            K.refresh(S, self.ncells, self._W1, self._b1, self._acc, self._codes)
            self._n = n
        return S

    def values(self, game: FastGame) -> np.ndarray:
        if game.is_over:
            return terminal_values(game)
        S = self._state(game)
        out = np.zeros(self._n)
        self._run(S, *self._args, out)
        return out

    def value_of(self, game: FastGame, seat: int) -> float:
        """Seat ``seat``'s value alone (``values(game)[seat - 1]``, one head instead of
        one per seat): alpha-beta asks only for the root player's value."""
        if game.is_over:
            return float(terminal_values(game)[seat - 1])
        S = self._state(game)
        return float(self._seat(S, *self._args, seat))

    def compiled_leaf(self, game: FastGame) -> tuple:
        """``(kind, heuristic arguments, NNUE arguments)`` of a compiled search's leaf
        (``ai._k_alphabeta``): one seat's value, the accumulator carried from leaf to
        leaf as in Python."""
        from ..ai import _k_alphabeta as A

        self._state(game)
        return (A.NNUE_QUANTISED if self.quantised else A.NNUE_FLOAT), A.NO_HEURISTIC, self._args

    def priors(self, game: FastGame, rows: np.ndarray) -> Optional[np.ndarray]:
        return None

    def accumulator(self) -> np.ndarray:
        """The accumulator rows as last brought up to date (a copy; tests compare it)."""
        return self._acc[: self._n].copy()


__all__ = ["NNUEEvaluator"]
