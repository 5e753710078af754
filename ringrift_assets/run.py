"""``ringrift-pipeline``: materialize the asset graph in-process from a shell.

This is the embedded default — local Parquet + DuckDB under the storage root and
Dagster's in-process executor — and records every run in a Dagster instance under
``<storage>/dagster_home``, so ``DAGSTER_HOME=<storage>/dagster_home dagster dev``
afterwards shows the same materializations in the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_PARTITIONS = "square8|2,hex8|3"


def _parse_partitions(text: str, all_: bool) -> list:
    from .partitions import BOARDS, PLAYER_COUNTS

    if all_:
        return [f"{b}|{n}" for b in BOARDS for n in PLAYER_COUNTS]
    out = []
    for key in (k.strip() for k in text.split(",") if k.strip()):
        board, _, n = key.partition("|")
        if board not in BOARDS or n not in PLAYER_COUNTS:
            raise SystemExit(f"--partitions: {key!r} is not board|players with board in {', '.join(BOARDS)} "
                             f"and players in {', '.join(PLAYER_COUNTS)}")
        out.append(key)
    if not out:
        raise SystemExit("--partitions: no partition given")
    return out


def instance_for(root: Path):
    """The Dagster instance of a storage root (``$DAGSTER_HOME`` wins when set)."""
    import dagster as dg

    home = Path(os.environ.get("DAGSTER_HOME") or (root / "dagster_home")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home)), home


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ringrift-pipeline", description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default=None, help="storage root (default: $RINGRIFT_STORAGE or ./storage)")
    ap.add_argument("--partitions", default=DEFAULT_PARTITIONS, help="comma-separated board|players keys")
    ap.add_argument("--all", action="store_true", help="all 12 partitions (a backfill)")
    ap.add_argument("--games", type=int, default=None, help="selfplay games per partition")
    ap.add_argument("--player", default=None, help="selfplay player spec for every seat, e.g. mcts:64")
    args = ap.parse_args(argv)

    import dagster as dg

    from .definitions import ASSETS, CHECKS
    from .resources import LakeResource

    parts = _parse_partitions(args.partitions, args.all)
    lake_root = LakeResource(root=args.storage)
    root = lake_root.path()
    instance, home = instance_for(root)
    sp = {}
    if args.games is not None:
        sp["games"] = args.games
    if args.player is not None:
        sp["default_player"] = args.player
    # INFO: the run log shows progress and results; DEBUG step events would drown them.
    run_config = {"ops": {"selfplay_games": {"config": sp}},
                  "loggers": {"console": {"config": {"log_level": "INFO"}}}}
    t0 = time.time()
    for i, key in enumerate(parts, 1):
        t = time.time()
        print(f"[{i}/{len(parts)}] {key} ...", flush=True)
        result = dg.materialize([*ASSETS, *CHECKS], partition_key=key, instance=instance, resources={"lake_root": lake_root},
                                run_config=run_config, raise_on_error=False, tags={"ringrift/cli": "1"})
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            print(f"  FAILED in {failed}; see the run log: run id {result.run_id}", file=sys.stderr)
            return 1
        print(f"  done in {time.time() - t:.1f} s", flush=True)
    print(f"\n{len(parts)} partition(s) in {time.time() - t0:.1f} s")
    print(f"lake:     {root / 'lake'}")
    print(f"catalog:  {root / 'ringrift.duckdb'}")
    print(f"          python -c \"import duckdb; print(duckdb.connect('{root / 'ringrift.duckdb'}')"
          f".sql('from games limit 5'))\"")
    print(f"UI:       DAGSTER_HOME={home} dagster dev   (then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
