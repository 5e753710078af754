"""Memory and time of loading a partition's replay window from the lake.

A loop generation's candidate trains on the replay window its sample set ends
(``train.dataset.from_lake``).  On the big boards a window holds hundreds of legal
moves per position and their images under every symmetry, so loading it is bounded
by memory before time.  Prints one JSON line: positions, sample sets, seconds, the
process's peak and final resident memory (GB), and the bytes of each array.

    python benchmarks/window_memory.py --storage S --partition 'hexagonal|2' --window 4 [--upto SAMPLE_SET]

``--upto``: the window that ends at this sample set (default: the partition's newest).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", type=Path, required=True, help="lake root")
    ap.add_argument("--partition", required=True, help="board|players, e.g. 'hexagonal|2'")
    ap.add_argument("--window", type=int, default=4, help="newest sample sets in the window (0: all)")
    ap.add_argument("--upto", default=None, help="the sample set the window ends at (default: the newest)")
    args = ap.parse_args(argv)
    if not args.storage.is_dir():
        ap.error(f"--storage: {args.storage} is not a folder")
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.partition import Partition
    from ringrift_ml.train.dataset import from_lake

    try:
        part = Partition.parse(args.partition)
    except ValueError as e:
        ap.error(f"--partition: {e}")
    peak = [_rss()]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()
    t0 = time.perf_counter()
    data = from_lake(LakeStore.open(args.storage), part.board, part.players, window=args.window, upto=args.upto)
    seconds = time.perf_counter() - t0
    stop.set()
    arrays = {k: getattr(data, k) for k in ("planes", "legal", "policy", "sym_legal", "ownership", "globals")}
    print(json.dumps({"bench": "window_memory", "partition": args.partition, "positions": len(data),
                      "sample_sets": len(data.source["sample_sets"]), "seconds": round(seconds, 1),
                      "peak_gb": round(max(peak[0], _rss()) / 2**30, 2), "final_gb": round(_rss() / 2**30, 2),
                      "array_gb": {k: round(a.nbytes / 2**30, 3) for k, a in arrays.items() if a is not None}}),
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
