"""Random-playout throughput of the rules engine, one core, per board x player count.

Prints one JSON line per configuration:
  applied moves/s (bookkeeping moves included), legal-move generations/s, games/s.

    python benchmarks/engine_bench.py                # all 12 configurations
    python benchmarks/engine_bench.py --seconds 5 --boards square8 --num-players 2
    python benchmarks/engine_bench.py --layers       # also time FastGame and the public API

The three paths share the same compiled rules kernels and differ in where the game
loop runs: ``compiled`` (the whole playout inside numba), ``fastgame`` (a Python loop
over ``FastGame.legal``/``apply``, as search does) and ``python_api`` (``legal_moves``
and the validating ``apply_move`` with immutable states, as replays do).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from ringrift_ml.rules import BOARD_TYPES, apply_move, legal_moves, new_game
from ringrift_ml.rules.fast import playout


def bench_fast(board: str, players: int, seconds: float, seed0: int) -> dict:
    start_state = new_game(board, players)
    playout(start_state, seed0)  # compile / warm the cache outside the timing
    moves = gens = games = finished = 0
    t0 = time.perf_counter()
    seed = seed0
    while time.perf_counter() - t0 < seconds or games == 0:
        final, applied, g, _ = playout(start_state, seed)
        moves += applied
        gens += g
        games += 1
        finished += final.is_over
        seed += 1
    dt = time.perf_counter() - t0
    return {
        "bench": "engine_random_playout",
        "path": "compiled",
        "board": board,
        "players": players,
        "games": games,
        "games_finished": finished,
        "seconds": round(dt, 3),
        "moves_per_s": round(moves / dt, 1),
        "movegen_per_s": round(gens / dt, 1),
        "games_per_s": round(games / dt, 3),
        "mean_moves_per_game": round(moves / games, 1),
    }


def _loop_bench(path: str, board: str, players: int, seconds: float, new, over, step) -> dict:
    """Random games with the game loop in Python: ``new()`` starts one, ``step(g)``
    applies a random legal move and returns the game, ``over(g)`` ends it."""
    moves = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        g = new()
        while not over(g) and time.perf_counter() - t0 < seconds:
            g = step(g)
            moves += 1
    dt = time.perf_counter() - t0
    return {
        "bench": "engine_random_playout",
        "path": path,
        "board": board,
        "players": players,
        "seconds": round(dt, 3),
        "moves_per_s": round(moves / dt, 1),
    }


def bench_fastgame(board: str, players: int, seconds: float, seed0: int) -> dict:
    import numpy as np

    from ringrift_ml.rules.fast import FastGame

    rng = np.random.default_rng(seed0)
    start = new_game(board, players)

    def step(g):
        rows = g.legal()
        g.apply(rows[rng.integers(len(rows))])
        return g

    return _loop_bench("fastgame", board, players, seconds, lambda: FastGame(start), lambda g: g.is_over, step)


def bench_api(board: str, players: int, seconds: float, seed0: int) -> dict:
    import random

    rnd = random.Random(seed0)
    return _loop_bench(
        "python_api",
        board,
        players,
        seconds,
        lambda: new_game(board, players),
        lambda s: s.is_over,
        lambda s: apply_move(s, rnd.choice(legal_moves(s))),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", nargs="*", default=list(BOARD_TYPES), choices=BOARD_TYPES)
    ap.add_argument("--num-players", dest="players", nargs="*", type=int, default=[2, 3, 4], choices=[2, 3, 4],
                    help="player counts to measure")
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget per configuration")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api", action="store_true", help="also measure the public (validating) Python API")
    ap.add_argument("--layers", action="store_true", help="also measure FastGame and the public API")
    args = ap.parse_args()
    print(json.dumps({"bench": "env", "python": platform.python_version(), "machine": platform.machine()}))
    for board in args.boards:
        for n in args.players:
            print(json.dumps(bench_fast(board, n, args.seconds, args.seed)), flush=True)
            if args.layers:
                print(json.dumps(bench_fastgame(board, n, args.seconds, args.seed)), flush=True)
            if args.api or args.layers:
                print(json.dumps(bench_api(board, n, args.seconds, args.seed)), flush=True)


if __name__ == "__main__":
    main()
