"""The ``ringrift`` command line.

    ringrift rules replay FILE...            verify game records by replaying them
    ringrift rules conformance               all of RingRift's conformance data, summarised
    ringrift lake ingest|audit|sql           the landing zone, its ledger, read-only queries
    ringrift rules selfplay --board hex8 --players 3 --games 100 --seed 1
    ringrift train --samples 'square8|2' --out runs/sq8   train the network (lake partition or NPZ)
    ringrift model info runs/sq8/model.pt                 what a network checkpoint is and how it scored
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm


def _collect_paths(names) -> tuple:
    paths, missing = [], []
    for name in names:
        p = Path(name)
        if p.is_dir():
            paths.extend(sorted(x for x in p.rglob("*") if x.suffix in (".json", ".jsonl", ".gz")))
        elif p.exists():
            paths.append(p)
        else:
            missing.append(name)
    return paths, missing


def _verdict_json(v) -> dict:
    return {"source": v.source, "ok": v.ok, "moves": v.moves, "complete": v.complete, "winner": v.winner,
            "victoryReason": v.victory_reason, "rules": v.rules, "message": v.message}


def _rules_replay(args) -> int:
    from .rules.records import replay_files

    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    paths, missing = _collect_paths(args.files)
    for name in missing:
        print(f"FAIL {name}: no such file", file=sys.stderr)
    verdicts = []
    t0 = time.perf_counter()
    profile = None if args.rules == "auto" else args.rules
    bar = tqdm(total=len(paths), desc="replay", unit="file", disable=not args.progress)
    for file_verdicts in replay_files(paths, profile, workers=args.workers):
        bar.update(1)
        for v in file_verdicts:
            verdicts.append(v)
            if args.json:
                print(json.dumps(_verdict_json(v)))
            else:
                tqdm.write(v.line())
    bar.close()
    ok = sum(v.ok for v in verdicts)
    bad = len(verdicts) - ok + len(missing)
    dt = time.perf_counter() - t0
    summary = f"{ok} passed, {bad} failed"
    if args.json:
        print(json.dumps({"summary": {"passed": ok, "failed": bad, "seconds": round(dt, 3)}}))
    else:
        print(summary)
    return 0 if bad == 0 and verdicts else 1


def _rules_conformance(args) -> int:
    """Every piece of RingRift's conformance data: golden games, reference games and
    contract vectors, with one summary line per kind."""
    from .rules.records import replay_files
    from .rules.vectors import run_vector_file

    root = Path(args.shared) / "conformance" if args.shared else _default_conformance()
    if not root.is_dir():
        print(f"error: no conformance data at {root} (give --shared DIR or set RINGRIFT_SHARED)", file=sys.stderr)
        return 2
    failed = 0
    report = {}
    for kind in ("golden-games", "reference-games"):
        paths = sorted(p for p in (root / kind).glob("*") if p.suffix in (".json", ".gz"))
        t0 = time.perf_counter()
        verdicts = [v for vs in replay_files(paths, workers=args.workers) for v in vs]
        bad = [v for v in verdicts if not v.ok]
        report[kind] = {"passed": len(verdicts) - len(bad), "failed": len(bad),
                        "steps": sum(v.moves for v in verdicts), "seconds": round(time.perf_counter() - t0, 3)}
        failed += len(bad)
        for v in bad:
            print(v.line(), file=sys.stderr)
    t0 = time.perf_counter()
    held = broke = 0
    for path in sorted((root / "contract-vectors").glob("*.vectors.json")):
        for vid, problems in run_vector_file(path):
            if problems:
                broke += 1
            else:
                held += 1
    report["contract-vectors"] = {"hold": held, "differ": broke, "seconds": round(time.perf_counter() - t0, 3),
                                  "note": "tests/rules/test_contract_vectors.py lists the vectors set aside, with reasons"}
    if args.json:
        print(json.dumps(report))
    else:
        for kind, r in report.items():
            print(f"{kind:16s} " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "note"))
    return 1 if failed else 0


def _store(args):
    from .lake import LakeStore
    from .lake.layout import storage_root

    return LakeStore.open(storage_root(args.storage), args.catalog)


def _lake_ingest(args) -> int:
    """The landing zone, now, through the same code as the sensor-requested runs."""
    from .lake import landing
    from .lake.merge import merge_partition

    store = _store(args)
    results, look = landing.ingest_all(store, run_id="cli", settle=args.settle)
    for name, reason in look.rejected:
        print(f"QUARANTINED {name}: {reason}")
    parts = set()
    for r in results:
        print(r.line())
        parts.update(r.partitions)
    for name in look.waiting:
        print(f"WAITING     {name}: still changing, or '.partial' (run again once it is complete)")
    if args.merge:
        from .lake.layout import Partition

        for key in sorted(parts):
            p = Partition.parse(key)
            st = merge_partition(store, p.board, p.players, run_id="cli")
            print(f"MERGED      {key}: {st['rows_out']} games ({st['duplicates_removed']} duplicates)")
    if not (results or look.rejected or look.waiting):
        print("landing zone empty")
    return 0


def _lake_audit(args) -> int:
    from .lake import landing

    rep = landing.audit(_store(args))
    from . import metrics

    metrics.audit_done(rep["files"], rep["quarantined"], rep["lost"])
    if args.json:
        print(json.dumps(rep))
    else:
        print(f"lake {rep['lake_id']}: files {rep['files']}, games {rep['games']}, in_lake {rep['in_lake']}, "
              f"quarantined {rep['quarantined']}, lost {rep['lost']}, pending {rep['pending']}, "
              f"missing data files {rep['missing_files']}")
        for p in rep["problems"]:
            print(f"  {p}")
    return 1 if rep["lost"] or rep["problems"] or rep["missing_files"] else 0


def _lake_sql(args) -> int:
    store = _store(args)
    with store.connect(read_only=True) as con:
        rel = con.sql(args.query)
        if rel is None:
            return 0
        if args.json:
            cols = rel.columns
            for row in rel.fetchall():
                print(json.dumps(dict(zip(cols, row)), default=str))
        else:
            rel.show(max_rows=args.max_rows)
    return 0


def _default_conformance() -> Path:
    import os

    env = os.environ.get("RINGRIFT_SHARED")
    return (Path(env) if env else Path.cwd().parent / "shared") / "conformance"


def _rules_selfplay(args) -> int:
    from .rules import new_game
    from .rules.fast import FastGame, playout
    from .rules.records import make_record

    start = new_game(args.board, args.players, swap_rule=args.swap)
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    winners: Counter = Counter()
    reasons: Counter = Counter()
    lengths = []
    unfinished = 0
    t0 = time.perf_counter()
    try:
        for i in tqdm(range(args.games), desc=f"selfplay {args.board} {args.players}p", unit="game",
                      disable=not args.progress):
            seed = args.seed + i
            final, applied, _, rows = playout(start, seed, max_moves=args.max_moves, record_moves=out is not None)
            lengths.append(applied)
            if final.is_over:
                winners[final.winner] += 1
                reasons[final.victory_reason] += 1
            else:
                unfinished += 1
            if out is not None:
                g = FastGame(start)
                moves = []
                for r in rows:
                    moves.append(g.move(r))
                    g.push(r)
                rec = make_record(moves, final, game_id=f"{args.board}-{args.players}p-{seed}", board_type=args.board,
                                  num_players=args.players, rules_options={"swapRuleEnabled": args.swap},
                                  seed=seed, generator="random")
                out.write(json.dumps(rec) + "\n")
    finally:
        if out is not None:
            out.close()
    dt = time.perf_counter() - t0
    finished = args.games - unfinished
    summary = {
        "board": args.board,
        "players": args.players,
        "games": args.games,
        "finished": finished,
        "seconds": round(dt, 3),
        "winner_share": {str(p): round(winners[p] / max(finished, 1), 4) for p in range(1, args.players + 1)},
        "victory_reasons": dict(reasons.most_common()),
        "length": {
            "mean": round(statistics.fmean(lengths), 1) if lengths else 0,
            "median": statistics.median(lengths) if lengths else 0,
            "min": min(lengths, default=0),
            "max": max(lengths, default=0),
        },
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.games} games on {args.board} with {args.players} players in {dt:.2f}s ({finished} finished)")
        for p in range(1, args.players + 1):
            print(f"  player {p} won {winners[p]:6d} ({100 * winners[p] / max(finished, 1):5.1f}%)")
        for r, c in reasons.most_common():
            print(f"  {r:28s} {c:6d}")
        s = summary["length"]
        print(f"  game length: mean {s['mean']}, median {s['median']}, min {s['min']}, max {s['max']} moves")
        if args.out:
            print(f"  records written to {args.out}")
    return 0


WEIGHTS_ENV = "RINGRIFT_HEURISTIC_WEIGHTS"


def _weights_arg(args) -> str:
    """The heuristic weights file a shell command plays with: ``--weights``, else
    ``$RINGRIFT_HEURISTIC_WEIGHTS``, else the storage root's tuned file
    (``--storage`` / ``$RINGRIFT_STORAGE`` / ``./storage``) if it exists, else the
    packaged defaults.  The lookup is the shell's: library calls play the file they are
    given (the packaged defaults when none), so a run's recorded weights version is
    always the file it played."""
    import os

    from .ai.heuristic import packaged_weights_path
    from .lake.layout import Layout, storage_root

    if getattr(args, "weights", None):
        return str(Path(args.weights))
    if os.environ.get(WEIGHTS_ENV):
        return str(Path(os.environ[WEIGHTS_ENV]))
    tuned = Layout(storage_root(getattr(args, "storage", None))).weights_file
    return str(tuned if tuned.is_file() else packaged_weights_path())


# ``weights`` is the shell's lookup (``_weights_arg``), not the config's "None: packaged".
_SELFPLAY_SKIP = ("weights",)
_SELFPLAY_ALIASES = {"temperature.opening_moves": ("--opening-moves",), "temperature.opening": ("--opening-temp",),
                     "temperature.base": ("--temp",)}


def add_selfplay_arguments(parser, boards) -> None:
    """``ringrift selfplay``'s flags: one per ``SelfplayConfig`` field (the temperature
    schedule's as ``--temperature-*``, with the short names kept as aliases)."""
    from .fields import add_arguments
    from .selfplay import SelfplayConfig

    add_arguments(parser, SelfplayConfig, skip=_SELFPLAY_SKIP, aliases=_SELFPLAY_ALIASES,
                  choices={"board": boards})
    _add_players_help(parser)


