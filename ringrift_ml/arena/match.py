"""Games between players: round robins, head-to-head matches and sequential tests.

All of them play through :func:`ringrift_ml.ai.games.play_games`: ``concurrency``
games are in flight together and the network evaluations of all of them share
forward passes.  ``random_opening`` plays that many decisions uniformly at random
(from the game's seed) before the players take over, so that deterministic players
meet in different games rather than replaying one game per seating.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from typing import Callable, Optional

from tqdm import tqdm

from ..ai.base import Budget
from ..ai.games import GameJob, PlayedGame, play_games
from .elo import pairwise_from_ranks, wilson

MAX_MOVES = 20_000  # far above any game's length (the progress measure bounds games)


@dataclasses.dataclass
class GameResult:
    seats: list  # player name per seat
    winner_seat: Optional[int]
    ranks: dict  # seat -> rank
    reason: Optional[str]
    moves: int
    seed: int
    digest: str = ""  # hash of the move sequence (tells distinct games apart)


def _result(pg: PlayedGame) -> GameResult:
    st = pg.game.state()
    digest = hashlib.blake2b(b"".join(r.tobytes() for r in pg.moves), digest_size=8).hexdigest()
    return GameResult(seats=[p.name for p in pg.job.players], winner_seat=st.winner,
                      ranks=st.ranks if st.is_over else {}, reason=st.victory_reason,
                      moves=len(pg.moves), seed=pg.job.seed, digest=digest)


def play_game(players: list, budgets: list, board: str, seed: int, swap_rule: bool = False,
              random_opening: int = 0) -> GameResult:
    """One game; ``players[i]`` sits in seat ``i + 1``."""
    job = GameJob(board, list(players), list(budgets), seed, swap_rule=swap_rule, max_moves=MAX_MOVES,
                  random_opening=random_opening)
    return _result(play_games([job])[0])


def _play(jobs: list, concurrency: int, desc: str, progress: bool, on_game: Optional[Callable] = None,
          on_played: Optional[Callable] = None, runner: Optional[Callable] = None) -> list:
    bar = tqdm(total=len(jobs), desc=desc, unit="game", disable=not progress)

    def done(pg):
        bar.update(1)
        if on_game is not None:
            on_game(_result(pg))

    played = (runner or play_games)(jobs, concurrency=concurrency, on_done=done)
    bar.close()
    if on_played is not None:
        for pg in played:  # in game order, whatever order they ended in
            on_played(pg)
    return [_result(pg) for pg in played]


def round_robin(
    players: dict,
    budgets: dict,
    board: str,
    num_players: int,
    games_per_pairing: int,
    seed: int = 0,
    progress: bool = True,
    on_game: Optional[Callable] = None,
    concurrency: int = 1,
    random_opening: int = 0,
    runner: Optional[Callable] = None,
):
    """Every combination of ``num_players`` entrants plays ``games_per_pairing`` games,
    rotating seats.  Returns (game results, pairwise records).  ``runner``: plays the
    games instead of :func:`ringrift_ml.ai.games.play_games` (as for :func:`head_to_head`)."""
    names = sorted(players)
    if len(names) < num_players:
        raise ValueError(f"round robin: need at least {num_players} players, got {len(names)}")
    jobs = []
    for combo in itertools.combinations(names, num_players):
        for g in range(games_per_pairing):
            k = g % num_players
            seats = list(combo[k:] + combo[:k])
            jobs.append(GameJob(board, [players[s] for s in seats], [budgets[s] for s in seats],
                                seed + len(jobs), max_moves=MAX_MOVES, random_opening=random_opening, tag=seats))
    results = _play(jobs, concurrency, f"arena {board} {num_players}p", progress, on_game, runner=runner)
    records = []
    for job, res in zip(jobs, results):
        res.seats = list(job.tag)
        if res.ranks:
            records.extend(pairwise_from_ranks(job.tag, res.ranks))
    return results, records


def gauntlet(candidate: str, players: dict, budgets: dict, board: str, games: int, seed: int = 0,
             progress: bool = True, concurrency: int = 1, random_opening: int = 0):
    """``candidate`` against each other player in 2-player games, alternating seats."""
    results, records = [], []
    for opp in sorted(p for p in players if p != candidate):
        res, rec = round_robin({candidate: players[candidate], opp: players[opp]},
                               {candidate: budgets[candidate], opp: budgets[opp]},
                               board, 2, games, seed, progress, concurrency=concurrency,
                               random_opening=random_opening)
        results += res
        records += rec
    return results, records


def _score(res: GameResult, a_seat: int) -> float:
    """A's score in one game: the mean over the other seats of 1 (A ranked ahead), 0.5
    (tied, or the game unfinished) and 0 (behind); in 2-player games win 1, loss 0."""
    if not res.ranks:
        return 0.5
    ra = res.ranks[a_seat]
    others = [res.ranks[s] for s in res.ranks if s != a_seat]
    return sum(1.0 if ra < rb else (0.5 if ra == rb else 0.0) for rb in others) / len(others)


def _seating(a, b, budget_a, budget_b, g: int, num_players: int) -> tuple:
    """Game ``g``: ``a`` in seat ``g % num_players + 1``, ``b`` in every other seat."""
    seat = g % num_players + 1
    seats, budgets = [b] * num_players, [budget_b] * num_players
    seats[seat - 1], budgets[seat - 1] = a, budget_a
    return seats, budgets, seat


def _interval(scores: list) -> tuple:
    """95% interval of a mean game score: Wilson for win/loss/draw scores, a normal
    interval of the per-game mean when games give fractions (3-4 players)."""
    n = len(scores)
    if all(x in (0.0, 0.5, 1.0) for x in scores):
        return wilson(sum(scores), n)
    m = sum(scores) / n
    var = sum((x - m) ** 2 for x in scores) / max(1, n - 1)
    half = 1.96 * math.sqrt(var / n)
    return max(0.0, m - half), min(1.0, m + half)


def head_to_head(a, b, budget_a: Budget, budget_b: Budget, board: str, games: int, seed: int = 0,
                 concurrency: int = 1, random_opening: int = 0, progress: bool = True,
                 details: bool = False, num_players: int = 2, on_played: Optional[Callable] = None,
                 runner: Optional[Callable] = None) -> dict:
    """``a`` against ``b``: ``a`` in one seat, ``b`` in the others (``num_players`` - 1
    of them), a's seat rotating (in 2-player games game ``g`` puts ``a`` in seat 1
    when ``g`` is even).  A game scores a's mean pairwise result against the other
    seats from the final ranks.  Returns a's score with its 95% interval, the
    win/draw/loss counts (with 3-4 players: first place, a score of exactly one half, last
    place, and ``middle`` for every other finish, so the four add up to ``games``),
    per-seat scores and the mean game length; with ``details``
    also ``games_played``: per game its seed, a's seat, a's score, moves and the hash
    of its move sequence.  ``on_played(played_game, a_seat)`` sees every game in game
    order (its moves and search results, e.g. to keep it as training data).
    ``runner``: plays the games instead of :func:`ringrift_ml.ai.games.play_games`
    (same signature; e.g. on a Ray cluster)."""
    if games < 1:
        raise ValueError(f"games: must be positive, got {games}")
    jobs, a_seats = [], []
    for g in range(games):
        seats, budgets, seat = _seating(a, b, budget_a, budget_b, g, num_players)
        jobs.append(GameJob(board, seats, budgets, seed + g, max_moves=MAX_MOVES, random_opening=random_opening))
        a_seats.append(seat)
    seat_of = {id(j): s for j, s in zip(jobs, a_seats)}
    results = _play(jobs, concurrency, f"{a.name} vs {b.name}", progress,
                    on_played=None if on_played is None else (lambda pg: on_played(pg, seat_of[id(pg.job)])),
                    runner=runner)
    scores = [_score(r, s) for r, s in zip(results, a_seats)]
    points = sum(scores)
    lo, hi = _interval(scores)
    by_seat = {s: [x for x, t in zip(scores, a_seats) if t == s] for s in range(1, num_players + 1)}
    return {
        "a": a.name, "b": b.name, "board": board, "players": num_players, "games": games,
        "score": round(points / games, 4), "ci95": [round(lo, 4), round(hi, 4)],
        "wins": sum(x == 1.0 for x in scores), "draws": sum(x == 0.5 for x in scores),
        "losses": sum(x == 0.0 for x in scores), "middle": sum(x not in (0.0, 0.5, 1.0) for x in scores),
        **{f"score_as_seat{s}": round(sum(v) / max(1, len(v)), 4) for s, v in by_seat.items()},
        "mean_moves": round(sum(r.moves for r in results) / games, 1),
        "distinct_games": len({r.digest for r in results}),
        **({"games_played": [{"seed": r.seed, "a_seat": t, "score": sc, "moves": r.moves, "digest": r.digest}
                             for r, sc, t in zip(results, scores, a_seats)]} if details else {}),
    }


def sequential_match(a, b, budget_a: Budget, budget_b: Budget, board: str, sprt, max_games: int = 1000,
                     seed: int = 0, progress: bool = True, concurrency: int = 1, random_opening: int = 0,
                     min_games: int = 0, num_players: int = 2,
                     on_played: Optional[Callable] = None, runner: Optional[Callable] = None) -> dict:
    """Play ``a`` against ``b`` (alternating seats) until ``sprt`` decides (not before
    ``min_games``) or ``max_games`` is reached; returns the decision, games played,
    a's score with its 95% interval and the test's statistic.  Games run
    ``concurrency`` at a time; the test reads results in game order, so games played
    past its decision are not counted.  ``on_played(played_game, a_seat)`` sees every
    counted game (its moves and search results, e.g. to keep it as training data).
    ``runner``: plays the games in chunks of ``concurrency`` (at least one per seat)
    instead of :func:`ringrift_ml.ai.games.play_games` (e.g. on a Ray cluster); the
    counted games and the decision are the same either way."""
    if not 0 <= min_games <= max_games or max_games < 1:
        raise ValueError(f"sequential match: need 0 <= min_games <= max_games and max_games >= 1, "
                         f"got {min_games}, {max_games}")
    scores: list = []
    bar = tqdm(total=max_games, desc=f"sprt {a.name} vs {b.name}", disable=not progress)

    def count(pg, seat: int):
        """Score the next game in game order; the test's decision (None: go on)."""
        scores.append(_score(_result(pg), seat))
        if on_played is not None:
            on_played(pg, seat)
        bar.update(1)
        return sprt.decide(scores) if len(scores) >= min_games else None

    def job(k: int) -> tuple:
        seats, budgets, seat = _seating(a, b, budget_a, budget_b, k, num_players)
        return GameJob(board, seats, budgets, seed + k, max_moves=MAX_MOVES, random_opening=random_opening,
                       tag=k), seat

    decision = None
    if runner is None:
        # In this process: every game of the horizon queued, a finished game replaced at
        # once (chunks that wait for their longest game leave the network's batches
        # half empty: 3-7% more CPU on the same 64 games of a 4-player gate of networks,
        # 64 simulations, 16 in flight), the test fed in game order as the prefix of
        # finished games grows, and the games in flight abandoned when it decides.  The
        # counted games and the decision are the chunked path's: each game is a function
        # of its job.
        jobs, seats = zip(*(job(k) for k in range(max_games)))
        finished: dict = {}
        state = {"decision": None}

        def done(pg) -> None:
            finished[pg.job.tag] = pg
            while state["decision"] is None and len(scores) in finished:
                k = len(scores)
                state["decision"] = count(finished.pop(k), seats[k])

        play_games(list(jobs), concurrency=concurrency, on_done=done, stop=lambda: state["decision"] is not None)
        decision = state["decision"]
    else:
        g = 0
        while g < max_games and decision is None:
            chunk, seats = zip(*(job(k) for k in range(g, min(max_games, g + max(num_players, concurrency)))))
            for pg, seat in zip(runner(list(chunk), concurrency=concurrency), seats):
                decision = count(pg, seat)
                if decision:
                    break
            g += len(chunk)
    bar.close()
    lo, hi = _interval(scores)
    return {"decision": decision, "games": len(scores), "score": sum(scores) / max(len(scores), 1),
            "ci95": [round(lo, 4), round(hi, 4)], "llr": float(sprt.llr(scores)),
            "bounds": [float(x) for x in sprt.bounds()]}


__all__ = ["Budget", "GameResult", "gauntlet", "head_to_head", "play_game", "round_robin", "sequential_match"]
