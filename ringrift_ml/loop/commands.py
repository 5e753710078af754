"""``ringrift loop``: the closed loop of one partition from a shell."""

from __future__ import annotations

import json
import sys


# Older short names kept as aliases of the derived flags.
ALIASES = {"simulations": ("--sims",), "gate_min_games": ("--gate-min",), "gate_max_games": ("--gate-max",)}
_JSON_FIELDS = ("train", "warm_train")


def add_loop_config_arguments(parser) -> None:
    """One flag per ``LoopConfig`` field (but board and players: ``--partition``), with
    the field's type, default and documentation (``fields.add_arguments``): the command
    line cannot restate a default or miss a setting.  ``train`` / ``warm_train`` take
    JSON objects."""
    from ..arena import TRUNCATIONS
    from ..fields import add_arguments
    from .config import LoopConfig

    add_arguments(parser, LoopConfig, skip=("board", "players"), aliases=ALIASES, json_fields=_JSON_FIELDS,
                  choices={"gate_truncation": TRUNCATIONS})


def loop_config_from_args(args, part):
    """The ``LoopConfig`` of parsed flags (``add_loop_config_arguments``) for a partition."""
    from ..fields import arguments_to_fields
    from .config import LoopConfig

    kw = arguments_to_fields(args, LoopConfig, skip=("board", "players"), json_fields=_JSON_FIELDS)
    return LoopConfig(board=part.board, players=part.players, **kw)


