"""``ringrift-pipeline``: materialize the asset graph in-process from a shell.

This is the embedded default - the DuckLake lake under the storage root (SQLite
catalog, Parquet data) and Dagster's in-process executor - and records every run in a
Dagster instance under ``<storage>/dagster_home``, so
``DAGSTER_HOME=<storage>/dagster_home dagster dev`` afterwards shows the same
materializations in the UI.  The landing zone is processed first
(``ringrift lake ingest`` does the same alone).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DEFAULT_PARTITIONS = "square8|2,hex8|3"


def _parse_partitions(text: str, all_: bool) -> list:
    """The partitions to run (``Partition`` values, in the order given)."""
    from ringrift_ml.lake.layout import Partition

    if all_:
        return list(Partition.all())
    out = []
    for key in (k.strip() for k in text.split(",") if k.strip()):
        try:
            out.append(Partition.parse(key))
        except ValueError as e:
            raise SystemExit(f"--partitions: {e}") from None
    if not out:
        raise SystemExit("--partitions: no partition given")
    return out


def instance_for(root: Path):
    """The Dagster instance of a storage root (``$DAGSTER_HOME`` wins when set).

    The first use copies the project's ``dagster.yaml`` (run queue and per-partition
    concurrency limits) into the home, and the instance is created under a file lock:
    two first runs on a fresh root would otherwise race on creating its SQLite schema."""
    import fcntl
    import shutil
    from importlib import resources

    import dagster as dg

    from ringrift_ml.lake.layout import Layout

    home = Path(os.environ.get("DAGSTER_HOME") or Layout(root).dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".init.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if not (home / "dagster.yaml").exists():
                shutil.copyfile(str(resources.files("ringrift_assets") / "dagster.yaml"), home / "dagster.yaml")
            instance = dg.DagsterInstance.from_config(str(home))
            instance.get_runs(limit=1)  # touch every storage now, while the lock is held
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return instance, home


def partition_lock(root: Path, part):
    """The lock a run of one partition holds from its first step to its last, so two
    in-process runs of the same partition never interleave (the run queue does the
    same for runs the daemon launches)."""
    from ringrift_ml.lake import LakeStore

    return LakeStore(root).lock("partition-" + part.stem)


def quick_run_config(key, games=None, player=None) -> dict:
    """The quick generation's run config of a partition, sized by what its games cost
    (``ringrift_ml.boards.quick_config``: small boards 8 heuristic selfplay games, a
    short gate at 16 simulations, 4-game ladder rungs, 2 CMA-ES generations of 4 x 2
    games; big boards the same steps with a fraction of the games).  The UI's defaults
    are the loop's real ones: 100 games, 40-200 gate games and 40-game rungs at 64
    simulations.  ``games`` and ``player`` override the selfplay games and the bootstrap
    player."""
    from ringrift_ml.boards import quick_config

    quick = quick_config(key.board, key.players)
    loop = dict(quick["loop"])
    if "train" in loop:
        loop["train"] = json.dumps(loop["train"])
    if games is not None:
        loop["games"] = games
    if player is not None:
        loop["bootstrap"] = player
    weights = {**quick["tune"], **{f"confirm_{k}": v for k, v in quick["confirm"].items()}}
    # INFO: the run log shows progress and results; DEBUG step events would drown them.
    return {"resources": {"loop": {"config": loop}},
            "ops": {"heuristic_weights": {"config": weights}, "elo_ratings": {"config": quick["elo"]}},
            "loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run_partition(root: str, catalog, key, run_config: dict) -> tuple:
    """One partition's quick generation, in-process, under its partition lock: ``(key,
    failed steps (empty: success), run id, seconds)``.  Also the worker of ``--parallel``."""
    from .definitions import build_definitions

    t = time.time()
    instance, _ = instance_for(Path(root))
    job = build_definitions(root=root, catalog=catalog).resolve_job_def("pipeline")
    with partition_lock(Path(root), key):
        # The "pipeline" job itself, so the run carries its name in the UI.
        result = job.execute_in_process(partition_key=key.key, instance=instance, run_config=run_config,
                                        raise_on_error=False, tags={"ringrift/cli": "1"})
    failed = [] if result.success else [e.step_key for e in result.all_events if e.is_step_failure] or ["run"]
    return key, failed, result.run_id, time.time() - t


def _run_partition(job: tuple) -> tuple:
    return run_partition(*job)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ringrift-pipeline", description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default=None, help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    ap.add_argument("--partitions", default=DEFAULT_PARTITIONS, help="comma-separated board|players keys")
    ap.add_argument("--all", action="store_true", help="all 12 partitions (a backfill)")
    ap.add_argument("--games", type=int, default=None, help="selfplay games of the generation "
                    "(default: by the partition's game cost, ringrift_ml.boards)")
    ap.add_argument("--parallel", type=int, default=min(2, os.cpu_count() or 1),
                    help="partitions run side by side, each in its own process (default: 2, or 1 on one core)")
    ap.add_argument("--player", default=None, help="the bootstrap player before a first promotion: selfplay in "
                    "every seat and the gate's opponent (default heuristic; e.g. mcts:64)")
    args = ap.parse_args(argv)
    if args.parallel < 1:
        ap.error("--parallel: must be at least 1")
    from .resources import LakeResource

    parts = _parse_partitions(args.partitions, args.all)
    lake_root = LakeResource(root=args.storage)
    root = lake_root.path()
    _, home = instance_for(root)  # created here, before any worker process opens it
    from ringrift_ml.lake import landing

    results, look = landing.ingest_all(lake_root.store(), run_id="ringrift-pipeline", settle=0.0)
    for r in results:
        print(f"  landing: {r.line()}", flush=True)
    for name, reason in look.rejected:
        print(f"  landing: QUARANTINED {name}: {reason}", flush=True)
    jobs = [(str(root), lake_root.catalog, key, quick_run_config(key, args.games, args.player)) for key in parts]
    parallel = max(1, min(args.parallel, len(parts)))
    t0 = time.time()
    bad = 0

    def report(i, out) -> None:
        nonlocal bad
        key, failed, run_id, secs = out
        if failed:
            bad += 1
            print(f"[{i}/{len(parts)}] {key}: FAILED in {failed}; see the run log: run id {run_id}", file=sys.stderr)
        else:
            print(f"[{i}/{len(parts)}] {key}: done in {secs:.1f} s", flush=True)

    if parallel == 1:
        for i, job in enumerate(jobs, 1):
            print(f"[{i}/{len(parts)}] {job[2]} ...", flush=True)
            report(i, run_partition(*job))
            if bad:
                return 1
    else:
        import multiprocessing as mp

        from ringrift_ml.boards import game_cost

        # The costliest partitions first, so the last ones to finish are short.
        jobs.sort(key=lambda j: -game_cost(j[2].board, j[2].players))
        print(f"{len(parts)} partition(s), {parallel} at a time", flush=True)
        with mp.get_context("spawn").Pool(parallel) as pool:
            for i, out in enumerate(pool.imap_unordered(_run_partition, jobs), 1):
                report(i, out)
            pool.close()
            pool.join()
        if bad:
            return 1
    print(f"\n{len(parts)} partition(s) in {time.time() - t0:.1f} s")
    print(f"lake:     {lake_root.store().data_path.parent} (catalog {lake_root.store().describe()})")
    print(f"query:    ringrift lake sql --storage {root} \"SELECT board, players, count(*) FROM lake.games_merged "
          f"GROUP BY ALL\"")
    print(f"UI:       DAGSTER_HOME={home} dagster dev   (then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
