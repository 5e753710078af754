"""Network-guided selfplay throughput (JSON lines).

1. Network evaluations per second by batch size: positions from seeded random
   playouts, evaluated by :class:`ringrift_ml.nn.evaluator.NetEvaluator` with its cache
   off, so every position is a forward pass (encoding and move indexing included).
2. Selfplay games per hour with ``nn:<model>:<sims>`` in every seat (Gumbel root,
   playout cap off), unbatched (one game at a time) and batched (``--batch`` games in
   flight, their leaves evaluated together), in the same run on the same games.

The default network is the board's default preset (``--preset``: another size),
freshly initialised (its speed does not depend on its weights); ``--model`` measures a
trained checkpoint instead.

    python benchmarks/selfplay_bench.py --boards square8,hex8 --sims 64 --games 4 --batch 32
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def default_model(board: str, out: Path, preset: str | None = None) -> Path:
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(0)
    return save_net(RingNet(net_config(board, preset)), out / f"{board}_{preset or 'default'}.pt", {}, {})


def positions(board: str, n: int, seed: int = 0) -> list:
    from ringrift_ml.rules import new_game
    from ringrift_ml.rules.fast import FastGame

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        g = FastGame(new_game(board, 2))
        for _ in range(int(rng.integers(0, 120))):
            if g.is_over:
                break
            rows = g.legal()
            g.apply(rows[rng.integers(len(rows))])
        if not g.is_over:
            out.append((g, g.legal()))
    return out


def eval_rates(board: str, model: Path, sizes: list, device: str, min_seconds: float) -> list:
    from ringrift_ml.nn.checkpoint import load_net
    from ringrift_ml.nn.evaluator import NetEvaluator
    from ringrift_ml.nn.infer import NetRunner

    net, _ = load_net(model)
    ev = NetEvaluator(NetRunner(net, device=device), cache_size=0)
    pool = positions(board, max(sizes) * 2)
    rows = []
    for b in sizes:
        ev.evaluate(pool[:b])  # warm-up (allocator, kernels)
        n = 0
        t = time.perf_counter()
        while time.perf_counter() - t < min_seconds:
            start = (n // b) % 2 * b
            ev.evaluate(pool[start:start + b])
            n += b
        dt = time.perf_counter() - t
        rows.append({"bench": "net_eval", "board": board, "device": device, "batch": b,
                     "evals_per_s": round(n / dt, 1), "ms_per_batch": round(1000 * dt / (n / b), 3)})
    return rows


def selfplay_rate(board: str, model: Path, sims: int, games: int, batch: int, device: str, seed: int,
                  max_moves: int = 0) -> dict:
    from ringrift_ml.nn.players import network_evaluator
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    spec = f"nn:{model}:{sims}"
    # The players share the process-wide evaluator of the model: empty its cache, or a
    # measurement replaying an earlier one's games (same seeds) would be served from it.
    network_evaluator(str(model), device=device).clear()
    cfg = SelfplayConfig(board=board, players=(spec, spec), games=games, seed=seed, batch_games=batch,
                         device=device, threads=torch.get_num_threads(),
                         **({"max_moves": max_moves} if max_moves else {}))
    t, c = time.perf_counter(), time.process_time()
    recs = run_selfplay(cfg, progress=False)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    moves = sum(r["length"] for r in recs)
    searched = sum(1 for r in recs for s in r["search"] if s)
    return {"bench": "selfplay", "board": board, "players": 2, "sims": sims, "device": device,
            "batch_games": batch, "games": games, "seconds": round(dt, 1),
            "games_per_hour": round(games * 3600 / dt, 1), "moves": moves, "searches": searched,
            # Process CPU: what a loaded machine's wall clock hides (games capped by
            # --max-moves are no whole games; moves per CPU second compares them).
            "cpu_seconds": round(cpu, 2), "games_per_cpu_hour": round(games * 3600 / max(cpu, 1e-9), 1),
            "moves_per_cpu_s": round(moves / max(cpu, 1e-9), 2), "max_moves": cfg.max_moves,
            "searches_per_s": round(searched / dt, 2), "threads": torch.get_num_threads()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", default="square8,hex8")
    ap.add_argument("--sims", type=int, default=64)
    ap.add_argument("--games", type=int, default=4, help="games per selfplay measurement")
    ap.add_argument("--batch", type=int, default=32, help="games in flight for the batched measurement")
    ap.add_argument("--sizes", default="1,2,4,8,16,32,64,128,256", help="batch sizes for the evaluation rates")
    ap.add_argument("--model", help="checkpoint to measure (default: each board's default network, untrained)")
    ap.add_argument("--preset", help="without --model: this size preset instead of each board's default "
                                     "(ringrift_ml.nn.net.PRESETS)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-selfplay", action="store_true")
    ap.add_argument("--batched-only", action="store_true", help="skip the one-game-at-a-time selfplay measurement")
    ap.add_argument("--max-moves", type=int, default=0,
                    help="cap each selfplay game at this many moves (0: selfplay's default cap)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for board in args.boards.split(","):
            model = Path(args.model) if args.model else default_model(board, Path(tmp), args.preset)
            from ringrift_ml.nn.net import BOARD_PRESET

            net = {"model": str(args.model)} if args.model else {"preset": args.preset or BOARD_PRESET[board]}
            for row in eval_rates(board, model, sizes, args.device, args.min_seconds):
                print(json.dumps({**row, **net}), flush=True)
            if args.skip_selfplay:
                continue
            many = selfplay_rate(board, model, args.sims, max(args.games, args.batch), args.batch, args.device,
                                 args.seed, args.max_moves)
            print(json.dumps({**many, **net}), flush=True)
            if args.batched_only:
                continue
            one = selfplay_rate(board, model, args.sims, args.games, 1, args.device, args.seed, args.max_moves)
            print(json.dumps({**one, **net}), flush=True)
            print(json.dumps({"bench": "selfplay_speedup", "board": board, "sims": args.sims,
                              "batched_over_unbatched": round(many["games_per_hour"] / one["games_per_hour"], 2),
                              "cpu_count": os.cpu_count()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
