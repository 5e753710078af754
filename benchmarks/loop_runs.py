"""Repeat runs of the closed loop: several seeds, the median and range of every proof figure.

    python benchmarks/loop_runs.py --partition 'square8|2' --seeds 1,2,3 --hours 2 \\
        --out storage/bench/loop_runs [--parallel 1] [--eval-games 200] [-- <ringrift loop flags>]

Each seed is its own ``ringrift loop`` run in its own storage root (``<out>/seed<k>``),
as a subprocess with one torch thread, until the run has spent ``--hours`` of wall clock
on generations (counted from its registry, so an interrupted benchmark resumes where it
stopped: run the same command again) or has ``--generations``.  ``--parallel`` runs
that many seeds side by side.  Flags after ``--`` go to every ``ringrift loop``
(defaults: the loop's own).

Then, per seed, from its registry and ladder (``kind: run``): generations, promotions,
rollbacks, CPU hours by step, ``data_share`` after the bootstrap (median and minimum),
the newest candidate's held-out figures next to their baselines (policy CE, uniform,
target entropy, gap closed, top-1, value MSE, best epoch), and the final best's ladder
Elo next to ``heuristic``'s.  With ``--eval-games N``: the final best network alone
(``policy:best``) and under search (``nn:best:64``) against ``heuristic``, and
``nn:best:64`` against ``mcts:512``, N games each (seats alternating, 4 random opening
decisions), each with its 95% interval, kept in ``<out>/seed<k>/eval.json`` (replayed
only when the seed has a new best; ``--parallel`` seeds' matches at a time).  ``kind: summary``: the median and range over
the seeds of every number.  The seeds' ladders are drawn on one plot
(``<out>/runs.svg``: Elo ±1 SE against CPU hours).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

EVALS = (("policy:best", "heuristic"), ("nn:best:64", "heuristic"), ("nn:best:64", "mcts:512"))


def _hours_spent(root: Path, board: str, players: int) -> tuple:
    """``(wall hours of the generations, generations)`` already in a root's registry."""
    if not (root / "lake").exists():
        return 0.0, 0
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import registry
    from ringrift_ml.loop.generations import generation_states

    states = generation_states(registry(LakeStore.open(root), board, players))
    return sum((r["wall_seconds"] or 0.0) for r in states.values()) / 3600, len(states)


FINISHED = "finished.json"
"""Written in a seed's root when its loop ended by itself (its ``--hours`` or
``--generations`` reached), with the budget it ran under.  The loop's own clock also
counts the ladder games that the registry's generation wall seconds leave out, so
without it a rerun would start another generation on a finished seed."""


def _finished(root: Path, hours: float, generations: int) -> bool:
    path = root / FINISHED
    if not path.is_file():
        return False
    kept = json.loads(path.read_text())
    return kept["hours"] >= hours and kept["generations"] >= generations  # no larger budget asked


def _loop_command(part, seed: int, root: Path, hours: float, generations: int, extra: list) -> list:
    return [sys.executable, "-m", "ringrift_ml.cli", "loop", "--partition", part.key, "--seed", str(seed),
            "--generations", str(generations), "--hours", f"{hours:.4f}", "--threads", "1", "--storage", str(root),
            "--no-progress", *extra]


def run_seeds(part, seeds: list, out: Path, hours: float, generations: int, parallel: int, extra: list) -> None:
    """Run (or resume) every seed's loop until its budget is spent."""
    pending = []
    for s in seeds:
        root = out / f"seed{s}"
        spent, done = _hours_spent(root, part.board, part.players)
        if _finished(root, hours, generations):
            print(json.dumps({"bench": "loop_runs", "kind": "skip", "seed": s, "hours_spent": round(spent, 3),
                              "generations": done, "why": "its loop ended within this budget"}), flush=True)
            continue
        if spent >= hours or done >= generations:
            print(json.dumps({"bench": "loop_runs", "kind": "skip", "seed": s, "hours_spent": round(spent, 3),
                              "generations": done}), flush=True)
            continue
        pending.append((s, root, hours - spent))
    running: list = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        while pending or running:
            while pending and len(running) < parallel:
                s, root, left = pending.pop(0)
                root.mkdir(parents=True, exist_ok=True)
                log = open(root / "loop.log", "a")
                cmd = _loop_command(part, s, root, left, generations, extra)
                print(json.dumps({"bench": "loop_runs", "kind": "start", "seed": s, "hours_left": round(left, 3),
                                  "command": " ".join(cmd[2:])}), flush=True)
                running.append((s, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
            time.sleep(2)
            for item in list(running):
                s, proc, log = item
                if proc.poll() is not None:
                    log.close()
                    running.remove(item)
                    print(json.dumps({"bench": "loop_runs", "kind": "finished", "seed": s, "rc": proc.returncode}),
                          flush=True)
                    if proc.returncode:
                        raise SystemExit(f"seed {s}: ringrift loop exited {proc.returncode}; "
                                         f"see {out}/seed{s}/loop.log")
                    (out / f"seed{s}" / FINISHED).write_text(json.dumps({"hours": hours, "generations": generations}))
    finally:
        # A failed seed or an interrupt ends the others too (each resumes on the next call).
        for s, proc, log in running:
            proc.terminate()
            proc.wait()
            log.close()


def _median_range(xs: list) -> dict:
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4),
            "n": len(xs)}


