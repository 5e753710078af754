"""PUCT Monte-Carlo tree search with evaluator priors and values.

Silver et al., "Mastering the game of Go without human knowledge" (Nature 2017):
children are selected by ``Q + c_puct * P * sqrt(N) / (1 + n)`` from the view of the
seat to act at the parent; leaves are valued by the evaluator (one value per seat)
and the vector is backed up unchanged, so 3-4 player games need no sign flips.
Nodes are decision points: forced (single) moves are played through on expansion.

Shapes: ``Node.P``, ``Node.N``, ``Node.W`` are ``(K,)`` over the node's legal moves;
``Node.W`` holds the value sums of the seat that moves at the node.
"""

from __future__ import annotations

import dataclasses
import math
import numpy as np

from ..rules.fast import FastGame
from .base import Budget, Evaluator, is_over, obvious_move, terminal_values


@dataclasses.dataclass(frozen=True)
class MCTSConfig:
    """Search settings."""

    c_puct: float = 1.5
    """Exploration constant of the PUCT rule."""
    dirichlet_alpha: float = 0.0
    """Root noise concentration (0 = no noise; selfplay uses ~0.3)."""
    dirichlet_frac: float = 0.25
    """Share of the root prior replaced by noise when noise is on."""
    max_forced: int = 64
    """Forced moves played through at one expansion (bookkeeping chains are short)."""

    def __post_init__(self):
        if not self.c_puct > 0:
            raise ValueError(f"c_puct: must be positive, got {self.c_puct}")
        if self.dirichlet_alpha < 0 or not 0 <= self.dirichlet_frac <= 1:
            raise ValueError("dirichlet: alpha >= 0 and 0 <= frac <= 1 required")


class _Node:
    __slots__ = ("S", "rows", "P", "N", "W", "children", "mover", "terminal", "values")

    def __init__(self, game: FastGame, evaluator: Evaluator, cfg: MCTSConfig):
        forced = 0
        while not is_over(game) and forced < cfg.max_forced:
            rows = game.legal()
            if len(rows) != 1:
                break
            game.apply(rows[0])
            forced += 1
        self.S = game.S.copy()
        self.terminal = is_over(game)
        if self.terminal:
            self.values = terminal_values(game)
            self.rows = None
            return
        self.rows = game.legal()
        self.mover = game.current_player - 1
        self.values = np.asarray(evaluator.values(game), dtype=np.float64)
        pri = evaluator.priors(game, self.rows)
        k = len(self.rows)
        self.P = np.full(k, 1.0 / k) if pri is None else np.asarray(pri, dtype=np.float64)
        self.N = np.zeros(k)
        self.W = np.zeros(k)
        self.children: dict = {}


class MCTS:
    """Reusable search object; :meth:`search` runs one search from a position."""

    def __init__(self, evaluator: Evaluator, config: MCTSConfig = MCTSConfig()):
        self.evaluator = evaluator
        self.cfg = config

    def search(self, game: FastGame, budget: Budget, seed: int):
        """Returns ``(root rows (K, 8), visit counts (K,), root values, simulations)``."""
        rng = np.random.default_rng(seed)
        root = _Node(game.copy(), self.evaluator, self.cfg)
        if root.terminal:
            raise ValueError("search: the game is over")
        if self.cfg.dirichlet_alpha > 0 and len(root.rows) > 1:
            noise = rng.dirichlet([self.cfg.dirichlet_alpha] * len(root.rows))
            root.P = (1 - self.cfg.dirichlet_frac) * root.P + self.cfg.dirichlet_frac * noise
        clock = budget.clock()
        sims = 0
        scratch = game.scratch()
        while not clock.exhausted():
            self._simulate(root, scratch, rng)
            sims += 1
            clock.tick()
        return root.rows, root.N.copy(), root.values, sims

    def _simulate(self, root: _Node, scratch: FastGame, rng, first: int = -1) -> None:
        """One simulation; ``first >= 0`` forces the root action (Gumbel search)."""
        path = []
        node = root
        while True:
            if node.terminal:
                values = node.values
                break
            sq = math.sqrt(node.N.sum() + 1.0)
            q = np.where(node.N > 0, node.W / np.maximum(node.N, 1), 0.0)
            if node is root and first >= 0:
                a = first
            else:
                u = q + self.cfg.c_puct * node.P * sq / (1.0 + node.N)
                best = np.flatnonzero(u == u.max())
                a = int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])
            path.append((node, a))
            child = node.children.get(a)
            if child is None:
                scratch.S = node.S.copy()
                scratch.apply(node.rows[a])
                child = _Node(scratch, self.evaluator, self.cfg)
                node.children[a] = child
                values = child.values
                break
            node = child
        for n, a in path:
            n.N[a] += 1.0
            n.W[a] += values[n.mover]


class MCTSPlayer:
    """Plays the most visited root move (ties broken by the seed)."""

    def __init__(self, evaluator: Evaluator, config: MCTSConfig = MCTSConfig(), name: str = "mcts"):
        self.search = MCTS(evaluator, config)
        self.name = name

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows, obvious = obvious_move(game)
        if obvious is not None:
            return obvious
        roots, visits, _, _ = self.search.search(game, budget, seed)
        best = np.flatnonzero(visits == visits.max())
        return roots[best[np.random.default_rng(seed).integers(len(best))]]


def visit_policy(visits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Visit counts to a distribution (temperature 0 = argmax)."""
    if temperature <= 0:
        p = (visits == visits.max()).astype(float)
    else:
        p = visits ** (1.0 / temperature)
    s = p.sum()
    return p / s if s > 0 else np.full(len(visits), 1.0 / len(visits))


__all__ = ["MCTS", "MCTSConfig", "MCTSPlayer", "visit_policy"]
