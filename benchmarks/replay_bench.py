"""Replay throughput of recorded games, records/s, one core.

Prints one JSON line per board x player count and path:

* ``public_api``: ``apply_move(state, Move.from_json(m))`` per move, an immutable state
  per move (how records were replayed before the fast path);
* ``fast_replay``: ``rules.replay.replay_moves`` (parse, match against the compiled
  legal rows, apply in place), which ``replay_record``, landing validation, the lake
  and sample building use;
* ``replay_record``: the whole verdict (fast path plus the result checks).

The games are seeded random games (``rules.fast.playout``), the same on every run.

    python benchmarks/replay_bench.py                      # square8 and hexagonal, 2 players
    python benchmarks/replay_bench.py --boards hex8 --num-players 2 3 4 --games 200
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from ringrift_ml.rules import BOARD_TYPES, Move, apply_move, new_game
from ringrift_ml.rules.fast import FastGame, playout
from ringrift_ml.rules.records import make_record, replay_record
from ringrift_ml.rules.replay import replay_moves


def make_records(board: str, players: int, games: int, seed: int) -> list:
    start = new_game(board, players)
    out = []
    for i in range(games):
        final, _, _, rows = playout(start, seed + i, record_moves=True)
        g = FastGame(start)
        moves = []
        for r in rows:
            moves.append(g.move(r))
            g.apply(r)
        out.append(make_record(moves, final, game_id=f"{board}-{players}p-{seed + i}", board_type=board,
                               num_players=players, seed=seed + i))
    return out


def _public_api(start, moves):
    state = start
    for m in moves:
        state = apply_move(state, Move.from_json(m))
    return state


def bench(board: str, players: int, games: int, seed: int, min_seconds: float) -> list:
    records = make_records(board, players, games, seed)
    start = new_game(board, players)
    moves_total = sum(len(r["moves"]) for r in records)
    paths = {
        "public_api": lambda r: _public_api(start, r["moves"]),
        "fast_replay": lambda r: replay_moves(start, r["moves"]),
        "replay_record": lambda r: replay_record(r),
    }
    out = []
    for name, fn in paths.items():
        fn(records[0])  # warm caches outside the timing
        reps = 0
        t0 = time.perf_counter()
        while True:
            for r in records:
                fn(r)
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= min_seconds:
                break
        out.append({
            "bench": "record_replay", "path": name, "board": board, "players": players, "games": games,
            "mean_moves": round(moves_total / games, 1), "seconds": round(dt, 3),
            "records_per_s": round(reps * games / dt, 1), "moves_per_s": round(reps * moves_total / dt, 1),
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="*", default=["square8", "hexagonal"], choices=BOARD_TYPES)
    ap.add_argument("--num-players", dest="players", nargs="*", type=int, default=[2], choices=[2, 3, 4],
                    help="player counts to measure")
    ap.add_argument("--games", type=int, default=50, help="distinct seeded games per configuration")
    ap.add_argument("--seconds", type=float, default=3.0, help="minimum timing per path")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(json.dumps({"bench": "env", "python": platform.python_version(), "machine": platform.machine()}))
    for board in args.boards:
        for players in args.players:
            for line in bench(board, players, args.games, args.seed, args.seconds):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