def _loop(args, open_store) -> int:
    from ..lake.layout import Partition
    from .run import run_loop

    try:
        part = Partition.parse(args.partition)
        cfg = loop_config_from_args(args, part)
        if args.generations is None:
            if not args.dry_run:
                raise ValueError("--generations: required (how many generations the partition should have)")
            args.generations = 1
        if args.generations < 1 or any(x is not None and not x > 0 for x in (args.hours, args.cpu_hours)):
            raise ValueError("--generations must be positive and --hours and --cpu-hours, when given, too")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    store = open_store(args)
    if args.dry_run:
        from .estimate import estimate

        est = estimate(store, cfg, force_calibration=args.calibrate)
        lo, hi = est["cpu_hours"]
        est["generations"] = args.generations
        est["total_cpu_hours"] = [round(lo * args.generations, 3), round(hi * args.generations, 3)]
        print(f"{cfg.partition}: one generation {lo:.3f}-{hi:.3f} CPU hours ({est['basis']}); "
              f"{args.generations} generation(s) {est['total_cpu_hours'][0]:.2f}-{est['total_cpu_hours'][1]:.2f}"
              + (f"; --hours {args.hours} of wall clock stops it sooner" if args.hours else ""), flush=True)
        print(json.dumps(est), flush=True)
        return 0
    rows = run_loop(store, cfg, args.generations, args.hours, progress=args.progress,
                    log=lambda m: print(m, flush=True), cpu_hours=args.cpu_hours)
    for r in rows:
        print(json.dumps({k: r.get(k) for k in ("generation", "status", "reason", "model_id", "selfplay_games",
                                                "cpu_seconds", "selfplay_cpu_seconds", "train_cpu_seconds",
                                                "gate_cpu_seconds", "ladder_cpu_seconds", "data_share", "positions",
                                                "window_positions", "trained_positions", "wall_seconds")}),
              flush=True)
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
    if args.predecessor_games is not None and args.predecessor_games < 1:
        # Without that rung the regression watch has nothing to judge.
        print(f"error: --predecessor-games must be at least 1, got {args.predecessor_games}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    store = open_store(args)
    try:
        out = update_ladder(store, board, int(n), simulations=args.sims, games=args.games,
                            concurrency=args.concurrency, progress=args.progress, seed=args.seed,
                            log=lambda m: print(m, flush=True), predecessor_games=args.predecessor_games)
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


def _campaign(args, open_store) -> int:
    from ..fields import arguments_to_fields
    from .campaign import CampaignConfig, all_partitions, plan, run_campaign, summary, summary_markdown

    try:
        kw = arguments_to_fields(args, CampaignConfig, json_fields=("loop",))
        if args.all:
            if kw.get("partitions"):
                raise ValueError("--all and --partitions: give one of them")
            kw["partitions"] = all_partitions()
        cfg = CampaignConfig(**kw)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    store = open_store(args)
    if args.to_sensor:
        from ..atomic import write_text
        from ..lake.layout import Layout
        from .campaign import sensor_budget

        path = Layout(store.root).loop_budget
        budget = json.loads(path.read_text()) if path.is_file() else {}
        budget.update(sensor_budget(cfg))
        # Whole or not at all: the sensor reads this file while it is rewritten.
        write_text(path, json.dumps(budget, indent=1, sort_keys=True))
        print(f"{len(cfg.partitions)} partition(s) in the loop sensor's budget {path}; switch loop_sensor on in "
              "the Dagster UI, then materialize campaign_summary", flush=True)
        return 0
    if args.dry_run:
        rows = plan(store, cfg, log=lambda m: print(m, flush=True))
        for r in rows:
            print(json.dumps({"kind": "plan", **r}), flush=True)
        known = [r for r in rows if r["eval_cpu_hours"] is not None]
        total = [round(sum(r["cpu_hours"][i] + (r["eval_cpu_hours"] or 0.0) for r in rows), 3) for i in (0, 1)]
        print(json.dumps({"kind": "total", "partitions": len(rows), "cpu_hours": total,
                          "evaluations_costed": len(known)}), flush=True)
        print(f"campaign: {total[0]:.2f}-{total[1]:.2f} CPU hours still to spend on {len(rows)} partition(s), "
              "evaluations included", flush=True)
        return 0
    if args.report:
        rows = summary(store, cfg)
    else:
        rows = run_campaign(store, cfg, progress=args.progress, log=lambda m: print(m, flush=True))
    for r in rows:
        print(json.dumps({"kind": "partition", **r}), flush=True)
    print(summary_markdown(rows), flush=True)
    return 0


def add_parsers(sub, open_store) -> None:
    ld = sub.add_parser("ladder", help="rate a partition's loop generations and the baselines on one Elo scale; "
                                       "roll back a promotion that rates below its predecessor")
    ld.add_argument("--partition", required=True, help="BOARD|PLAYERS, e.g. 'square8|2'")
    ld.add_argument("--games", type=int, default=40, help="games per rung (missing ones are played)")
    ld.add_argument("--predecessor-games", type=int, default=None,
                    help="games of each rung that sets a promoted generation against its predecessor "
                         "(default: --games)")
    ld.add_argument("--seed", type=int, default=0,
                    help="seeds the new games of every rung (the loop plays its rungs with its own --seed)")
    ld.add_argument("--sims", type=int, default=64, help="simulations of every generation's search (default 64)")
    ld.add_argument("--concurrency", type=int, default=16, help="games in flight (default 16)")
    ld.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ld.add_argument("--json", action="store_true", help="the ladder as JSON")
    ld.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    ld.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    ld.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    ld.set_defaults(func=lambda args: _ladder(args, open_store))

    lp = sub.add_parser("loop", help="the closed loop of one partition: selfplay with the best model, train a "
                                     "candidate, gate it, promote or reject; resumable")
    lp.add_argument("--partition", required=True, help="BOARD|PLAYERS, e.g. 'square8|2'")
    lp.add_argument("--generations", type=int,
                    help="total generations of the partition (a rerun after a kill finishes the rest); "
                         "required but with --dry-run (default there: 1)")
    lp.add_argument("--hours", type=float, help="stop starting generations after this much wall clock")
    lp.add_argument("--cpu-hours", type=float,
                    help="stop starting generations once the partition's registry holds this much CPU (all its "
                         "generations, earlier runs included)")
    add_loop_config_arguments(lp)
    lp.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    lp.add_argument("--dry-run", action="store_true",
                    help="run nothing: print what a generation would cost in CPU hours, from the partition's "
                         "recent generations or, without any, from a short calibration on this machine")
    lp.add_argument("--calibrate", action="store_true",
                    help="with --dry-run: calibrate (2 games, a few training steps) even when the registry "
                         "has measured generations")
    lp.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    lp.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    lp.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    lp.set_defaults(func=lambda args: _loop(args, open_store))

    from ..fields import add_arguments
    from .campaign import CampaignConfig

    cp = sub.add_parser("campaign", help="the loop on several partitions, each within a CPU budget, then each "
                                         "final best against heuristic and one summary table; resumable")
    add_arguments(cp, CampaignConfig, json_fields=("loop",))
    cp.add_argument("--all", action="store_true", help="all 12 partitions, the cheapest first")
    cp.add_argument("--report", action="store_true",
                    help="run and evaluate nothing: the table of what the lake holds")
    cp.add_argument("--dry-run", action="store_true",
                    help="run nothing: per partition the CPU hours its budget has left, what a generation "
                         "costs (its registry, or a short calibration on this machine) and the evaluation's")
    cp.add_argument("--to-sensor", action="store_true",
                    help="run nothing: write the partitions' budgets and loop settings into the loop sensor's "
                         "budget file, for the Dagster daemon to run")
    cp.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    cp.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    cp.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    cp.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    cp.set_defaults(func=lambda args: _campaign(args, open_store))


__all__ = ["ALIASES", "add_loop_config_arguments", "add_parsers", "loop_config_from_args"]
