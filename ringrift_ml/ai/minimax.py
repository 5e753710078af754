"""Alpha-beta minimax with iterative deepening, move ordering and a transposition
table; paranoid search (the root player against a coalition of all others) for 3-4
players.

Depth counts decisions: forced (single) moves are played through without using
depth.  Leaves are valued by the evaluator from the root player's view.  The
transposition table is keyed by the position's Zobrist hash (board, counters, player
to act and phase) and stores depth, value, bound type and the best move index.

With an evaluator that has compiled kernels (``compiled_leaf``: the heuristic, the NNUE)
the same search runs in compiled code (``_k_alphabeta``), node for node under a node
budget; under a time budget it looks at the clock every 256 nodes instead of at every
node.  Any other evaluator keeps this Python search.

Knuth & Moore, "An analysis of alpha-beta pruning" (1975); Sturtevant & Korf,
"On pruning techniques for multi-player games" (AAAI 2000) for paranoid search.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..rules._k_board import state_hash
from ..rules.view import capture_mask
from ..rules.fast import FastGame
from .base import Budget, Evaluator, is_over, terminal_values, MovePlayer

_EXACT, _LOWER, _UPPER = 0, 1, 2
_WIN = 1_000.0  # terminal scores dwarf evaluator values in [-1, 1]
_NO_NODE_LIMIT = 1 << 62  # a time budget alone: the clock ends the search
_WARM: set = set()  # evaluator kinds whose compiled search this process has loaded


class _OutOfBudget(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class MinimaxConfig:
    """Search settings."""

    max_depth: int = 64
    """Deepening stops here even with budget left."""
    tt_size: int = 1 << 18
    """Transposition-table entries kept (oldest dropped first)."""
    compiled: bool = True
    """Search in compiled code (``_k_alphabeta``) when the evaluator offers a compiled
    leaf; the same search, node for node."""

    def __post_init__(self):
        if self.max_depth < 1 or self.tt_size < 1:
            raise ValueError("minimax: max_depth and tt_size must be positive")


class MinimaxPlayer(MovePlayer):
    """Iterative-deepening alpha-beta (paranoid beyond two players)."""

    def __init__(self, evaluator: Evaluator, config: MinimaxConfig = MinimaxConfig(), name: str = "minimax"):
        self.evaluator = evaluator
        self.cfg = config
        self.name = name
        self.last_depth = 0
        self.last_nodes = 0

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows = game.legal()
        if len(rows) == 1:
            return rows[0]
        rng = np.random.default_rng(seed)
        compiled_leaf = getattr(self.evaluator, "compiled_leaf", None)
        if self.cfg.compiled and compiled_leaf is not None:
            from ._k_alphabeta import now_ns, search

            start = time.perf_counter_ns()
            kind, hargs, nargs = compiled_leaf(game)
            if budget.seconds is not None and kind not in _WARM:
                # Loading (or compiling) the search and its clock would otherwise eat
                # the first timed decision of the process: one node first, off the clock.
                search(game.S, game.spec.geo, rows, np.arange(len(rows)), 1, 1, 16, kind, hargs, nargs, 0)
                now_ns()
                _WARM.add(kind)
                start = time.perf_counter_ns()
            deadline = 0 if budget.seconds is None else start + max(1, int(budget.seconds * 1e9))
            nodes = budget.nodes if budget.nodes is not None else _NO_NODE_LIMIT
            best, self.last_depth, self.last_nodes = search(game.S, game.spec.geo, rows, _order(rows, rng),
                                                            self.cfg.max_depth, nodes, self.cfg.tt_size,
                                                            kind, hargs, nargs, deadline)
            return rows[int(best)]
        self._me = game.current_player
        # An evaluator that can value one seat alone (``value_of``, e.g. the NNUE's one
        # head of several) is asked for just the root player's value at the leaves.
        self._one = getattr(self.evaluator, "value_of", None)
        self._clock = budget.clock()
        self._tt: dict = {}
        g = game.copy()
        order = _order(rows, rng)
        best = int(order[0])
        self.last_depth = 0
        for depth in range(1, self.cfg.max_depth + 1):
            try:
                _, idx = self._root(g, rows, order, depth)
            except _OutOfBudget:
                break
            best = idx
            self.last_depth = depth
            # Search the previous best first at the next depth.
            order = np.concatenate(([best], order[order != best]))
        self.last_nodes = self._clock.nodes
        return rows[best]

    # ---- search ------------------------------------------------------------------
    def _leaf(self, g: FastGame) -> float:
        """The root player's value of a leaf."""
        if self._one is not None:
            return float(self._one(g, self._me))
        return float(self.evaluator.values(g)[self._me - 1])

    def _root(self, g: FastGame, rows, order, depth):
        alpha, beta = -np.inf, np.inf
        best_v, best_i = -np.inf, int(order[0])
        for i in order:
            g.push(rows[i])
            v = self._value(g, depth - 1, alpha, beta)
            g.pop()
            if v > best_v:
                best_v, best_i = v, int(i)
            alpha = max(alpha, v)
        return best_v, best_i

    def _value(self, g: FastGame, depth: int, alpha: float, beta: float) -> float:
        if self._clock.exhausted():
            raise _OutOfBudget
        self._clock.tick()
        pushed = 0
        while not is_over(g):
            rows = g.legal()
            if len(rows) != 1:
                break
            g.push(rows[0])
            pushed += 1
        try:
            if is_over(g):
                return float(terminal_values(g)[self._me - 1]) * _WIN
            if depth <= 0:
                return self._leaf(g)
            key = int(state_hash(g.S))
            hit = self._tt.get(key)
            first = None
            if hit is not None:
                h_depth, h_val, h_flag, h_move = hit
                if h_depth >= depth:
                    if h_flag == _EXACT:
                        return h_val
                    if h_flag == _LOWER and h_val >= beta:
                        return h_val
                    if h_flag == _UPPER and h_val <= alpha:
                        return h_val
                first = h_move
            maximizing = g.current_player == self._me
            order = _order(rows, None, first)
            a0, b0 = alpha, beta
            best = -np.inf if maximizing else np.inf
            best_i = int(order[0])
            for i in order:
                g.push(rows[i])
                v = self._value(g, depth - 1, alpha, beta)
                g.pop()
                if maximizing:
                    if v > best:
                        best, best_i = v, int(i)
                    alpha = max(alpha, v)
                else:
                    if v < best:
                        best, best_i = v, int(i)
                    beta = min(beta, v)
                if alpha >= beta:
                    break
            flag = _EXACT
            if best <= a0:
                flag = _UPPER
            elif best >= b0:
                flag = _LOWER
            if len(self._tt) >= self.cfg.tt_size:
                self._tt.pop(next(iter(self._tt)))
            self._tt[key] = (depth, best, flag, best_i)
            return best
        finally:
            for _ in range(pushed):
                g.pop()


def _order(rows: np.ndarray, rng, first=None) -> np.ndarray:
    """Captures first (they decide most games), then the rest; ``first`` leads."""
    caps = capture_mask(rows)
    idx = np.arange(len(rows))
    if rng is not None:
        idx = rng.permutation(idx)
    order = np.concatenate((idx[caps[idx]], idx[~caps[idx]]))
    if first is not None and first < len(rows):
        order = np.concatenate(([first], order[order != first]))
    return order