def _add_players_help(parser) -> None:
    """Append every engine (the factory's table) to the help of ``--players``."""
    from .ai.factory import players_help

    for action in parser._actions:
        if "--players" in action.option_strings:
            action.help = f"{action.help or ''} {players_help()}".strip().replace("%", "%%")


def _selfplay(args) -> int:
    from .ai.signal import columns, summarize
    from .nn.players import make_player
    from .fields import arguments_to_fields
    from .selfplay import SelfplayConfig, run_selfplay

    try:
        cfg = SelfplayConfig(weights=_weights_arg(args), **arguments_to_fields(args, SelfplayConfig,
                                                                                skip=_SELFPLAY_SKIP))
        # ``nn:best:64`` and ``policy:g3`` name the --storage lake's registry, as in arena;
        # the games record the checkpoint file they resolved to.
        cfg = dataclasses.replace(cfg, players=tuple(_registry_specs(args, list(cfg.players), len(cfg.players))))
        for spec in cfg.players:  # model files and boards are checked before any game starts
            make_player(spec, cfg.board, len(cfg.players), weights=cfg.weights, device=cfg.device)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # With a file the records are streamed to it as the games end and the summary reads
    # them back one at a time: a long run needs memory for its games in flight only.
    records = run_selfplay(cfg, args.out, progress=args.progress, keep_records=args.out is None)

    def each():
        if records is not None:
            yield from records
            return
        with open(args.out, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)

    wins, reasons, length, n = Counter(), Counter(), 0, 0
    for r in each():
        wins[r["winner"]] += 1
        reasons[r["victoryReason"]] += 1
        length += r["length"]
        n += 1
    summary = {
        "games": n,
        "winner_share": {str(p): round(wins[p] / n, 4) for p in range(1, len(cfg.players) + 1)},
        "victory_reasons": dict(reasons),
        "mean_length": round(length / n, 1),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in columns(summarize(each())).items()},
        "out": str(args.out) if args.out else None,
    }
    print(json.dumps(summary))
    return 0


