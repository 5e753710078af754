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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ringrift-pipeline", description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default=None, help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    ap.add_argument("--partitions", default=DEFAULT_PARTITIONS, help="comma-separated board|players keys")
    ap.add_argument("--all", action="store_true", help="all 12 partitions (a backfill)")
    ap.add_argument("--games", type=int, default=None, help="selfplay games of the generation (default 8)")
    ap.add_argument("--player", default=None, help="the bootstrap player before a first promotion: selfplay in "
                    "every seat and the gate's opponent (default heuristic; e.g. mcts:64)")
    args = ap.parse_args(argv)


    from ringrift_ml.boards import quick_config

    from .definitions import build_definitions
    from .resources import LakeResource

    parts = _parse_partitions(args.partitions, args.all)
    lake_root = LakeResource(root=args.storage)
    root = lake_root.path()
    instance, home = instance_for(root)
    from ringrift_ml.lake import landing

    results, look = landing.ingest_all(lake_root.store(), run_id="ringrift-pipeline", settle=0.0)
    for r in results:
        print(f"  landing: {r.line()}", flush=True)
    for name, reason in look.rejected:
        print(f"  landing: QUARANTINED {name}: {reason}", flush=True)
    # The shell's quick generation, sized per partition by what its games cost
    # (ringrift_ml.boards.quick_config: small boards 8 heuristic selfplay games, a short
    # gate at 16 simulations, 4-game ladder rungs, 2 CMA-ES generations of 4 x 2 games;
    # big boards the same steps with a fraction of the games).  The UI's defaults are the
    # loop's real ones: 100 games, 40-200 gate games and 40-game rungs at 64 simulations.
    def run_config(key) -> dict:
        quick = quick_config(key.board, key.players)
        loop = dict(quick["loop"])
        if "train" in loop:
            loop["train"] = json.dumps(loop["train"])
        if args.games is not None:
            loop["games"] = args.games
        if args.player is not None:
            loop["bootstrap"] = args.player
        weights = {**quick["tune"], **{f"confirm_{k}": v for k, v in quick["confirm"].items()}}
        # INFO: the run log shows progress and results; DEBUG step events would drown them.
        return {"resources": {"loop": {"config": loop}},
                "ops": {"heuristic_weights": {"config": weights}, "elo_ratings": {"config": quick["elo"]}},
                "loggers": {"console": {"config": {"log_level": "INFO"}}}}

    job = build_definitions(root=str(root), catalog=lake_root.catalog).resolve_job_def("pipeline")
    t0 = time.time()
    for i, key in enumerate(parts, 1):
        t = time.time()
        print(f"[{i}/{len(parts)}] {key} ...", flush=True)
        with partition_lock(root, key):
            # The "pipeline" job itself, so the run carries its name in the UI.
            result = job.execute_in_process(partition_key=key.key, instance=instance, run_config=run_config(key),
                                            raise_on_error=False, tags={"ringrift/cli": "1"})
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            print(f"  FAILED in {failed}; see the run log: run id {result.run_id}", file=sys.stderr)
            return 1
        print(f"  done in {time.time() - t:.1f} s", flush=True)
    print(f"\n{len(parts)} partition(s) in {time.time() - t0:.1f} s")
    print(f"lake:     {lake_root.store().data_path.parent} (catalog {lake_root.store().describe()})")
    print(f"query:    ringrift lake sql --storage {root} \"SELECT board, players, count(*) FROM lake.games_merged "
          f"GROUP BY ALL\"")
    print(f"UI:       DAGSTER_HOME={home} dagster dev   (then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
