"""Head-to-head strength of two players (2-player games, seats alternating).

    python benchmarks/policy_match.py --board square8 --a policy:runs/sq8/model.pt --b heuristic --games 200

Game ``i`` is played with seed ``seed + i``; A sits in seat 1 in even games and seat 2
in odd ones.  The first ``--random-opening`` plies of every game are uniformly random
(seeded), so that two deterministic players do not replay one game over and over; the
number of distinct games is reported next to the win rate.  Prints one JSON line: A's
score (wins + half draws) with its Wilson 95% interval, per seat, and game lengths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from ringrift_ml.arena import wilson
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame
from ringrift_ml.selfplay import make_player


def play(players: list, budgets: list, board: str, seed: int, random_plies: int) -> tuple:
    game = FastGame(new_game(board, 2))
    rng = np.random.default_rng([seed, 99])
    h = hashlib.sha256()
    ply = 0
    while not game.is_over and ply < 20_000:
        rows = game.legal()
        if ply < random_plies:
            row = rows[rng.integers(len(rows))]
        else:
            seat = game.current_player
            row = players[seat - 1].choose_row(game, budgets[seat - 1], seed * 100_003 + ply)
        h.update(np.asarray(row).tobytes())
        game.apply(row)
        ply += 1
    return game.winner, ply, h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--a", required=True, help="player spec, e.g. policy:runs/sq8/model.pt")
    ap.add_argument("--b", default="heuristic")
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-opening", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        a, ba = make_player(args.a, args.board, 2)
        b, bb = make_player(args.b, args.board, 2)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    points = 0.0
    seat_points = {1: 0.0, 2: 0.0}
    seat_games = {1: 0, 2: 0}
    lengths, digests = [], set()
    t0 = time.perf_counter()
    for i in tqdm(range(args.games), desc=f"{args.a} vs {args.b}", unit="game"):
        seed = args.seed + i
        a_seat = 1 if i % 2 == 0 else 2
        players = [a, b] if a_seat == 1 else [b, a]
        budgets = [ba, bb] if a_seat == 1 else [bb, ba]
        winner, ply, digest = play(players, budgets, args.board, seed, args.random_opening)
        pts = 1.0 if winner == a_seat else (0.5 if winner is None else 0.0)
        points += pts
        seat_points[a_seat] += pts
        seat_games[a_seat] += 1
        lengths.append(ply)
        digests.add(digest)
    lo, hi = wilson(points, args.games)
    print(json.dumps({
        "board": args.board, "a": args.a, "b": args.b, "games": args.games, "distinct_games": len(digests),
        "random_opening_plies": args.random_opening, "seed": args.seed,
        "a_score": round(points / args.games, 4), "ci95": [round(lo, 4), round(hi, 4)],
        "a_score_by_seat": {s: round(seat_points[s] / max(1, seat_games[s]), 4) for s in (1, 2)},
        "mean_length": round(float(np.mean(lengths)), 1), "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
