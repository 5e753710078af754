"""``ringrift loop``: the closed loop of one partition from a shell."""

from __future__ import annotations

import json
import sys

from ..arena import TRUNCATIONS


def _loop(args, open_store) -> int:
    from .config import LoopConfig
    from .run import run_loop

    from ..lake.layout import Partition

    try:
        part = Partition.parse(args.partition)
        train = json.loads(args.train) if args.train else {}
        if not isinstance(train, dict):
            raise ValueError("--train: expected a JSON object of TrainConfig fields")
        warm = json.loads(args.warm_train) if args.warm_train is not None else None
        if warm is not None and not isinstance(warm, dict):
            raise ValueError("--warm-train: expected a JSON object of TrainConfig fields")
        extra = {"warm_train": tuple(sorted(warm.items()))} if warm is not None else {}
        cfg = LoopConfig(board=part.board, players=part.players, games=args.games, simulations=args.sims,
                         bootstrap=args.bootstrap or f"mcts:{args.sims}", full_search_prob=args.full_search_prob,
                         window=args.window, train=tuple(sorted(train.items())), gate_min_games=args.gate_min,
                         gate_max_games=args.gate_max, gate_truncation=args.gate_truncation, elo1=args.elo1,
                         batch_games=args.batch_games,
                         ladder_games=args.ladder_games, gate_games_train=args.gate_games_train,
                         seed=args.seed, device=args.device, **extra)
        if args.generations < 1 or (args.hours is not None and not args.hours > 0):
            raise ValueError("--generations must be positive and --hours, when given, too")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    store = open_store(args)
    rows = run_loop(store, cfg, args.generations, args.hours, progress=args.progress,
                    log=lambda m: print(m, flush=True))
    for r in rows:
        print(json.dumps({k: r[k] for k in ("generation", "status", "reason", "model_id", "selfplay_games",
                                            "cpu_seconds", "wall_seconds")}), flush=True)
    from .run import failure_rate, registry

    failed, total = failure_rate(registry(store, cfg.board, cfg.players))
    print(f"{cfg.partition}: {total} generation(s), {failed} failed ({failed / max(total, 1):.0%})", flush=True)
    return 0


def _ladder(args, open_store) -> int:
    from .ladder import update_ladder

    from ..lake.layout import Partition

    try:
        part = Partition.parse(args.partition)
    except ValueError as e:
        print(f"error: --partition: {e}", file=sys.stderr)
        return 2
    board, n = part.board, part.players
    import torch

    torch.set_num_threads(args.threads)
    store = open_store(args)
    try:
        out = update_ladder(store, board, int(n), simulations=args.sims, games=args.games,
                            concurrency=args.concurrency, progress=args.progress,
                            log=lambda m: print(m, flush=True))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table, rolled, plot = out["table"], out["rolled_back"], out["plot"]
    if args.json:
        print(json.dumps({"partition": args.partition, "ladder": table, "rolled_back": [r["generation"] for r in rolled],
                          "plot": str(plot)}))
    else:
        for r in table:
            extra = f"  g{r['generation']} {r['status']}, {r['cpu_hours']:.2f} CPU h" if r["generation"] is not None else ""
            print(f"{r['name']:<14} {r['elo']:>8.1f} +- {1.96 * r['se']:.1f}  ({r['games']} games){extra}")
        print(f"plot: {plot}")
    return 0


def add_parsers(sub, open_store) -> None:
    ld = sub.add_parser("ladder", help="rate a partition's loop generations and the baselines on one Elo scale; "
                                       "roll back a promotion that rates below its predecessor")
    ld.add_argument("--partition", required=True)
    ld.add_argument("--games", type=int, default=40, help="games per rung (missing ones are played)")
    ld.add_argument("--sims", type=int, default=64)
    ld.add_argument("--concurrency", type=int, default=16)
    ld.add_argument("--threads", type=int, default=1)
    ld.add_argument("--json", action="store_true")
    ld.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    ld.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    ld.add_argument("--no-progress", dest="progress", action="store_false")
    ld.set_defaults(func=lambda args: _ladder(args, open_store))

    lp = sub.add_parser("loop", help="the closed loop of one partition: selfplay with the best model, train a "
                                     "candidate, gate it, promote or reject; resumable")
    lp.add_argument("--partition", required=True, help="BOARD|PLAYERS, e.g. 'square8|2'")
    lp.add_argument("--generations", type=int, required=True,
                    help="total generations of the partition (a rerun after a kill finishes the rest)")
    lp.add_argument("--hours", type=float, help="stop starting generations after this much wall clock")
    lp.add_argument("--games", type=int, default=100, help="selfplay games per generation")
    lp.add_argument("--sims", type=int, default=64, help="search simulations in selfplay and the gate")
    lp.add_argument("--bootstrap", help="generation 0's player (default mcts:<sims>)")
    lp.add_argument("--full-search-prob", type=float, default=1.0)
    lp.add_argument("--window", type=int, default=4, help="generations in the replay window (0: all)")
    lp.add_argument("--train", help="TrainConfig overrides as JSON, e.g. '{\"epochs\": 12}'")
    lp.add_argument("--warm-train", help="further TrainConfig overrides when warm-starting from the best "
                                         "(e.g. '{\"lr\": 0.0005, \"warmup_steps\": 0}'; default none)")
    lp.add_argument("--gate-min", type=int, default=40, help="games before the gate may decide")
    lp.add_argument("--gate-max", type=int, default=200, help="the gate's horizon in games")
    lp.add_argument("--gate-truncation", choices=TRUNCATIONS, default="llr",
                    help="undecided at --gate-max: promote when the SPRT statistic leans to the gain "
                         "(llr, default) or reject")
    lp.add_argument("--elo1", type=float, default=35.0, help="SPRT alternative (Elo above the best)")
    lp.add_argument("--gate-games-train", action="store_true",
                    help="keep the gate's games as training data of the next generation")
    lp.add_argument("--ladder-games", type=int, default=40,
                    help="after each promotion: games per new ladder rung and the regression watch (0: off)")
    lp.add_argument("--batch-games", type=int, default=16)
    lp.add_argument("--seed", type=int, default=0)
    lp.add_argument("--device", default="cpu")
    lp.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    lp.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    lp.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    lp.add_argument("--no-progress", dest="progress", action="store_false")
    lp.set_defaults(func=lambda args: _loop(args, open_store))


__all__ = ["add_parsers"]
