"""Gumbel root search with sequential halving.

Danihelka, Guez, Schrittwieser & Silver, "Policy improvement by planning with Gumbel"
(ICLR 2022).  At the root, ``m`` actions are drawn without replacement by Gumbel-top-k
on the prior logits; sequential halving spends the simulation budget on them in
``ceil(log2 m)`` rounds, each time keeping the better half by
``g + logits + sigma(q)``.  Below the root the search is the PUCT tree of
:mod:`ringrift_ml.ai.mcts`.  The result is a move and the *improved policy*
``softmax(logits + sigma(completed q))``, a soft training target.

Shapes: ``logits``, ``g``, ``q`` are ``(K,)`` over the root's legal moves.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..rules.fast import FastGame
from .base import Budget, Evaluator, obvious_move
from .mcts import MCTS, MCTSConfig, _Node


@dataclasses.dataclass(frozen=True)
class GumbelConfig:
    """Search settings."""

    max_considered: int = 16
    """Root actions sampled for sequential halving (m)."""
    c_visit: float = 50.0
    """sigma(q) = (c_visit + max visits) * c_scale * q."""
    c_scale: float = 0.1
    """See ``c_visit``."""
    c_puct: float = 1.5
    """Exploration constant of the tree below the root."""

    def __post_init__(self):
        if self.max_considered < 1 or self.c_visit < 0 or self.c_scale <= 0:
            raise ValueError("gumbel: max_considered >= 1, c_visit >= 0, c_scale > 0 required")


def _sigma(q: np.ndarray, visits: np.ndarray, cfg: GumbelConfig) -> np.ndarray:
    return (cfg.c_visit + visits.max()) * cfg.c_scale * q


class GumbelSearch:
    def __init__(self, evaluator: Evaluator, config: GumbelConfig = GumbelConfig()):
        self.cfg = config
        self.tree = MCTS(evaluator, MCTSConfig(c_puct=config.c_puct))

    def search(self, game: FastGame, budget: Budget, seed: int):
        """Returns ``(rows, chosen index, improved policy (K,), visits (K,))``."""
        if budget.nodes is None:
            raise ValueError("budget: Gumbel search needs a simulation count (nodes)")
        rng = np.random.default_rng(seed)
        root = _Node(game.copy(), self.tree.evaluator, self.tree.cfg)
        if root.terminal:
            raise ValueError("search: the game is over")
        k = len(root.rows)
        logits = np.log(np.maximum(root.P, 1e-12))
        g = rng.gumbel(size=k)
        m = min(self.cfg.max_considered, k, budget.nodes)
        cand = list(np.argsort(-(g + logits))[:m])
        scratch = game.scratch()
        n = budget.nodes
        rounds = max(1, math.ceil(math.log2(m))) if m > 1 else 1
        used = 0
        while True:
            per = max(1, n // (rounds * len(cand)))
            for a in cand:
                for _ in range(per):
                    if used >= n:
                        break
                    self.tree._simulate(root, scratch, rng, first=int(a))
                    used += 1
            if len(cand) == 1 or used >= n:
                break
            q = self._q(root)
            score = {a: g[a] + logits[a] + _sigma(q, root.N, self.cfg)[a] for a in cand}
            cand = sorted(cand, key=lambda a: -score[a])[: max(1, len(cand) // 2)]
        q = self._q(root)
        sig = _sigma(q, root.N, self.cfg)
        best = max(cand, key=lambda a: g[a] + logits[a] + sig[a])
        z = logits + sig
        z = z - z.max()
        policy = np.exp(z) / np.exp(z).sum()
        return root.rows, int(best), policy, root.N.copy()

    @staticmethod
    def _q(root) -> np.ndarray:
        """Completed Q in [0, 1] from the mover's view: visited actions use their mean
        value, unvisited ones the root value."""
        v = (root.values[root.mover] + 1) / 2
        q = np.full(len(root.N), v)
        seen = root.N > 0
        q[seen] = (root.W[seen] / root.N[seen] + 1) / 2
        return q


class GumbelPlayer:
    """Plays the move chosen by sequential halving."""

    def __init__(self, evaluator: Evaluator, config: GumbelConfig = GumbelConfig(), name: str = "gumbel"):
        self.search = GumbelSearch(evaluator, config)
        self.name = name

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows, obvious = obvious_move(game)
        if obvious is not None:
            return obvious
        roots, best, _, _ = self.search.search(game, budget, seed)
        return roots[best]
