"""How well can anything predict a selfplay game's result from a position?  The value target's noise floor.

    python benchmarks/value_floor.py --player mcts:64 --games 1000 --positions 256 --continuations 8 \\
        --workers 2 --out storage/bench/learn

The value head learns the result ``z`` of the game a position came from, but the moves
after it are drawn (opening temperature, root noise, the searches' seeds), so ``z`` is a
noisy function of the position: no predictor of it from the position, however good, has
a mean squared error below ``E[Var(z | position)]`` (the Bayes error).  This measures
that floor for the games of one selfplay configuration.

It takes ``--games`` selfplay games of ``--player`` in every seat (the same games file
as ``learnability.py`` with the same ``--out``, ``--games`` and ``--seed``: played once,
then read), draws ``--positions`` of their training positions uniformly (the
distribution the held-out value MSE averages over), and from each plays
``--continuations`` more games with the same players and settings (the temperature
schedule by decision number, root noise, playout caps), each with its own seed.  Per
position the continuations' outcomes for the player to move give an unbiased estimate of
``Var(z | position)``; their mean is the floor.  Prints JSON lines:

* ``position`` (``--verbose``): each position's ply, game length and outcomes;
* ``floor``: overall and by quarter of the game (the position's ply over its game's
  length): the floor with its 95% interval (over positions), the MSE of predicting 0
  on the recorded outcomes (the trivial baseline), the recorded search value's MSE
  (what the player that made the games knew), and the MSE against the recorded outcome
  of the continuations' mean (an estimator of the Bayes predictor from
  ``--continuations`` samples: about the floor times ``1 + 1/K``).

With ``--storage ROOT --label LABEL`` the games are instead the lake's games of one selfplay
run, e.g. a loop generation (``--label 'loop:square8|2:g5'``), and the continuations use
the configuration those games record (``generatorConfig``: players with their model files,
temperature schedule, noise, playout caps); the model files must still exist.

A held-out value MSE is comparable with the floor when it is measured on the games of the
same configuration (``learnability.py``'s held-out games are; a loop generation's
held-out value MSE is measured on its window's held-out games, of that generation and
the ones before it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

QUARTERS = ("q1", "q2", "q3", "q4")
CONTINUATION_SEED = 7_000_000
"""Continuation seeds start here, far from the seeds of the games they continue."""


def floor_stats(outcomes: np.ndarray) -> dict:
    """The noise floor of ``outcomes`` (positions x continuations): the mean over
    positions of each row's unbiased variance, its standard error and 95% interval."""
    z = np.asarray(outcomes, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2 or z.shape[0] < 1:
        raise ValueError(f"outcomes: positions x continuations with at least 2 continuations needed, got {z.shape}")
    var = z.var(axis=1, ddof=1)
    mean = float(var.mean())
    se = float(var.std(ddof=1) / np.sqrt(len(var))) if len(var) > 1 else float("nan")
    return {"positions": int(len(var)), "floor": mean, "floor_se": se,
            "floor_ci": [mean - 1.96 * se, mean + 1.96 * se]}


def record_rows(rec: dict) -> list:
    """The move rows of a game record, in order (what ``GameJob.prefix`` takes)."""
    from ringrift_ml.rules.records import start_state
    from ringrift_ml.rules.replay import Replayer

    r = Replayer(start_state(rec))
    rows = []
    for md in rec["moves"]:
        i = r.match(md)
        rows.append(r.rows()[i].copy())
        r.apply_index(i)
    return rows


def training_positions(rec: dict) -> list:
    """``(ply, mover, search value of the mover or None, the mover's result)`` of each
    training position of a finished record, as ``game_samples`` makes them."""
    from ringrift_ml.nn.samples import game_samples

    return [(r["ply"], r["player"], float(r["search_value"][0]) if len(r["search_value"]) else None,
             float(r["value"][0])) for r in game_samples(rec, symmetries=False)]


def config_of(records: list):
    """The ``SelfplayConfig`` that played ``records`` (one ``generatorConfig`` shared by
    all; ``ValueError`` naming what differs or is missing)."""
    from ringrift_ml.selfplay import SelfplayConfig, TemperatureSchedule, generator_config

    confs = {json.dumps(r.get("generatorConfig"), sort_keys=True) for r in records}
    if len(confs) != 1:
        raise ValueError(f"games: {len(confs)} different generator configs; pick one selfplay run (--label)")
    gc = records[0].get("generatorConfig")
    if not gc or "players" not in gc:
        raise ValueError("games: no generatorConfig with players recorded; they were not played by selfplay")
    rec = records[0]
    cfg = SelfplayConfig(board=rec["boardType"], players=tuple(gc["players"]), max_moves=gc["max_moves"],
                         temperature=TemperatureSchedule(**gc["temperature"]), dirichlet_alpha=gc["dirichlet_alpha"],
                         full_search_prob=gc["full_search_prob"], fast_fraction=gc["fast_fraction"],
                         label=gc.get("label", ""))
    again = generator_config(cfg)
    for key in ("models", "weights_version", "generator_version"):
        if again.get(key) != gc.get(key):
            raise ValueError(f"games: generatorConfig.{key} is {gc.get(key)!r}, this machine gives {again.get(key)!r} "
                             "(other model files, heuristic weights or selfplay code): the continuations would not "
                             "be the same players")
    return cfg


def lake_records(root: Path, label: str) -> list:
    """Finished games of one selfplay run (generator-config label) in the lake at ``root``."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.records import row_to_record

    store = LakeStore.open(root)
    rows = store.query("SELECT * FROM lake.games WHERE json_extract_string(generator_config, '$.label') = ? "
                       "AND ranks IS NOT NULL ORDER BY game_id", [label]).to_pylist()
    if not rows:
        raise ValueError(f"--label: no finished games labelled {label!r} in the lake at {root}")
    return [row_to_record(r) for r in rows]


def outcome(ranks: dict, player: int, n: int) -> float:
    """The value target of ``player`` for final ``ranks`` (as the samples compute it)."""
    from ringrift_ml.nn.samples import rank_utility

    return float(rank_utility(int({int(k): v for k, v in ranks.items()}[player]), n))


_CFG = None
_SEATS = None


def _init(cfg) -> None:
    global _CFG, _SEATS
    import torch

    from ringrift_ml.selfplay import make_seats

    torch.set_num_threads(1)
    _CFG, _SEATS = cfg, make_seats(cfg)  # players (and their networks) once per process


def _continue(task: tuple) -> list:
    """Outcomes (for the mover) of the continuations of one position: ``task`` is
    ``(prefix rows, mover, first seed, count)``."""
    from ringrift_ml.ai.games import play_games
    from ringrift_ml.selfplay import game_job

    prefix, mover, seed, count = task
    jobs = []
    for k in range(count):
        job = game_job(_CFG, 0, _SEATS, prefix=prefix)
        job.seed, job.tag = seed + k, k
        jobs.append(job)
    played = play_games(jobs, concurrency=_CFG.batch_games)
    n = len(_CFG.players)
    out = []
    for pg in played:
        if not pg.game.is_over:
            raise RuntimeError(f"a continuation reached the move cap ({_CFG.max_moves}) unfinished")
        out.append(outcome(pg.ranks, mover, n))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="player count")
    ap.add_argument("--player", default="mcts:64", help="the player spec of every seat")
    ap.add_argument("--games", type=int, default=1000, help="selfplay games to draw positions from")
    ap.add_argument("--positions", type=int, default=256, help="positions drawn from their training positions")
    ap.add_argument("--continuations", type=int, default=8, help="games played on from each position (>= 2)")
    ap.add_argument("--workers", type=int, default=2, help="processes playing continuations")
    ap.add_argument("--seed", type=int, default=0, help="selfplay seed of the games (as learnability.py)")
    ap.add_argument("--draw-seed", type=int, default=0, help="seed of the draw of positions")
    ap.add_argument("--out", type=Path, default=Path("storage/bench/learn"),
                    help="directory of the games file (shared with learnability.py)")
    ap.add_argument("--storage", type=Path, help="a lake root to take the games from (with --label)")
    ap.add_argument("--label", help="the selfplay run's label in the lake, e.g. 'loop:square8|2:g5'")
    ap.add_argument("--verbose", action="store_true", help="print every position's outcomes")
    ap.add_argument("--dirichlet-alpha", type=float, default=None,
                    help="root noise of the selfplay's PUCT searches (default: selfplay's own; 0 disables)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    from ringrift_ml.selfplay import SelfplayConfig

    try:
        if (args.storage is None) != (args.label is None):
            raise ValueError("--storage and --label go together")
        if args.positions < 1 or args.continuations < 2 or args.workers < 1:
            raise ValueError("--positions >= 1, --continuations >= 2 and --workers >= 1 required, got "
                             f"{args.positions}, {args.continuations}, {args.workers}")
        sp = SelfplayConfig(board=args.board, players=(args.player,) * args.players, games=args.games, seed=args.seed,
                            workers=args.workers, batch_games=8,
                            **({} if args.dirichlet_alpha is None else {"dirichlet_alpha": args.dirichlet_alpha}))
    except ValueError as e:
        print(f"value_floor: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    if args.label is not None:
        try:
            records = lake_records(args.storage, args.label)
            sp = dataclasses.replace(config_of(records), workers=args.workers)
        except ValueError as e:
            print(f"value_floor: {e}", file=sys.stderr)
            return 2
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from learnability import cached_games

        records, _ = cached_games(sp, args.out, progress=not args.no_progress)
    n = len(sp.players)
    pool = [(gi, *pos) for gi, rec in enumerate(records) for pos in training_positions(rec)]
    if len(pool) < args.positions:
        print(f"value_floor: --positions {args.positions} asked, the games hold {len(pool)}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.draw_seed)
    picked = [pool[i] for i in np.sort(rng.choice(len(pool), size=args.positions, replace=False))]
    rows_of = {}
    tasks = []
    for j, (gi, ply, mover, _, _) in enumerate(picked):
        if gi not in rows_of:
            rows_of[gi] = record_rows(records[gi])
        tasks.append((rows_of[gi][:ply], mover, CONTINUATION_SEED + j * args.continuations, args.continuations))
    t1 = time.time()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.workers, initializer=_init, initargs=(sp,)) as workers:
        results = []
        for k, res in enumerate(workers.imap(_continue, tasks)):
            results.append(res)
            if not args.no_progress and (k + 1) % max(1, len(tasks) // 20) == 0:
                print(f"value_floor: {k + 1}/{len(tasks)} positions, {time.time() - t1:.0f} s", file=sys.stderr,
                      flush=True)
        # Let the workers leave on their own (as selfplay's pool does): the with-block's
        # terminate() relies on SIGTERM, which a process started with it ignored (nohup,
        # some job runners) passes on to its workers, and join() then waits forever.
        workers.close()
        workers.join()
    z = np.asarray(results, dtype=np.float64)
    recorded = np.array([z_rec for *_, z_rec in picked])
    search = np.array([np.nan if sv is None else sv for _, _, _, sv, _ in picked])
    frac = np.array([ply / len(records[gi]["moves"]) for gi, ply, *_ in picked])
    quarter = np.minimum((frac * 4).astype(int), 3)
    if args.verbose:
        for (gi, ply, mover, _, _), zs, rz in zip(picked, results, recorded):
            print(json.dumps({"bench": "value_floor", "kind": "position", "game": records[gi]["gameId"], "ply": ply,
                              "length": len(records[gi]["moves"]), "mover": mover, "recorded": rz, "outcomes": zs}))

    def line(name: str, mask: np.ndarray) -> dict:
        if mask.sum() < 2:
            return {"bench": "value_floor", "kind": "floor", "part": name, "positions": int(mask.sum())}
        st = floor_stats(z[mask])
        has = mask & ~np.isnan(search)
        return {"bench": "value_floor", "kind": "floor", "part": name, "player": sp.players[0], "board": sp.board,
                "num_players": n, "continuations": args.continuations,
                **{k: (round(v, 4) if isinstance(v, float) else [round(x, 4) for x in v] if isinstance(v, list) else v)
                   for k, v in st.items()},
                "zero_mse": round(float(np.mean(recorded[mask] ** 2)), 4),
                "search_value_mse": round(float(np.mean((search[has] - recorded[has]) ** 2)), 4) if has.any() else None,
                "continuation_mean_mse": round(float(np.mean((z[mask].mean(axis=1) - recorded[mask]) ** 2)), 4)}

    print(json.dumps({**line("all", np.ones(len(z), bool)), "games": len(records), "pool": len(pool),
                      "seconds": round(time.time() - t0, 1)}), flush=True)
    for q, name in enumerate(QUARTERS):
        print(json.dumps(line(name, quarter == q)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