def seed_figures(root: Path, part) -> tuple:
    """``(figures, ladder table)`` of one seed's storage root."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import registry
    from ringrift_ml.loop.generations import PROMOTED, ROLLED_BACK, current_best, generation_states
    from ringrift_ml.loop.ladder import fit_ladder, ladder_table, played

    store = LakeStore.open(root)
    rows = registry(store, part.board, part.players)
    states = generation_states(rows)
    if not states:
        return {"generations": 0}, []
    after = [states[g] for g in sorted(states) if g > 0]
    newest = states[max(states)]
    best = current_best(rows)
    table = ladder_table(store, part.board, part.players) if played(store, part.board, part.players) else []
    by = {r["name"]: r for r in table}
    cpu = {k: round(sum((r.get(f"{k}_cpu_seconds") or 0.0) for r in states.values()) / 3600, 4)
           for k in ("selfplay", "train", "gate", "ladder")}
    shares = [r.get("data_share") for r in after if r.get("data_share") is not None]
    # Each promotion against the promotion before it on the ladder's newest fit: the
    # issue's "rated above its predecessor".  The difference's standard error comes from a
    # fit anchored at the predecessor, as the regression watch computes it (the entrants'
    # own errors, anchored at random, also carry every rung between them and the anchor).
    promoted = [g for g in sorted(states) if states[g]["status"] in (PROMOTED, ROLLED_BACK) and f"g{g}" in by]
    below = []
    games = played(store, part.board, part.players) if promoted else []
    for p, g in zip(promoted, promoted[1:]):
        if by[f"g{g}"]["elo"] < by[f"g{p}"]["elo"]:
            _, rel_se = fit_ladder(games, part.board, part.players, anchor=f"g{p}")
            below.append({"generation": g, "predecessor": p,
                          "elo_diff": round(by[f"g{g}"]["elo"] - by[f"g{p}"]["elo"], 1),
                          "diff_se": round(rel_se[f"g{g}"], 1)})
    figures = {
        "generations": len(states),
        "promotions": sum(r["status"] in (PROMOTED, ROLLED_BACK) for r in states.values()),
        "rollbacks": sum(r["status"] == ROLLED_BACK for r in states.values()),
        "cpu_hours": round(sum((r["cpu_seconds"] or 0.0) for r in states.values()) / 3600, 4),
        "wall_hours": round(sum((r["wall_seconds"] or 0.0) for r in states.values()) / 3600, 4),
        **{f"cpu_hours_{k}": v for k, v in cpu.items()},
        "data_share_median": round(statistics.median(shares), 4) if shares else None,
        "data_share_min": round(min(shares), 4) if shares else None,
        "best_generation": best["generation"] if best else None,
        **{f"last_{k}": newest.get(k) for k in ("heldout_policy_ce", "heldout_policy_ce_uniform",
                                                 "heldout_target_entropy", "heldout_gap_closed", "heldout_top1",
                                                 "heldout_value_mse", "heldout_value_mse_zero", "best_epoch",
                                                 "window_positions", "trained_positions")},
        "best_elo": by.get(f"g{best['generation']}", {}).get("elo") if best else None,
        "best_elo_se": by.get(f"g{best['generation']}", {}).get("se") if best else None,
        "heuristic_elo": by.get("heuristic", {}).get("elo"),
        "rated_promotions": len(promoted),
        "promotions_below_predecessor": len(below),
        "below_predecessor": below,
    }
    return figures, table


def evaluate(root: Path, part, games: int, seed: int) -> dict:
    """The final best against the issue's opponents (``ringrift arena``, JSON)."""
    out = {}
    for a, b in EVALS:
        cmd = [sys.executable, "-m", "ringrift_ml.cli", "arena", "--board", part.board, "--num-players",
               str(part.players), "--players", f"{a},{b}", "--games", str(games), "--random-opening", "4",
               "--concurrency", "32", "--threads", "1", "--json", "--seed", str(seed), "--storage", str(root),
               "--no-progress"]
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        if res.returncode:
            out[f"{a} vs {b}"] = {"error": res.stderr.strip()[-300:]}
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        out[f"{a} vs {b}"] = {k: r.get(k) for k in ("score", "ci95", "games")}
    return out