def _registry_specs(args, specs: list, players: int) -> list:
    """Specs naming registry models (``nn:best:64``, ``policy:g3``) resolved in the
    ``--storage`` root's lake; other specs unchanged."""
    from .ai.factory import parse_player
    from .loop.run import is_registry_ref, resolve_specs

    if not any(parse_player(s).uses_network and is_registry_ref(parse_player(s).model) for s in specs):
        return specs  # no lake is opened (or created) for specs that need none
    store = _store(args)
    return resolve_specs(specs, store, args.board, players)


def _arena(args) -> int:
    from .ai.factory import parse_spec
    from .arena import fit_elo, head_to_head, round_robin
    from .nn.players import make_player

    specs = [x.strip() for x in args.players.split(",")]
    if args.threads < 0:
        print(f"error: --threads must be >= 0, got {args.threads}", file=sys.stderr)
        return 2
    if args.threads:  # before any network is built or run
        import torch

        torch.set_num_threads(args.threads)
    try:
        for s in specs:
            parse_spec(s)
        if len(set(specs)) != len(specs):
            raise ValueError("--players: each entrant must be listed once")
        if args.concurrency < 1 or args.random_opening < 0 or args.games < 1:
            raise ValueError("--games and --concurrency must be positive and --random-opening >= 0")
        files = _registry_specs(args, specs, args.num_players)  # names stay as given
        built = {s: make_player(f, args.board, args.num_players, weights=_weights_arg(args), device=args.device)
                 for s, f in zip(specs, files)}
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for s in specs:
        built[s][0].name = s
    common = dict(seed=args.seed, progress=args.progress, concurrency=args.concurrency,
                  random_opening=args.random_opening)
    if args.ray_address:  # the games on Ray's actors; scores, tests and tables here, as in-process
        from .cluster import ClusterError
        from .loop.remote import RayMatches

        try:
            if args.workers < 1:
                raise ValueError(f"--workers: must be at least 1, got {args.workers}")
            common["runner"] = RayMatches(args.ray_address, args.workers, args.board, args.num_players,
                                          {s: (f, _weights_arg(args)) for s, f in zip(specs, files)},
                                          device=args.device)
        except (ValueError, ClusterError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.sprt:
        from .arena import SPRT, sequential_match

        if len(specs) != 2 or args.num_players != 2:
            print("error: --sprt compares exactly two players in 2-player games", file=sys.stderr)
            return 2
        try:
            elo0, elo1 = (float(x) for x in args.sprt.split(","))
            test = SPRT(elo0=elo0, elo1=elo1)
        except ValueError as e:
            print(f"error: --sprt: expected ELO0,ELO1 with ELO1 > ELO0 ({e})", file=sys.stderr)
            return 2
        (pa, ba), (pb, bb) = built[specs[0]], built[specs[1]]
        out = sequential_match(pa, pb, ba, bb, args.board, test, args.max_games, **common)
        print(json.dumps({"a": specs[0], "b": specs[1], **out}))
        return 0
    if len(specs) == 2:  # with 3-4 players: the first in one seat, the second in the others
        (pa, ba), (pb, bb) = built[specs[0]], built[specs[1]]
        out = head_to_head(pa, pb, ba, bb, args.board, args.games, num_players=args.num_players, **common)
        if args.json:
            print(json.dumps(out))
        else:
            print(f"{out['a']} vs {out['b']} on {args.board}: score {out['score']:.3f} "
                  f"(95% CI {out['ci95'][0]:.3f}-{out['ci95'][1]:.3f}) over {out['games']} games: "
                  f"{out['wins']} wins, {out['draws']} draws, {out['losses']} losses"
                  + (f", {out['middle']} other finishes (pairwise)" if out["middle"] else ""))
        return 0
    players = {s: b[0] for s, b in built.items()}
    budgets = {s: b[1] for s, b in built.items()}
    _, records = round_robin(players, budgets, args.board, args.num_players, args.games, **common)
    anchor = "random" if "random" in specs else specs[0]
    elo, se = fit_elo(records, anchor)
    table = sorted(({"player": p, "elo": round(elo[p], 1), "se": round(se[p], 1),
                     "ci95": [round(elo[p] - 1.96 * se[p], 1), round(elo[p] + 1.96 * se[p], 1)]} for p in specs),
                   key=lambda r: -r["elo"])
    out = {"board": args.board, "players": args.num_players, "anchor": anchor, "games_per_pairing": args.games,
           "elo": table}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Elo on {args.board} {args.num_players}p (anchor {anchor} = 0, {args.games} games per pairing):")
        for r in table:
            print(f"  {r['player']:<40} {r['elo']:>8.1f} +- {1.96 * r['se']:.1f}")
    return 0


_TUNE_ALIASES = {"games_per_eval": ("--games",), "gate_simulations": ("--gate-sims",)}


def add_tune_arguments(parser, boards) -> None:
    """``ringrift tune``'s CMA-ES flags: one per ``TuneConfig`` field (earlier short
    names kept as aliases), and ``--confirm-*`` per ``ConfirmConfig`` field."""
    from .fields import add_arguments
    from .tuning import ConfirmConfig, TuneConfig

    add_arguments(parser, TuneConfig, aliases=_TUNE_ALIASES, flags={"players": "--num-players"},
                  choices={"board": boards, "players": [2, 3, 4], "evaluator": ["games", "neural"]})
    # The confirming test the tuned weights must pass (--confirm-max-games 0: none).
    add_arguments(parser.add_argument_group("confirming test"), ConfirmConfig, prefix="confirm",
                  aliases={"max_games": ("--confirm-games",)})


def _tune(args) -> int:
    from .fields import arguments_to_fields
    from .lake.layout import Layout, Partition, storage_root
    from .tuning import ConfirmConfig, TuneConfig, tune_and_accept

    try:
        cfg = TuneConfig(**arguments_to_fields(args, TuneConfig))
        model = None
        if args.model:
            model = Path(args.model)
            if not model.is_file():
                from .loop.run import resolve_ref

                model = resolve_ref(_store(args), cfg.board, cfg.players, args.model)
        layout = Layout(storage_root(args.storage))
        target = Path(args.weights_out) if args.weights_out else layout.weights_file
        workdir = Path(args.workdir) if args.workdir else layout.tuning_dir(Partition(cfg.board, cfg.players), "shell")
        confirm = ConfirmConfig(**arguments_to_fields(args, ConfirmConfig, prefix="confirm"))
        out = tune_and_accept(cfg, workdir, target, confirm=confirm, model=model, progress=args.progress)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    version = None
    if not args.weights_out:
        # The storage root's weights: kept as a version in its lake, accepted or not, as
        # the heuristic_weights asset keeps them (the same record, the same config keys).
        from .lake.weights import record_weights_version
        from .tuning import recorded_config

        version = record_weights_version(_store(args), cfg.board, cfg.players, out,
                                         recorded_config(cfg, confirm))["weights_version"]
    result, confirm, written = out["result"], out["confirmation"], out["accepted"]
    print(json.dumps({"best_score": round(result["best_score"], 4), "generations": result["generations"],
                      "weights_file": str(target) if written else None, "weights_version": version,
                      "confirmation": confirm, "history": result["history"]}))
    if not written:
        print(f"the tuned weights did not pass the confirming test; {target} is unchanged", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .rules import BOARD_TYPES

    ap = argparse.ArgumentParser(prog="ringrift", description="RingRift Lab command line")
    ap.add_argument("--debug", action="store_true",
                    help="on an unexpected error, the Python traceback instead of one line")
    ap.add_argument("--metrics-port", type=int, default=0,
                    help="serve Prometheus metrics (selfplay, loop, lake) on http://127.0.0.1:PORT/metrics while "
                         "the command runs (deploy/prometheus.yml scrapes 9101)")
    sub = ap.add_subparsers(dest="command", required=True)
    rules = sub.add_parser("rules", help="the rules engine")
    rsub = rules.add_subparsers(dest="rules_command", required=True)

    rp = rsub.add_parser("replay", help="replay game records and verify every move and result")
    rp.add_argument("files", nargs="+", help="record files (.json, .json.gz, .jsonl) or folders")
    rp.add_argument("--json", action="store_true", help="one JSON verdict per game")
    rp.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    rp.add_argument("--rules", choices=["auto", "canonical", "golden"], default="auto",
                    help="rules to replay under: 'auto' (default) takes each record's own rules options, "
                         "and for RingRift's exported records (its golden games), which carry none, the rules "
                         "of the engine that recorded them; 'canonical' or 'golden' forces one profile "
                         "(see docs/rules-engine.md)")
    rp.add_argument("--workers", type=int, default=1, help="replay files in this many processes")
    rp.set_defaults(func=_rules_replay)

    cf = rsub.add_parser("conformance", help="replay all of RingRift's conformance data and summarise")
    cf.add_argument("--shared", help="the shared folder holding conformance/ (default: $RINGRIFT_SHARED or ../shared)")
    cf.add_argument("--workers", type=int, default=2, help="processes for the game replays")
    cf.add_argument("--json", action="store_true", help="the summary as JSON")
    cf.set_defaults(func=_rules_conformance)

    sp = rsub.add_parser("selfplay", help="play random games and print outcome statistics")
    sp.add_argument("--board", required=True, choices=BOARD_TYPES, help="the board")
    sp.add_argument("--num-players", dest="players", type=int, default=2, choices=[2, 3, 4],
                    help="players per game (default 2)")
    sp.add_argument("--games", type=int, default=100, help="random games to play (default 100)")
    sp.add_argument("--seed", type=int, default=1, help="seed of the first game; game i uses seed + i (default 1)")
    sp.add_argument("--max-moves", type=int, default=100_000, help="safety cap per game")
    sp.add_argument("--swap", action="store_true", help="enable the 2-player pie rule")
    sp.add_argument("--out", help="write game records (JSON Lines) here")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    sp.set_defaults(func=_rules_selfplay)

    lk = sub.add_parser("lake", help="the lakehouse: landing zone, audit, queries")
    lsub = lk.add_subparsers(dest="lake_command", required=True)
    for name, helptext in (("ingest", "process the landing zone now (as the sensor-requested runs do)"),
                           ("audit", "reconcile every landed file with the lake and the quarantine"),
                           ("sql", "run a read-only SQL query (tables are lake.<name>)")):
        lp = lsub.add_parser(name, help=helptext)
        lp.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
        lp.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>' "
                                          "(default: $RINGRIFT_LAKE_CATALOG)")
        if name == "ingest":
            lp.add_argument("--settle", type=float, default=1.0,
                            help="seconds between the two looks that decide a file is complete")
            lp.add_argument("--no-merge", dest="merge", action="store_false",
                            help="do not rebuild games_merged of the partitions that received games")
            lp.set_defaults(func=_lake_ingest)
        elif name == "audit":
            lp.add_argument("--json", action="store_true", help="the report as JSON")
            lp.set_defaults(func=_lake_audit)
        else:
            lp.add_argument("query", help="one read-only SQL statement; tables are lake.<name> (e.g. lake.games)")
            lp.add_argument("--json", action="store_true", help="one JSON object per row")
            lp.add_argument("--max-rows", type=int, default=40, help="rows printed (default 40)")
            lp.set_defaults(func=_lake_sql)

    so = sub.add_parser("selfplay", help="games between players, written as records with search policies")
    add_selfplay_arguments(so, BOARD_TYPES)
    so.add_argument("--out", help="JSON Lines output")
    so.add_argument("--weights", help="heuristic weights file (default: $RINGRIFT_HEURISTIC_WEIGHTS, the storage "
                                      "root's tuned file, or the packaged defaults)")
    so.add_argument("--storage", help="storage root whose tuned weights are the default and whose model registry "
                                      "resolves nn:best / nn:g<N> (default: $RINGRIFT_STORAGE or ./storage)")
    so.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    so.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    so.set_defaults(func=_selfplay)

    ar = sub.add_parser("arena", help="matches between players: a score with its interval for two players, "
                                      "Elo by maximum likelihood for more")
    ar.add_argument("--board", required=True, choices=BOARD_TYPES, help="the board")
    ar.add_argument("--players", required=True,
                    help="comma-separated specs, e.g. heuristic,mcts:64,nn:model.pt:64,policy:model.pt (the player "
                         "count is --num-players).")
    _add_players_help(ar)
    ar.add_argument("--num-players", type=int, default=2, choices=[2, 3, 4],
                    help="players per game (default 2); with two specs and 3-4 players the first sits in one "
                         "seat and the second in the others")
    ar.add_argument("--games", type=int, default=10, help="games per pairing (seats rotate)")
    ar.add_argument("--concurrency", type=int, default=8, help="games in flight (network evaluations are batched)")
    ar.add_argument("--random-opening", type=int, default=0,
                    help="decisions played at random from each game's seed before the players take over")
    ar.add_argument("--device", default="cpu", help="where networks run: cpu, cuda, mps")
    ar.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads of this process (default 1; 0: torch's default, one per core, "
                         "which oversubscribes a machine that runs other work)")
    ar.add_argument("--ray-address", default="",
                    help="play the games on Ray actors: 'local' starts Ray on this machine, 'auto' or HOST:PORT "
                         "joins a running cluster (default: in this process); the results are those of the same "
                         "games played in-process")
    ar.add_argument("--workers", type=int, default=2,
                    help="Ray actors that play the games with --ray-address (default 2), each --concurrency at a time")
    ar.add_argument("--json", action="store_true", help="machine-readable results (with 95%% intervals)")
    ar.add_argument("--storage", help="storage root whose model registry resolves nn:best / nn:g<N> "
                                      "(default: $RINGRIFT_STORAGE or ./storage)")
    ar.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    ar.add_argument("--seed", type=int, default=0, help="seed of the first game; game i uses seed + i (default 0)")
    ar.add_argument("--sprt", help="ELO0,ELO1: test 'first player is stronger by ELO1' sequentially instead")
    ar.add_argument("--max-games", type=int, default=1000, help="cap for --sprt")
    ar.add_argument("--weights", help="heuristic weights file (default as for selfplay)")
    ar.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    ar.set_defaults(func=_arena)

    tu = sub.add_parser("tune", help="CMA-ES tuning of the heuristic weights (resumable)")
    add_tune_arguments(tu, BOARD_TYPES)
    tu.add_argument("--workdir", help="optimiser state, history JSON and plot; a rerun with the same folder resumes "
                                      "(default: the storage root's tuning/<board>_<n>p/shell)")
    tu.add_argument("--weights-out", default=None,
                    help="weights file that receives the tuned vector (default: the storage root's, "
                         "which heuristic players read)")
    tu.add_argument("--model", help="the neural evaluator's network: a checkpoint file, or 'best' / g<N> of the "
                                    "partition's loop registry under --storage; or an NNUE file (.npz), tested with "
                                    "alpha-beta against alpha-beta with the heuristic")
    tu.add_argument("--storage", help="storage root: its tuned weights file (the default --weights-out), tuning "
                                      "folder and loop registry (--model best / g<N>) (default: $RINGRIFT_STORAGE or "
                                      "./storage)")
    tu.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    tu.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    tu.set_defaults(func=_tune)

    from .train.commands import add_parsers as add_train_parsers

    add_train_parsers(sub, _store)
    from .loop.commands import add_parsers as add_loop_parsers

    add_loop_parsers(sub, _store)
    _add_nnue_parsers(sub)
    return ap


def _nnue_train(args) -> int:
    from .distill import distill
    from .fields import arguments_to_fields
    from .lake.layout import Layout
    from .loop.run import is_registry_ref, resolve_ref, resolve_specs
    from .partition import Partition
    from .train.nnue import NNUETrainConfig

    try:
        part = Partition.parse(args.partition)
        cfg = NNUETrainConfig(**arguments_to_fields(args, NNUETrainConfig))
        store = _store(args)
        model = None
        if args.model:
            model = str(resolve_ref(store, part.board, part.players, args.model)) if is_registry_ref(args.model) \
                else args.model
        # The extra games' player may name the registry too (``policy:best``).
        (extra_player,) = resolve_specs([args.extra_player], store, part.board, part.players)
        out = Path(args.out) if args.out else Layout(store.root).nnue_candidate(part)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = distill(store, part.board, part.players, out, model=model, mix=args.mix, max_games=args.max_games,
                         every=args.every, branches=args.branches, cfg=cfg, device=args.device,
                         symmetrise=args.symmetrise, image_targets=args.image_targets,
                         extra_games=args.extra_games, extra_player=extra_player,
                         log=lambda m: print(m, flush=True))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report), flush=True)
    return 0


