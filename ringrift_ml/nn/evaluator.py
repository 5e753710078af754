"""The network as a search evaluator, and the no-search policy player.

:class:`NetEvaluator` answers search requests (``[(game, legal rows)]``) with one
forward pass of :class:`~ringrift_ml.nn.infer.NetRunner` for the whole batch, after
looking every position up in an evaluation cache keyed by the position's state
(positions recur through transpositions, forced-move chains and across the games of
a worker).  It also offers the per-position ``values`` / ``priors`` pair of the
evaluator protocol so that any heuristic-style search can use a network.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from ..ai.base import Budget, MovePlayer
from ..ai.result import SearchResult
from ..ai.search import finished, run_search
from .infer import NetRunner


class NetEvaluator:
    def __init__(self, runner: NetRunner, cache_size: int = 200_000):
        self.runner = runner
        self.board = runner.board
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.batches = 0

    @staticmethod
    def _key(game, rows) -> bytes:
        h = hashlib.blake2b(game.S.tobytes(), digest_size=16)
        h.update(np.ascontiguousarray(rows).tobytes())
        return h.digest()

    def evaluate(self, items: list) -> list:
        """``[(row priors, seat values)]`` for ``[(game, legal rows)]``, one forward
        pass for every position not in the cache."""
        keys = [self._key(g, rows) for g, rows in items]
        out: list = [None] * len(items)
        todo: dict = {}
        for i, k in enumerate(keys):
            hit = self._cache.get(k)
            if hit is not None:
                self._cache.move_to_end(k)
                out[i] = hit
                self.hits += 1
            else:
                todo.setdefault(k, []).append(i)
        if todo:
            firsts = [idx[0] for idx in todo.values()]
            answers = self.runner([items[i] for i in firsts])
            self.batches += 1
            self.misses += len(firsts)
            for (k, idx), ans in zip(todo.items(), answers):
                for i in idx:
                    out[i] = ans
                if self.cache_size > 0:
                    self._cache[k] = ans
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def values(self, game) -> np.ndarray:
        return self.evaluate([(game, game.legal())])[0][1]

    def priors(self, game, rows):
        return self.evaluate([(game, rows)])[0][0]

    def clear(self) -> None:
        self._cache.clear()


class NetPolicyPlayer(MovePlayer):
    """Plays the network's most probable move (no search); ties break by the seed.
    Its evaluation is one request, so drivers of many games batch it too."""

    def __init__(self, evaluator, name: str = "policy"):
        self.evaluator = evaluator if isinstance(evaluator, NetEvaluator) else NetEvaluator(evaluator)
        self.runner = self.evaluator.runner
        self.name = name

    def begin(self, game, budget: Budget, seed: int, temperature: float = 0.0, explore: bool = False):
        rows = game.legal()
        n = game.num_players
        if len(rows) == 1:
            return finished(SearchResult.one_hot(rows, 0, n))
        return self._steps(game.copy(), rows, seed)

    @staticmethod
    def _steps(game, rows, seed):
        (p, v), = yield [(game, rows)]
        best = np.flatnonzero(p >= p.max() * (1 - 1e-6))
        chosen = int(best[np.random.default_rng(seed).integers(len(best))])
        return SearchResult.one_hot(rows, chosen, game.num_players, v)

    def think(self, game, budget: Budget, seed: int, temperature: float = 0.0, explore: bool = False):
        return run_search(self.begin(game, budget, seed), self.evaluator)

    def choose_row(self, game, budget: Budget, seed: int) -> np.ndarray:
        return self.think(game, budget, seed).row


__all__ = ["NetEvaluator", "NetPolicyPlayer"]
