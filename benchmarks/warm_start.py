"""Warm start or not: candidates trained on one loop generation's replay window, each
played against the generation's parent at equal simulations.

    python benchmarks/warm_start.py --storage /tmp/loop_sq8 --partition 'square8|2' --generation 5 \
        --variants default,lowlr,scratch --games 100

For generation N of the registry (its replay window and its parent, the best it was
gated against), trains one candidate per variant and plays it against the parent
(seats alternating, 2 random opening decisions, 95% Wilson interval).  Variants:
``default`` (the loop's warm start: the TrainConfig schedule from the parent's
weights), ``lowlr`` (warm start, lr 5e-4, no warm-up), ``scratch`` (no warm start).
Prints one JSON line per variant.
"""

import argparse
import json
import sys
import time
from pathlib import Path

VARIANTS = {
    "default": ({}, True),
    "lowlr": ({"lr": 5e-4, "warmup_steps": 0}, True),
    "scratch": ({}, False),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", required=True)
    ap.add_argument("--partition", required=True)
    ap.add_argument("--generation", type=int, required=True)
    ap.add_argument("--variants", default="default,lowlr,scratch")
    ap.add_argument("--games", type=int, default=100)
    ap.add_argument("--sims", type=int, default=64)
    ap.add_argument("--out", default="/tmp/warm_start")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from ringrift_ml.arena import head_to_head
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop.run import generation_states, registry
    from ringrift_ml.nn.players import make_player
    from ringrift_ml.train.config import TrainConfig
    from ringrift_ml.train.dataset import from_lake
    from ringrift_ml.train.loop import fit

    board, _, n = args.partition.partition("|")
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if not n.isdigit() or unknown:
        print(f"error: --partition must read BOARD|PLAYERS (got {args.partition!r}) and --variants come from "
              f"{', '.join(VARIANTS)} (unknown: {', '.join(unknown) or 'none'})", file=sys.stderr)
        return 2
    if not (Path(args.storage) / "lake").is_dir():
        print(f"error: --storage {args.storage}: no lake there", file=sys.stderr)
        return 2
    store = LakeStore(Path(args.storage))
    states = generation_states(registry(store, board, int(n)))
    row = states.get(args.generation)
    if row is None or not row["parent_id"]:
        print(f"error: generation {args.generation} is not in the registry or had no parent", file=sys.stderr)
        return 2
    parent = next(r for r in states.values() if r["model_id"] == row["parent_id"])
    window = json.loads(row["window"])
    data = from_lake(store, board, int(n), window=len(window), upto=row["sample_set_id"])
    parent_path = store.root / parent["path"]
    for name in args.variants.split(","):
        over, warm = VARIANTS[name]
        t0 = time.time()
        res = fit(data, TrainConfig(tensorboard=False, seed=args.generation, **over), Path(args.out) / name,
                  init=parent_path if warm else None, progress=True)  # bars on stderr, JSON on stdout
        a, ab = make_player(f"nn:{res.model_path}:{args.sims}", board, int(n))
        b, bb = make_player(f"nn:{parent_path}:{args.sims}", board, int(n))
        out = head_to_head(a, b, ab, bb, board, args.games, seed=77, concurrency=16, random_opening=2,
                           progress=True, num_players=int(n))
        print(json.dumps({"variant": name, "generation": args.generation, "parent": f"g{parent['generation']}",
                          "samples": len(data), "score": out["score"], "ci95": out["ci95"], "games": out["games"],
                          "seconds": round(time.time() - t0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