def _nnue_info(args) -> int:
    from .nnue import load_nnue

    try:
        w = load_nnue(args.file)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    meta = w.meta
    if args.json:
        print(json.dumps(meta))
        return 0
    rep = meta.get("report", {})
    print(f"{args.file}: NNUE for {w.board}" + (f" {meta['players']}p" if meta.get("players") else "")
          + f", features {meta['feature_set']['name']} v{meta['feature_set']['version']} "
          f"({meta['feature_set']['hash']}), sizes {'x'.join(map(str, w.sizes))}"
          + (" (pairwise head: products of the accumulator's halves)" if w.pairwise else ""))
    if rep:
        corr = rep.get("corr_with_network") or {}
        print(f"  {rep['positions']} positions of {rep['games']} games (mix {rep['mix']}), of which held out "
              f"{rep['heldout_positions']} positions of {rep['heldout_games']} games")
        if corr:
            print(f"  correlation with the network's value: NNUE {corr.get('nnue')} (float {corr.get('nnue_float')}),"
                  f" heuristic {corr.get('heuristic')}")
        print(f"  MSE against the result: {rep['mse_result']}")
    return 0


def _nnue_calibrate(args) -> int:
    """Measure an NNUE file's quantisation error on positions of played games and store
    its bias corrections (the file written to ``--out``, the input untouched)."""
    from .distill import played_positions
    from .nnue import load_nnue
    from .nnue.calibrate import correct_quantisation

    try:
        if args.games < 1:
            raise ValueError(f"--games must be at least 1, got {args.games}")
        if not 2 <= args.num_players <= 4:
            raise ValueError(f"--num-players must be 2, 3 or 4, got {args.num_players}")
        w = load_nnue(args.file)
        states = played_positions(w.board, args.num_players, args.games, player=args.player, seed=args.seed,
                                  log=lambda m: print(m, flush=True))
        w, report = correct_quantisation(w, states, max_positions=args.max_positions, seed=args.seed)
        w.meta["calibration"] = {**report, "games": args.games, "player": args.player, "players": args.num_players,
                                 "seed": args.seed}
        w.save(args.out)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(w.meta["calibration"]), flush=True)
    return 0


