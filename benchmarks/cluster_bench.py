"""Selfplay on a Ray cluster against in-process selfplay, and what one head and one lake
catalog can absorb (JSON lines).

1. ``kind: selfplay``: the same games (``--players``, ``--games``) played in-process by
   one worker, then by 1 and 2 (``--workers``) Ray actors; games per hour each.
   ``kind: speedup``: 2 actors over 1 (target >= 1.8 on two cores) and Ray's overhead
   at 1 actor over in-process (target <= 10%).
2. ``kind: capacity``: cheap games (``random`` in every seat, milliseconds each) played
   by the actors and committed to the lake by the driver in batches of ``--commit``
   (``write_generated``, one DuckLake commit each, the committer the loop uses), on a
   SQLite catalog or ``--catalog postgres:...``: games per second through the head
   (tasks returned) and through the catalog (games committed).  With the per-actor rate
   of part 1 this gives the number of selfplay workers one head and one catalog serve.

    python benchmarks/cluster_bench.py --address local --board square8 --players mcts:64,mcts:64 --games 16
    python benchmarks/cluster_bench.py --address 127.0.0.1:6379 --catalog 'postgres:dbname=... host=...'

``--address local`` starts Ray inside this process with ``--cpus`` CPUs; any other
address joins a running cluster (``ray start --head`` ...).  Timed figures belong
here, never in tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path


def emit(row: dict) -> None:
    print(json.dumps({"bench": "cluster_bench", **row}), flush=True)


def timed_selfplay(cfg) -> float:
    from ringrift_ml.selfplay import run_selfplay

    t0 = time.perf_counter()
    run_selfplay(cfg, progress=False)
    return time.perf_counter() - t0


def selfplay_rates(args) -> dict:
    from ringrift_ml.selfplay import SelfplayConfig

    players = tuple(args.players.split(","))
    cfg = SelfplayConfig(board=args.board, players=players, games=args.games, seed=args.seed,
                         batch_games=args.batch_games)
    rates = {}
    for mode, workers in [("in-process", 1)] + [("ray", w) for w in (1, args.workers)]:
        c = cfg if mode == "in-process" else dataclasses.replace(cfg, ray_address=args.address, workers=workers)
        if mode == "ray":  # the pool's actors start (imports, compiled code) once per run, not timed
            timed_selfplay(dataclasses.replace(c, games=min(workers, args.games)))
        secs = timed_selfplay(c)
        rates[(mode, workers)] = args.games / secs * 3600
        emit({"kind": "selfplay", "mode": mode, "workers": workers, "board": args.board, "players": args.players,
              "games": args.games, "seconds": round(secs, 2), "games_per_hour": round(rates[(mode, workers)], 1)})
    speedup = rates[("ray", args.workers)] / rates[("ray", 1)]
    overhead = rates[("in-process", 1)] / rates[("ray", 1)] - 1
    emit({"kind": "speedup", "workers": args.workers, "speedup": round(speedup, 3), "target_speedup": 1.8,
          "ray_overhead_1_worker": round(overhead, 4), "target_overhead": 0.10})
    return rates


def capacity(args, per_worker_games_per_hour: float) -> None:
    from ringrift_ml.cluster import shared_pool
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.selfplay import SelfplayConfig, _chunks, _RayWorker

    cfg = SelfplayConfig(board=args.board, players=("random",) * len(args.players.split(",")),
                         games=args.cheap_games, seed=10_000 + args.seed, batch_games=args.commit)
    chunks = _chunks(cfg, 1)  # tasks of ``--commit`` games, each committed as it returns
    pool = shared_pool(args.address, args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        store = LakeStore.open(Path(tmp), args.catalog or None, args.schema or None)
        commit_secs, committed = 0.0, 0
        t0 = time.perf_counter()

        def commit(_, recs):
            nonlocal commit_secs, committed
            c0 = time.perf_counter()
            committed += write_generated(store, recs, run_id="cluster_bench")["games"]
            commit_secs += time.perf_counter() - c0

        pool.map(_RayWorker(cfg), chunks, on_result=commit)
        wall = time.perf_counter() - t0
    head = cfg.games / wall
    lake = committed / commit_secs
    per_worker = per_worker_games_per_hour / 3600
    emit({"kind": "capacity", "catalog": (args.catalog or "sqlite").split(" password")[0], "games": cfg.games,
          "commit_games": args.commit, "wall_seconds": round(wall, 2), "games_per_second_through_head": round(head, 1),
          "games_per_second_committed": round(lake, 1), "per_worker_games_per_second": round(per_worker, 4),
          "workers_served_by_catalog": int(lake / per_worker), "target_workers": 100})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--address", default="local", help="Ray address: local (in this process), auto, <head>:<port>")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of a local Ray (--address local)")
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", default="mcts:64,mcts:64", help="player spec per seat")
    ap.add_argument("--games", type=int, default=16, help="games per selfplay measurement")
    ap.add_argument("--batch-games", type=int, default=4, help="games in flight per worker")
    ap.add_argument("--workers", type=int, default=2, help="Ray actors of the parallel measurement")
    ap.add_argument("--cheap-games", type=int, default=2000, help="random games of the capacity measurement")
    ap.add_argument("--commit", type=int, default=100, help="games per task and per lake commit")
    ap.add_argument("--catalog", default="", help="lake catalog of the capacity measurement (default sqlite)")
    ap.add_argument("--schema", default="", help="PostgreSQL schema of that lake")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-selfplay", action="store_true", help="only the capacity measurement "
                    "(with --per-worker-games-per-hour)")
    ap.add_argument("--per-worker-games-per-hour", type=float, default=0.0)
    args = ap.parse_args(argv)
    from ringrift_ml.cluster import LOCAL, connect

    connect(args.address, num_cpus=args.cpus if args.address == LOCAL else None)
    if args.skip_selfplay:
        if args.per_worker_games_per_hour <= 0:
            ap.error("--skip-selfplay needs --per-worker-games-per-hour")
        per = args.per_worker_games_per_hour
    else:
        per = selfplay_rates(args)[("ray", 1)]
    capacity(args, per)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
