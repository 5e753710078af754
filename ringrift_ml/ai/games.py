"""Many games at once: the driver behind selfplay, arenas and tuning.

:func:`play_games` keeps up to ``concurrency`` games in flight.  Each round, every
game that needs a decision asks its seat's player: players that search hand in their
search as a generator of evaluation requests, and the requests of all games that
share an evaluator (a network) are answered by one batched call
(:func:`ringrift_ml.ai.search.run_searches`); other players answer directly.  A game's
moves depend only on its job (players, seed, options), never on which games it was
batched with.

Per decision, ``GameJob.seed`` drives a generator that draws the player's seed, so
games are reproducible.  Playout-cap randomization (KataGo, Wu 2019): with
``full_search_prob < 1`` each search decision is a *full* search (``budget``, root
noise when ``explore``) with that probability, else a *fast* one (``fast_budget``, no
noise) that is not a policy target; the flag travels in each
:class:`~ringrift_ml.ai.result.SearchResult`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ..rules import new_game
from ..rules.fast import FastGame
from .result import SearchResult
from .search import run_searches


@dataclasses.dataclass
class GameJob:
    """One game to play."""

    board: str
    players: list
    """Player per seat (seat ``i + 1`` is ``players[i]``)."""
    budgets: list
    """Full-search budget per seat."""
    seed: int
    swap_rule: bool = False
    max_moves: int = 20_000
    """Safety cap (the progress measure bounds real games far below it)."""
    random_opening: int = 0
    """Decisions played uniformly at random (from the seed) before the players take over."""
    temperature: Optional[Callable[[int], float]] = None
    """Move-choice temperature by decision number (None: 0, the best move)."""
    explore: bool = False
    """Root noise on full searches (selfplay)."""
    full_search_prob: float = 1.0
    """Share of search decisions that get a full search."""
    fast_budgets: Optional[list] = None
    """Fast-search budget per seat (used when ``full_search_prob < 1``)."""
    tag: object = None
    """Anything the caller wants back with the result (an index, a pairing)."""
    prefix: tuple = ()
    """Move rows played before the players take over (a continuation of a recorded
    game); its choices count as decisions, so the temperature schedule and the random
    opening go on where the recorded game stood."""


@dataclasses.dataclass
class PlayedGame:
    job: GameJob
    moves: list
    """Move rows played, forced ones included."""
    results: list
    """Per move: the :class:`SearchResult` of a decision, or None (forced / random opening)."""
    fast: list
    """Per move: whether the decision was a fast search (playout-cap randomization)."""
    game: FastGame
    """The final position."""

    @property
    def ranks(self) -> dict:
        st = self.game.state()
        return st.ranks if st.is_over else {}


class _Live:
    __slots__ = ("job", "game", "rng", "moves", "results", "decision", "fast")

    def __init__(self, job: GameJob):
        if len(job.players) != len(job.budgets):
            raise ValueError("game job: one budget per player needed")
        self.job = job
        self.game = FastGame(new_game(job.board, len(job.players), swap_rule=job.swap_rule))
        self.rng = np.random.default_rng(job.seed)
        self.moves: list = []
        self.results: list = []
        self.fast: list = []
        self.decision = 0
        for row in job.prefix:
            if self.game.is_over:
                raise ValueError(f"game job: the prefix goes on after the game ended (move {len(self.moves) + 1})")
            if len(self.game.legal()) > 1:
                self.decision += 1
            self.play(np.asarray(row), None)

    def play(self, row: np.ndarray, result: Optional[SearchResult], fast: bool = False) -> None:
        self.moves.append(row.copy())
        self.results.append(result)
        self.fast.append(fast)
        self.game.apply(row)

    def advance(self) -> bool:
        """Play forced and random-opening moves; True when a player must decide."""
        g = self.game
        while not g.is_over and len(self.moves) < self.job.max_moves:
            rows = g.legal()
            if len(rows) == 1:
                self.play(rows[0], None)
                continue
            if self.decision < self.job.random_opening:
                self.decision += 1
                self.play(rows[self.rng.integers(len(rows))], None)
                continue
            return True
        return False


def play_games(jobs: list, concurrency: int = 1, on_done: Optional[Callable[[PlayedGame], None]] = None,
               on_batch: Optional[Callable[[int], None]] = None,
               stop: Optional[Callable[[], bool]] = None) -> list:
    """Play every job; returns :class:`PlayedGame` in job order.  ``stop``: asked before
    every round of decisions; once it answers true the games in flight are abandoned
    and no more start (their entries stay None): a caller that has what it needs (a
    sequential test that decided) wastes no more work."""
    if concurrency < 1:
        raise ValueError(f"concurrency: must be positive, got {concurrency}")
    out: list = [None] * len(jobs)
    queue = list(range(len(jobs)))[::-1]
    live: dict = {}
    while queue or live:
        if stop is not None and stop():
            break
        while queue and len(live) < concurrency:
            i = queue.pop()
            live[i] = _Live(jobs[i])
        tasks, owners = [], []
        for i in sorted(live):
            lg = live[i]
            if not lg.advance():
                continue
            job = lg.job
            seat = lg.game.current_player - 1
            player = job.players[seat]
            seed = int(lg.rng.integers(2**31))
            # Only players that search get the full / fast coin (``searches`` attribute).
            full = (job.full_search_prob >= 1 or not getattr(player, "searches", False)
                    or lg.rng.random() < job.full_search_prob)
            budget = job.budgets[seat] if full or not job.fast_budgets else job.fast_budgets[seat]
            temp = job.temperature(lg.decision) if job.temperature is not None else 0.0
            explore = job.explore and full
            lg.decision += 1
            begin = getattr(player, "begin", None)
            if begin is not None:
                tasks.append((begin(lg.game, budget, seed, temp, explore), player.evaluator))
                owners.append((i, full))
            else:
                res = player.think(lg.game, budget, seed, temp, explore)
                lg.play(res.row, res)
        for (i, full), res in zip(owners, run_searches(tasks, on_batch)):
            if not full and res.full:
                res = dataclasses.replace(res, full=False)
            live[i].play(res.row, res, not full)
        for i in [i for i, lg in live.items() if lg.game.is_over or len(lg.moves) >= lg.job.max_moves]:
            lg = live.pop(i)
            out[i] = PlayedGame(lg.job, lg.moves, lg.results, lg.fast, lg.game)
            if on_done is not None:
                on_done(out[i])
    return out


def random_positions(board: str, players: int, count: int, seed: int = 0, min_moves: int = 5,
                     max_moves: int = 80) -> list:
    """``count`` positions (a :class:`FastGame` each) reached by ``min_moves`` to
    ``max_moves`` uniformly random moves from the start, seeded, each unfinished and with
    a choice for the player to act (benchmarks and tests of searches and evaluators)."""
    if count < 1 or not 0 <= min_moves < max_moves:
        raise ValueError(f"random positions: count >= 1 and 0 <= min_moves < max_moves required, got {count}, "
                         f"{min_moves}, {max_moves}")
    rng = np.random.default_rng(seed)
    out: list = []
    while len(out) < count:
        g = FastGame(new_game(board, players))
        for _ in range(int(rng.integers(min_moves, max_moves))):
            if g.is_over:
                break
            rows = g.legal()
            g.apply(rows[rng.integers(len(rows))])
        if not g.is_over and len(g.legal()) > 1:
            out.append(g)
    return out


__all__ = ["GameJob", "PlayedGame", "play_games", "random_positions"]