def cached_evaluate(root: Path, part, games: int, seed: int, best_generation: int) -> dict:
    """``evaluate``, kept in ``<root>/eval.json`` for the best generation, games and seed it was run with.

    A resumed or re-reported benchmark does not replay the final matches (about half an
    hour per seed) unless the run has a new best since.
    """
    path = root / "eval.json"
    key = {"best_generation": best_generation, "games": games, "seed": seed}
    if path.exists():
        kept = json.loads(path.read_text())
        if {k: kept.get(k) for k in key} == key:
            return kept["eval"]
    result = evaluate(root, part, games, seed)
    if not any("error" in r for r in result.values()):
        path.write_text(json.dumps({**key, "eval": result}, indent=1))
    return result


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partition", default="square8|2")
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated loop seeds")
    ap.add_argument("--hours", type=float, default=2.0, help="wall-clock hours of generations per seed")
    ap.add_argument("--generations", type=int, default=1000, help="at most this many generations per seed")
    ap.add_argument("--parallel", type=int, default=1, help="seeds run side by side")
    ap.add_argument("--eval-games", type=int, default=0, help="games per final evaluation match (0: none)")
    ap.add_argument("--no-run", action="store_true", help="only report what the seeds' roots hold")
    ap.add_argument("--out", type=Path, default=Path("storage/bench/loop_runs"))
    args = ap.parse_args(argv)

    from ringrift_ml.partition import Partition

    try:
        part = Partition.parse(args.partition)
        seeds = [int(s) for s in args.seeds.split(",")]
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"--seeds: distinct non-negative integers, got {args.seeds!r}")
        if not args.hours > 0 or args.generations < 1 or args.parallel < 1 or args.eval_games < 0:
            raise ValueError("--hours > 0, --generations >= 1, --parallel >= 1 and --eval-games >= 0 required")
    except ValueError as e:
        print(f"loop_runs: {e}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_run:
        run_seeds(part, seeds, args.out, args.hours, args.generations, args.parallel, extra)

    from ringrift_ml.plots import runs_plot

    per_seed, tables = {}, {}
    for s in seeds:
        per_seed[s], tables[f"seed {s}"] = seed_figures(args.out / f"seed{s}", part)
    if args.eval_games:
        # The seeds' final matches side by side (``--parallel`` at a time; each match is
        # its own ``ringrift arena`` process with one thread).
        from concurrent.futures import ThreadPoolExecutor

        todo = [s for s in seeds if per_seed[s].get("best_generation") is not None]
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            done = pool.map(lambda s: cached_evaluate(args.out / f"seed{s}", part, args.eval_games, 10_000 + s,
                                                      per_seed[s]["best_generation"]), todo)
            for s, ev in zip(todo, done):
                per_seed[s]["eval"] = ev
    for s in seeds:
        figures = per_seed[s]
        print(json.dumps({"bench": "loop_runs", "kind": "run", "partition": part.key, "seed": s, **figures}),
              flush=True)
    keys = sorted({k for f in per_seed.values() for k, v in f.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)})
    summary = {k: _median_range([f.get(k) for f in per_seed.values()]) for k in keys}
    for match in {m for f in per_seed.values() for m in f.get("eval", {})}:
        summary[f"eval {match}"] = _median_range([f["eval"][match].get("score") for f in per_seed.values()
                                                  if match in f.get("eval", {})])
    heur = [f["heuristic_elo"] for f in per_seed.values() if f.get("heuristic_elo") is not None]
    plot = runs_plot(tables, f"{part.key}: {len(seeds)} loop runs, rating against CPU hours",
                     args.out / "runs.svg", {"heuristic (median)": statistics.median(heur)} if heur else None)
    print(json.dumps({"bench": "loop_runs", "kind": "summary", "partition": part.key, "seeds": seeds,
                      "loop_flags": extra, "plot": str(plot), **summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
