"""Tree-search players: :class:`SearchPlayer` over any evaluator.

``MCTSPlayer`` (PUCT root) and ``GumbelPlayer`` (Gumbel root with sequential halving)
are the same tree of :mod:`ringrift_ml.ai.search` with a different root rule.  A
player answers the only legal move, and a move that wins on the spot, without
searching; everything else is one search.  :meth:`SearchPlayer.begin` hands out the
search as a generator of evaluation requests so that drivers of many games batch the
evaluations of all of them (:func:`ringrift_ml.ai.search.run_searches`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..rules.fast import FastGame
from .base import Budget, Evaluator, immediate_win, terminal_values
from .result import SearchResult
from .search import SearchConfig, SearchGen, finished, run_search, search_steps, visit_policy


def _win_values(game: FastGame, row: np.ndarray) -> np.ndarray:
    g = game.copy()
    g.apply(row)
    while not g.is_over:
        g.apply(g.legal()[0])
    return terminal_values(g)


class SearchPlayer:
    """Tree search guided by an evaluator (heuristic or network)."""

    searches = True  # full / fast searches apply (playout-cap randomization)

    def __init__(self, evaluator: Evaluator, config: SearchConfig = SearchConfig(), name: str = "mcts",
                 shortcut: bool = True):
        self.evaluator = evaluator
        self.config = config
        self.name = name
        self.shortcut = shortcut
        """Play a move that wins on the spot without searching."""

    def begin(self, game: FastGame, budget: Budget, seed: int, temperature: float = 0.0,
              explore: bool = False) -> SearchGen:
        rows = game.legal()
        n = game.num_players
        if len(rows) == 1:
            return finished(SearchResult.one_hot(rows, 0, n))
        if self.shortcut:
            win = immediate_win(game, rows)
            if win is not None:
                return finished(SearchResult.one_hot(rows, win, n, _win_values(game, rows[win]), full=True))
        return search_steps(game, budget, seed, self.config, temperature, explore)

    def think(self, game: FastGame, budget: Budget, seed: int, temperature: float = 0.0,
              explore: bool = False) -> SearchResult:
        return run_search(self.begin(game, budget, seed, temperature, explore), self.evaluator)

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        return self.think(game, budget, seed).row


def MCTSConfig(**kw) -> SearchConfig:
    """Settings of a PUCT-root search (see :class:`SearchConfig`)."""
    return SearchConfig(root="puct", **kw)


def GumbelConfig(**kw) -> SearchConfig:
    """Settings of a Gumbel-root search (see :class:`SearchConfig`)."""
    return SearchConfig(root="gumbel", **kw)


def MCTSPlayer(evaluator: Evaluator, config: SearchConfig = None, name: str = "mcts") -> SearchPlayer:
    cfg = config if config is not None else SearchConfig()
    return SearchPlayer(evaluator, dataclasses.replace(cfg, root="puct"), name)


def GumbelPlayer(evaluator: Evaluator, config: SearchConfig = None, name: str = "gumbel") -> SearchPlayer:
    cfg = config if config is not None else SearchConfig(root="gumbel")
    return SearchPlayer(evaluator, dataclasses.replace(cfg, root="gumbel"), name)


__all__ = ["GumbelConfig", "GumbelPlayer", "MCTSConfig", "MCTSPlayer", "SearchPlayer", "visit_policy"]
