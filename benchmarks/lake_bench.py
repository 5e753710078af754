"""Lake throughput: landing-file ingestion and the games_merged dedupe, JSON lines.

* ``ingest``: a JSON Lines file of N square8 2p game records is landed and ingested
  (validation by replay, games and moves written in one transaction) in a fresh
  process; records/s and the process's peak RSS, for each N.  The records are seeded
  random games (a pool of distinct games, each written under several ids).
* ``merge``: N synthetic games (10% repeated move sequences) appended to ``lake.games``,
  then ``games_merged`` rebuilt; seconds for the append and for the merge.

    python benchmarks/lake_bench.py                           # 1k, 10k, 50k ingest; 100k, 1M merge
    python benchmarks/lake_bench.py --ingest 1000 --merge 100000 --catalog postgres:dbname=...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

POOL = 500


def make_file(path: Path, n: int) -> int:
    """Write ``n`` records (a pool of distinct games under distinct ids); returns bytes."""
    from ringrift_ml.rules import new_game
    from ringrift_ml.rules.fast import FastGame, playout
    from ringrift_ml.rules.records import make_record

    start = new_game("square8", 2)
    pool = []
    for i in range(min(POOL, n)):
        final, _, _, rows = playout(start, 1 + i, record_moves=True)
        g = FastGame(start)
        moves = []
        for r in rows:
            moves.append(g.move(r))
            g.apply(r)
        pool.append(make_record(moves, final, game_id="x", board_type="square8", num_players=2, seed=1 + i))
    with open(path, "w") as fh:
        for k in range(n):
            rec = pool[k % len(pool)]
            rec["gameId"] = f"bench-{k}"
            fh.write(json.dumps(rec) + "\n")
    return path.stat().st_size


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from ringrift_ml.lake import LakeStore
from ringrift_ml.lake import landing
root, catalog, schema = Path(sys.argv[1]), sys.argv[2], sys.argv[3] or None
store = LakeStore.open(root, catalog, schema)
look = landing.scan(store)
look = landing.scan(store, look.looks)
staged = landing.stage(store, look.stable[0])
t0 = time.perf_counter()
res = landing.ingest(store, staged.path)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"status": res.status, "games": res.games, "seconds": dt, "peak_rss": rss, "reason": res.reason}))
"""


def bench_ingest(n: int, catalog: str, schema: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "root"
        (root / "landing").mkdir(parents=True)
        size = make_file(root / "landing" / "bench.jsonl", n)
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD), str(root), catalog, schema or ""],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"bench": "lake_ingest", "records": n, "file_mb": round(size / 2**20, 1), "status": r["status"],
            "seconds": round(r["seconds"], 2), "records_per_s": round(n / r["seconds"], 1),
            "peak_rss_mb": round(r["peak_rss"] / 2**20, 1), "catalog": catalog.split(":")[0]}


def bench_merge(n: int, catalog: str, schema: str) -> dict:
    import datetime as dt

    import numpy as np
    import pyarrow as pa

    from ringrift_ml.lake import GAMES_SCHEMA, LakeStore
    from ringrift_ml.lake.io import append
    from ringrift_ml.lake.merge import merge_partition

    with tempfile.TemporaryDirectory() as d:
        store = LakeStore.open(Path(d) / "root", catalog, schema or None)
        rng = np.random.default_rng(0)
        distinct = int(n * 0.9)
        hashes = np.concatenate([np.arange(distinct), rng.integers(0, distinct, n - distinct)])
        now = dt.datetime.now(dt.timezone.utc)
        cols = {f.name: pa.nulls(n, f.type) for f in GAMES_SCHEMA}
        cols.update({
            "entry_id": pa.array([f"bench:{i}" for i in range(n)]),
            "game_id": pa.array([f"g{i}" for i in range(n)]),
            "board": pa.array(["square8"] * n), "players": pa.array([2] * n, pa.int32()),
            "move_hash": pa.array([f"{h:064x}" for h in hashes]),
            "moves_json": pa.array(["[]"] * n), "rules_options": pa.array(["{}"] * n),
            "length": pa.array([1] * n, pa.int32()), "source": pa.array(["selfplay"] * n),
            "created_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        })
        table = pa.table(cols, schema=GAMES_SCHEMA)
        t0 = time.perf_counter()
        store.write(lambda con: append(con, "games", table), f"{n} synthetic games")
        t_append = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = merge_partition(store, "square8", 2)
        t_merge = time.perf_counter() - t0
    return {"bench": "lake_merge", "games": n, "distinct": distinct, "rows_out": stats["rows_out"],
            "append_seconds": round(t_append, 2), "merge_seconds": round(t_merge, 2),
            "catalog": catalog.split(":")[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", nargs="*", type=int, default=[1000, 10_000, 50_000])
    ap.add_argument("--merge", nargs="*", type=int, default=[100_000, 1_000_000])
    ap.add_argument("--catalog", default=os.environ.get("RINGRIFT_LAKE_CATALOG", "sqlite"))
    ap.add_argument("--schema", default=None, help="PostgreSQL schema for the catalog tables")
    args = ap.parse_args()
    for n in args.ingest:
        print(json.dumps(bench_ingest(n, args.catalog, args.schema)), flush=True)
    for n in args.merge:
        print(json.dumps(bench_merge(n, args.catalog, args.schema)), flush=True)


if __name__ == "__main__":
    main()
