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


def _play(jobs: list, concurrency: int, desc: str, progress: bool, on_game: Optional[Callable] = None) -> list:
    bar = tqdm(total=len(jobs), desc=desc, unit="game", disable=not progress)

    def done(pg):
        bar.update(1)
        if on_game is not None:
            on_game(_result(pg))

    played = play_games(jobs, concurrency=concurrency, on_done=done)
    bar.close()
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
):
    """Every combination of ``num_players`` entrants plays ``games_per_pairing`` games,
    rotating seats.  Returns (game results, pairwise records)."""
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
    results = _play(jobs, concurrency, f"arena {board} {num_players}p", progress, on_game)
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
    """A's score in a 2-player game: 1 win, 0.5 unfinished or tied, 0 loss."""
    if not res.ranks:
        return 0.5
    ra, rb = res.ranks[a_seat], res.ranks[3 - a_seat]
    return 1.0 if ra < rb else (0.5 if ra == rb else 0.0)


def head_to_head(a, b, budget_a: Budget, budget_b: Budget, board: str, games: int, seed: int = 0,
                 concurrency: int = 1, random_opening: int = 0, progress: bool = True,
                 details: bool = False) -> dict:
    """``a`` against ``b`` in 2-player games, seats alternating (game ``g`` puts ``a``
    in seat 1 when ``g`` is even).  Returns a's score with its 95% Wilson interval,
    the win/draw/loss counts, per-seat scores and the mean game length; with
    ``details`` also ``games_played``: per game its seed, a's seat, a's score, moves
    and the hash of its move sequence."""
    if games < 1:
        raise ValueError(f"games: must be positive, got {games}")
    jobs = []
    for g in range(games):
        seats, budgets = ([a, b], [budget_a, budget_b]) if g % 2 == 0 else ([b, a], [budget_b, budget_a])
        jobs.append(GameJob(board, seats, budgets, seed + g, max_moves=MAX_MOVES, random_opening=random_opening))
    results = _play(jobs, concurrency, f"{a.name} vs {b.name}", progress)
    scores = [_score(r, 1 if g % 2 == 0 else 2) for g, r in enumerate(results)]
    points = sum(scores)
    lo, hi = wilson(points, games)
    first = [s for g, s in enumerate(scores) if g % 2 == 0]
    second = [s for g, s in enumerate(scores) if g % 2 == 1]
    return {
        "a": a.name, "b": b.name, "board": board, "games": games,
        "score": round(points / games, 4), "ci95": [round(lo, 4), round(hi, 4)],
        "wins": sum(s == 1.0 for s in scores), "draws": sum(s == 0.5 for s in scores),
        "losses": sum(s == 0.0 for s in scores),
        "score_as_seat1": round(sum(first) / max(1, len(first)), 4),
        "score_as_seat2": round(sum(second) / max(1, len(second)), 4),
        "mean_moves": round(sum(r.moves for r in results) / games, 1),
        "distinct_games": len({r.digest for r in results}),
        **({"games_played": [{"seed": r.seed, "a_seat": 1 if g % 2 == 0 else 2, "score": sc, "moves": r.moves,
                              "digest": r.digest} for g, (r, sc) in enumerate(zip(results, scores))]}
           if details else {}),
    }


def sequential_match(a, b, budget_a: Budget, budget_b: Budget, board: str, sprt, max_games: int = 1000,
                     seed: int = 0, progress: bool = True, concurrency: int = 1, random_opening: int = 0,
                     min_games: int = 0) -> dict:
    """Play ``a`` against ``b`` (alternating seats) until ``sprt`` decides (not before
    ``min_games``) or ``max_games`` is reached; returns the decision, games played,
    a's score with its 95% interval and the test's statistic.  Games run
    ``concurrency`` at a time; the test reads results in game order, so games played
    past its decision are not counted."""
    if not 0 <= min_games <= max_games or max_games < 1:
        raise ValueError(f"sequential match: need 0 <= min_games <= max_games and max_games >= 1, "
                         f"got {min_games}, {max_games}")
    scores = []
    decision = None
    bar = tqdm(total=max_games, desc=f"sprt {a.name} vs {b.name}", disable=not progress)
    g = 0
    while g < max_games and decision is None:
        chunk = []
        for k in range(g, min(max_games, g + max(2, concurrency))):
            seats, budgets = ([a, b], [budget_a, budget_b]) if k % 2 == 0 else ([b, a], [budget_b, budget_a])
            chunk.append(GameJob(board, seats, budgets, seed + k, max_moves=MAX_MOVES,
                                 random_opening=random_opening))
        for k, pg in enumerate(play_games(chunk, concurrency=concurrency), start=g):
            scores.append(_score(_result(pg), 1 if k % 2 == 0 else 2))
            bar.update(1)
            decision = sprt.decide(scores) if len(scores) >= min_games else None
            if decision:
                break
        g += len(chunk)
    bar.close()
    lo, hi = wilson(sum(scores), len(scores))
    return {"decision": decision, "games": len(scores), "score": sum(scores) / max(len(scores), 1),
            "ci95": [round(lo, 4), round(hi, 4)], "llr": float(sprt.llr(scores)),
            "bounds": [float(x) for x in sprt.bounds()]}


__all__ = ["Budget", "GameResult", "gauntlet", "head_to_head", "play_game", "round_robin", "sequential_match"]
