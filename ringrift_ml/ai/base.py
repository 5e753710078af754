"""Player and evaluator interfaces shared by every engine.

A *player* chooses a move for the player to act, within a :class:`Budget` and
deterministically under a seed.  Search never depends on a model directly: it asks an
*evaluator* for values (one per seat, in ``[-1, 1]``, from each seat's own view) and,
optionally, move priors.  Bookkeeping moves (the only legal move of a phase) are
played without search by :func:`play_forced`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional, Protocol, runtime_checkable

import numpy as np
from numba import njit

from ..rules import GameState
from ..rules.fast import FastGame
from ._k_win import winning_move
from .result import SearchResult, row_index


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much a player may think about one decision."""

    nodes: Optional[int] = None
    """Search nodes / playouts / evaluations (engine-specific unit); None = unlimited."""
    seconds: Optional[float] = None
    """Wall-clock limit per decision; None = unlimited (nodes must then be set)."""

    def __post_init__(self):
        if self.nodes is None and self.seconds is None:
            raise ValueError("budget: give nodes, seconds or both")
        if self.nodes is not None and (not isinstance(self.nodes, int) or self.nodes < 1):
            raise ValueError(f"budget.nodes: expected a positive integer, got {self.nodes!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"budget.seconds: expected a positive number, got {self.seconds!r}")

    def clock(self) -> "Clock":
        return Clock(self)


class Clock:
    """Counts nodes and time against a budget."""

    __slots__ = ("budget", "start", "nodes")

    def __init__(self, budget: Budget):
        self.budget = budget
        self.start = time.perf_counter()
        self.nodes = 0

    def tick(self, n: int = 1) -> None:
        self.nodes += n

    def exhausted(self) -> bool:
        b = self.budget
        if b.nodes is not None and self.nodes >= b.nodes:
            return True
        return b.seconds is not None and time.perf_counter() - self.start >= b.seconds


@runtime_checkable
class Evaluator(Protocol):
    """Values (and optionally priors) for positions."""

    def values(self, game: FastGame) -> np.ndarray:
        """``(num_players,)`` values in ``[-1, 1]``, seat ``p`` at index ``p - 1``."""

    def priors(self, game: FastGame, rows: np.ndarray) -> Optional[np.ndarray]:
        """``(K,)`` probabilities over ``rows`` (the legal moves), or None for uniform."""


class Player(Protocol):
    """Something that picks moves: one :meth:`think` per decision.

    ``temperature`` (search players choosing from visits) and ``explore`` (root
    noise) are what selfplay asks for; arenas leave both off.  Players that search
    also offer ``begin`` (the same search as a generator of evaluation requests) and
    an ``evaluator`` attribute, so that drivers of many games batch evaluations."""

    name: str

    def think(self, game: FastGame, budget: Budget, seed: int, temperature: float = 0.0,
              explore: bool = False) -> SearchResult:
        """The decision for the player to act in ``game`` (not modified)."""


class MovePlayer:
    """Base of players that pick a move without a search distribution: their
    :meth:`think` is the one-hot result of :meth:`choose_row`."""

    def think(self, game: FastGame, budget: Budget, seed: int, temperature: float = 0.0,
              explore: bool = False) -> SearchResult:
        rows = game.legal()
        row = self.choose_row(game, budget, seed)
        return SearchResult.one_hot(rows, row_index(rows, row), game.num_players)


def choose_move(player: Player, state: GameState, budget: Budget, seed: int):
    """Public convenience: the :class:`~ringrift_ml.rules.Move` a player picks."""
    game = FastGame(state)
    return game.move(player.think(game, budget, seed).row)


@njit(cache=True)
def rank_value(rank, num_players):
    """The value of finishing at ``rank``: first +1, last -1, linear between (compiled:
    the compiled alpha-beta values its finished games with it too)."""
    return 1.0 - 2.0 * (rank - 1) / (num_players - 1)


def terminal_values(game: FastGame) -> np.ndarray:
    """Exact values of a finished game: by final rank, winner +1, last -1."""
    st = game.state()
    n = st.num_players
    ranks = st.ranks
    if n == 1:
        return np.ones(1)
    return np.array([rank_value(ranks[p], n) for p in range(1, n + 1)])


def is_over(game: FastGame) -> bool:
    return game.is_over


def play_forced(game: FastGame, limit: int = 64) -> int:
    """Apply moves while exactly one is legal (bookkeeping); returns how many."""
    k = 0
    while k < limit and not is_over(game):
        rows = game.legal()
        if len(rows) != 1:
            break
        game.push(rows[0])
        k += 1
    return k


def immediate_win(game: FastGame, rows: np.ndarray):
    """Index of a move that wins on the spot for the player to act (forced follow-ups
    included), or None.  Cheap enough to run before any search (compiled:
    ``_k_win.winning_move``)."""
    if len(rows) == 0 or game.is_over:
        return None
    i = winning_move(game.S, game.spec.geo, np.ascontiguousarray(rows, dtype=np.int64))
    return None if i < 0 else int(i)


def obvious_move(game: FastGame):
    """``(legal rows, row or None)``: the row to play without searching - the only
    legal move, or a move that wins on the spot - if there is one."""
    rows = game.legal()
    if len(rows) == 1:
        return rows, rows[0]
    win = immediate_win(game, rows)
    return rows, (rows[win] if win is not None else None)
