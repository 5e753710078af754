"""Sample building throughput: a loop generation's games turned into training samples.

Every loop generation turns its new games (selfplay, kept gate and ladder games) into a
sample set (``lake.samples.build_samples``: replay, the search policy's entries matched
to legal moves, encoding, the symmetry tables).  On the big boards a network's Gumbel
search records an improved policy over every legal move (hundreds an entry), so this
step can cost more than the games themselves.  Prints one JSON line per partition:
games, samples, CPU seconds, samples and games per CPU second.

    python benchmarks/samples_bench.py --storage S --partitions 'square19|2,hexagonal|3' --games 10

The games are the newest ``--games`` merged games of each partition (the same on a
rerun of an unchanged lake), so two code versions compare on identical input:
``PYTHONPATH=<other checkout> python benchmarks/samples_bench.py ...``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", type=Path, required=True, help="lake root holding the games")
    ap.add_argument("--partitions", required=True, help="comma-separated board|players, e.g. 'square19|2,hex8|3'")
    ap.add_argument("--games", type=int, default=10, help="newest merged games per partition")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the build itself uses none)")
    args = ap.parse_args(argv)
    if args.games < 1:
        ap.error("--games: must be at least 1")
    from ringrift_ml.partition import Partition

    try:  # every key checked before any work
        parts = [Partition.parse(p.strip()) for p in args.partitions.split(",") if p.strip()]
    except ValueError as e:
        ap.error(f"--partitions: {e}")
    if not parts:
        ap.error("--partitions: no partition given")
    if not args.storage.is_dir():
        ap.error(f"--storage: {args.storage} is not a folder")

    import torch

    from ringrift_ml.lake.lineage import read_games
    from ringrift_ml.lake.samples import build_samples
    from ringrift_ml.lake.store import LakeStore

    torch.set_num_threads(args.threads)
    store = LakeStore(args.storage)
    for part in parts:
        key = part.key
        # the newest games' ids first, then those games whole (a big partition's moves and
        # targets do not fit one Arrow read)
        with store.connect(read_only=True) as con:
            snap = int(con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])
            keys = con.execute(
                f"SELECT game_id, entry_id, 0 FROM lake.games_merged AT (VERSION => {snap}) WHERE board = ? "
                "AND players = ? ORDER BY CAST(created_at AS VARCHAR) DESC, game_id DESC LIMIT ?",
                [part.board, part.players, args.games]).fetchall()[::-1]
        rows = [r for t in read_games(store, "games_merged", part.board, part.players, snap, keys)
                for r in t.to_pylist()]
        if not rows:
            print(json.dumps({"bench": "samples", "partition": key, "error": "no merged games"}), flush=True)
            continue
        c0, t0 = time.process_time(), time.perf_counter()
        table, stats = build_samples(rows)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        print(json.dumps({"bench": "samples", "partition": key, "games": len(rows), "samples": table.num_rows,
                          "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
                          "samples_per_cpu_second": round(table.num_rows / cpu, 1),
                          "games_per_cpu_second": round(len(rows) / cpu, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
