"""Descent: unbounded best-first minimax.

Cohen-Solal, "Learning to play two-player perfect-information games without
knowledge" (2020).  The tree grows along the principal variation: from the root,
follow the child that is best for the player to act until an unexpanded node, expand
it (every child is evaluated), back the values up, and - the *descent* part - keep
expanding along the new best child until the game ends, so that every iteration ends
in exact values.  Values are vectors (one per seat); a node takes the child vector
that is best for its mover (max-n), which is minimax for two players.

Budget nodes count evaluated children.
"""

from __future__ import annotations

import numpy as np

from ..rules.fast import FastGame
from .base import Budget, Evaluator, is_over, obvious_move, terminal_values, MovePlayer


class _DNode:
    __slots__ = ("S", "rows", "children", "values", "mover", "terminal")

    def __init__(self, S, values, terminal):
        self.S = S
        self.values = values
        self.terminal = terminal
        self.rows = None
        self.children = None
        self.mover = -1


def _quiet(g: FastGame, limit: int = 64) -> None:
    for _ in range(limit):
        if is_over(g):
            return
        rows = g.legal()
        if len(rows) != 1:
            return
        g.apply(rows[0])


class DescentPlayer(MovePlayer):
    """Plays the root child with the best backed-up value for the mover."""

    def __init__(self, evaluator: Evaluator, descent: bool = True, name: str = "descent"):
        self.evaluator = evaluator
        self.descent = descent
        self.name = name

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows, obvious = obvious_move(game)
        if obvious is not None:
            return obvious
        rng = np.random.default_rng(seed)
        g = game.copy()
        root = _DNode(g.S.copy(), self.evaluator.values(g), False)
        self._scratch = g
        clock = budget.clock()
        self._expand(root, clock)
        while not clock.exhausted():
            if not self._iterate(root, clock, rng):
                break  # the principal variation ends in a finished game: nothing to grow
        vals = np.array([c.values[root.mover] for c in root.children])
        best = np.flatnonzero(vals == vals.max())
        return root.rows[best[rng.integers(len(best))]]

    def _expand(self, node: _DNode, clock) -> None:
        g = self._scratch
        g.S = node.S.copy()
        node.rows = g.legal()
        node.mover = g.current_player - 1
        node.children = []
        for r in node.rows:
            g.S = node.S.copy()
            g.apply(r)
            _quiet(g)
            if is_over(g):
                child = _DNode(g.S.copy(), terminal_values(g), True)
            else:
                child = _DNode(g.S.copy(), np.asarray(self.evaluator.values(g), dtype=float), False)
            node.children.append(child)
            clock.tick()
        node.values = self._best(node)

    @staticmethod
    def _best(node: _DNode) -> np.ndarray:
        vals = [c.values for c in node.children]
        k = int(np.argmax([v[node.mover] for v in vals]))
        return vals[k]

    def _iterate(self, root: _DNode, clock, rng) -> bool:
        """Grow the tree along the principal variation; False if nothing was expanded."""
        path = [root]
        node = root
        grew = False
        while not clock.exhausted():
            if node.terminal:
                break
            if node.children is None:
                self._expand(node, clock)
                grew = True
                if not self.descent:
                    break
            vals = np.array([c.values[node.mover] for c in node.children])
            best = np.flatnonzero(vals == vals.max())
            node = node.children[best[rng.integers(len(best))]]
            path.append(node)
        for n in reversed(path):
            if n.children is not None:
                n.values = self._best(n)
        return grew