def _add_nnue_parsers(sub) -> None:
    from .fields import add_arguments
    from .train.nnue import NNUETrainConfig

    nu = sub.add_parser("nnue", help="NNUE evaluators: train one from the lake and the best network, inspect one")
    nsub = nu.add_subparsers(dest="nnue_command", required=True)
    tr = nsub.add_parser("train", help="distil an NNUE from a partition's games and its network's values")
    tr.add_argument("--partition", required=True, help="BOARD|PLAYERS, e.g. 'square8|2'")
    tr.add_argument("--model", help="the network to distil: a checkpoint file, or 'best' / g<N> of the partition's "
                                    "loop registry; none: the target is the game result (needs --mix 1)")
    tr.add_argument("--mix", type=float, default=0.0,
                    help="the result's weight in the value target, the network's value the rest (default 0: "
                         "pure distillation)")
    tr.add_argument("--max-games", type=int, default=2000, help="games read from the lake (default 2000)")
    tr.add_argument("--every", type=int, default=1, help="keep the decisions of every N-th ply (default 1)")
    tr.add_argument("--branches", type=int, default=0,
                    help="per kept position, this many more 1-4 random moves off the game's path, valued by the "
                         "network only (needs --mix 0; default 0)")
    tr.add_argument("--symmetrise", action="store_true",
                    help="targets: the network's value averaged over the board's rules symmetries (the labelling "
                         "costs that many times more)")
    tr.add_argument("--image-targets", action="store_true",
                    help="targets: the network's value of each image of a position under the board's rules "
                         "symmetries, so the augmentation trains each image on its own value (the labelling costs "
                         "that many times more; needs the symmetries, not --symmetrise)")
    tr.add_argument("--extra-games", type=int, default=0,
                    help="also play this many games of --extra-player here and train on their positions, labelled "
                         "by the network (never held out; needs a network and --mix 0; default 0)")
    tr.add_argument("--extra-player", default="heuristic",
                    help="the player spec of every seat of those games, each opened by 8 random decisions; "
                         "registry references resolve (policy:best: positions like the loop's own) "
                         "(default heuristic)")
    add_arguments(tr, NNUETrainConfig)
    tr.add_argument("--out", help="the NNUE file (default: the partition's candidate, "
                                  "<storage>/nnue/<board>_<n>p/candidate.nnue.npz, which the nnue_model asset gates)")
    tr.add_argument("--device", default="cpu", help="where the network runs")
    tr.add_argument("--storage", help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    tr.add_argument("--catalog", help="'sqlite' (default) or 'postgres:<libpq string>'")
    tr.set_defaults(func=_nnue_train)
    info = nsub.add_parser("info", help="an NNUE file's feature set, sizes and distillation report")
    info.add_argument("file", help="an NNUE file (ringrift nnue train output)")
    info.add_argument("--json", action="store_true", help="the file's metadata as JSON")
    info.set_defaults(func=_nnue_info)
    cal = nsub.add_parser("calibrate", help="correct an NNUE file's quantised biases for the mean error rounding "
                                            "leaves, measured on positions of played games (files trained "
                                            "before the correction existed)")
    cal.add_argument("file", help="an NNUE file")
    cal.add_argument("--out", required=True, help="the corrected file (may be the same path)")
    cal.add_argument("--num-players", type=int, required=True, help="the player count of the games to play (2-4)")
    cal.add_argument("--games", type=int, default=60, help="games played for positions (default 60)")
    cal.add_argument("--player", default="heuristic", help="the player spec of every seat (default heuristic)")
    cal.add_argument("--max-positions", type=int, default=4096, help="positions measured at most (default 4096)")
    cal.add_argument("--seed", type=int, default=0, help="the games' and the sample's seed (default 0)")
    cal.set_defaults(func=_nnue_calibrate)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "games", 1) < 1:
        print("error: --games must be at least 1", file=sys.stderr)
        return 2
    if getattr(args, "swap", False) and args.players != 2:
        print("error: --swap needs --num-players 2 (the pie rule is 2-player only)", file=sys.stderr)
        return 2
    from .lake.store import LakeError

    if args.metrics_port:
        from . import metrics

        try:
            metrics.serve(args.metrics_port)
        except (ValueError, OSError) as e:
            print(f"error: --metrics-port: {e}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except LakeError as e:  # the lake cannot be opened or read: say why, no traceback
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # noqa: BLE001 - one line for the user; --debug shows where
        if args.debug:
            raise
        print(f"error: {type(e).__name__}: {e} (ringrift --debug ... shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
