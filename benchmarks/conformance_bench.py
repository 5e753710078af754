"""Bulk replay of RingRift's reference games (full legal-move comparison at every step).

Prints JSON lines: load time, then replay time, games/s and steps/s for 1 and N
processes.  The data is ``$RINGRIFT_SHARED/conformance`` (default ``../shared``).

    python benchmarks/conformance_bench.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from ringrift_ml.rules.records import load_json, replay_files, replay_record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("RINGRIFT_SHARED", str(Path.cwd().parent / "shared")))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    files = sorted((Path(args.shared) / "conformance" / "reference-games").glob("*.json.gz"))
    if not files:
        raise SystemExit(f"no reference games under {args.shared}/conformance")
    t0 = time.perf_counter()
    records = [(str(f), load_json(f)) for f in files]
    load_s = time.perf_counter() - t0
    steps = sum(len(r["steps"]) for _, r in records)
    print(json.dumps({"bench": "conformance_load", "games": len(files), "steps": steps, "seconds": round(load_s, 3)}))
    replay_record(records[0][1])  # warm
    t0 = time.perf_counter()
    ok = sum(replay_record(r, f).ok for f, r in records)
    dt = time.perf_counter() - t0
    print(json.dumps({"bench": "conformance_replay", "workers": 1, "what": "replay only (loaded)", "games": len(files),
                      "passed": ok, "seconds": round(dt, 3), "games_per_s": round(len(files) / dt, 1),
                      "steps_per_s": round(steps / dt, 1)}))
    for workers in sorted({1, args.workers}):
        t0 = time.perf_counter()
        ok = sum(v.ok for vs in replay_files(files, workers=workers) for v in vs)
        dt = time.perf_counter() - t0
        print(json.dumps({"bench": "conformance_replay", "workers": workers, "what": "load + replay", "games": len(files),
                          "passed": ok, "seconds": round(dt, 3), "games_per_s": round(len(files) / dt, 1),
                          "steps_per_s": round(steps / dt, 1)}))


if __name__ == "__main__":
    main()
