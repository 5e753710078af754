"""Games between players: round robins and gauntlets with seat rotation."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Optional

from tqdm import tqdm

from ..ai.base import Budget
from ..rules import new_game
from ..rules.fast import FastGame
from .elo import pairwise_from_ranks

MAX_MOVES = 20_000  # far above any game's length (the progress measure bounds games)


@dataclasses.dataclass
class GameResult:
    seats: list  # player name per seat
    winner_seat: Optional[int]
    ranks: dict  # seat -> rank
    reason: Optional[str]
    moves: int
    seed: int


def play_game(players: list, budgets: list, board: str, seed: int, swap_rule: bool = False) -> GameResult:
    """One game; ``players[i]`` sits in seat ``i + 1``."""
    n = len(players)
    game = FastGame(new_game(board, n, swap_rule=swap_rule))
    moves = 0
    while not game.is_over and moves < MAX_MOVES:
        seat = game.current_player
        row = players[seat - 1].choose_row(game, budgets[seat - 1], seed * 100_003 + moves)
        game.apply(row)
        moves += 1
    st = game.state()
    return GameResult(
        seats=[p.name for p in players],
        winner_seat=st.winner,
        ranks=st.ranks or {},
        reason=st.victory_reason,
        moves=moves,
        seed=seed,
    )


def round_robin(
    players: dict,
    budgets: dict,
    board: str,
    num_players: int,
    games_per_pairing: int,
    seed: int = 0,
    progress: bool = True,
    on_game: Optional[Callable] = None,
):
    """Every combination of ``num_players`` entrants plays ``games_per_pairing`` games,
    rotating seats.  Returns (game results, pairwise records)."""
    names = sorted(players)
    if len(names) < num_players:
        raise ValueError(f"round robin: need at least {num_players} players, got {len(names)}")
    combos = list(itertools.combinations(names, num_players))
    jobs = []
    for combo in combos:
        for g in range(games_per_pairing):
            k = g % num_players
            seats = list(combo[k:] + combo[:k])
            jobs.append(seats)
    results, records = [], []
    for i, seats in enumerate(tqdm(jobs, desc=f"arena {board} {num_players}p", disable=not progress)):
        res = play_game([players[s] for s in seats], [budgets[s] for s in seats], board, seed + i)
        results.append(res)
        if res.ranks:
            records.extend(pairwise_from_ranks(seats, res.ranks))
        if on_game:
            on_game(res)
    return results, records


def gauntlet(candidate: str, players: dict, budgets: dict, board: str, games: int, seed: int = 0, progress: bool = True):
    """``candidate`` against each other player in 2-player games, alternating seats."""
    results, records = [], []
    for opp in sorted(p for p in players if p != candidate):
        res, rec = round_robin({candidate: players[candidate], opp: players[opp]},
                               {candidate: budgets[candidate], opp: budgets[opp]},
                               board, 2, games, seed, progress)
        results += res
        records += rec
    return results, records


__all__ = ["Budget", "GameResult", "gauntlet", "play_game", "round_robin", "sequential_match"]


def sequential_match(a, b, budget_a: Budget, budget_b: Budget, board: str, sprt, max_games: int = 1000,
                     seed: int = 0, progress: bool = True) -> dict:
    """Play ``a`` against ``b`` (alternating seats) until ``sprt`` decides or
    ``max_games`` is reached; returns the decision, games played and a's score."""
    scores = []
    decision = None
    bar = tqdm(total=max_games, desc=f"sprt {a.name} vs {b.name}", disable=not progress)
    for g in range(max_games):
        seats, budgets = ([a, b], [budget_a, budget_b]) if g % 2 == 0 else ([b, a], [budget_b, budget_a])
        res = play_game(seats, budgets, board, seed + g)
        a_seat = 1 if g % 2 == 0 else 2
        if res.ranks:
            ra, rb = res.ranks[a_seat], res.ranks[3 - a_seat]
            scores.append(1.0 if ra < rb else (0.5 if ra == rb else 0.0))
        else:
            scores.append(0.5)
        bar.update(1)
        decision = sprt.decide(scores)
        if decision:
            break
    bar.close()
    return {"decision": decision, "games": len(scores), "score": sum(scores) / max(len(scores), 1),
            "llr": sprt.llr(scores), "bounds": sprt.bounds()}
