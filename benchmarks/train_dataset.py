"""Build the fixed training benchmark dataset, deterministically.

    python benchmarks/train_dataset.py --out storage/bench/train [--workers 1]

Sets (every game's seed is fixed, so a rebuild gives the same records):

* ``square8_mcts``: 400 square8 2-player games of ``mcts:64`` against itself (search
  policies recorded: soft targets), seeds 0..399;
* ``square8_heuristic``: 300 square8 2-player games of ``heuristic`` against itself
  (one-hot targets), seeds 10000..10299;
* ``hex8_mcts``: 300 hex8 2-player games of ``mcts:64``, seeds 0..299;
* ``square8_mcts_more``: 1200 more square8 ``mcts:64`` games, seeds 1000..2199 (for
  the strength runs; ``square8_large.npz`` joins all three square8 sets).

Per set: ``<set>.jsonl`` (records) and ``<set>.npz`` (spatial samples with symmetry
tables, ``train.dataset`` format); ``square8.npz`` joins the two square8 sets.  Prints
one JSON line per set (games, samples, seconds).  Sets already built are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

SETS = {
    "square8_mcts": ("square8", ("mcts:64", "mcts:64"), 400, 0),
    "square8_heuristic": ("square8", ("heuristic", "heuristic"), 300, 10000),
    "hex8_mcts": ("hex8", ("mcts:64", "mcts:64"), 300, 0),
    # more search games for the strength runs (the table above uses the first three sets)
    "square8_mcts_more": ("square8", ("mcts:64", "mcts:64"), 1200, 1000),
}


def build_set(out: Path, name: str, workers: int) -> dict:
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nn.samples import SAMPLE_SCHEMA, game_samples
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay
    from ringrift_ml.train.dataset import from_table, save_npz

    board, players, games, seed = SETS[name]
    jsonl, npz = out / f"{name}.jsonl", out / f"{name}.npz"
    t0 = time.perf_counter()
    if not jsonl.is_file():
        cfg = SelfplayConfig(board=board, players=players, games=games, seed=seed, workers=workers)
        records = run_selfplay(cfg, progress=True)
        tmp = jsonl.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
        tmp.replace(jsonl)
    t1 = time.perf_counter()
    records = [json.loads(x) for x in jsonl.read_text().splitlines()]
    ids = [r["gameId"] for r in records]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{name}: duplicate game ids in the records")
    if not npz.is_file():
        rows = []
        for r in records:
            rows.extend(game_samples(r, symmetries=True))
        data = from_table(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA), board, sym_perms=symmetry_perms(board))
        save_npz(data, npz, {"sample_set": name, "games": len(records)})
    t2 = time.perf_counter()
    return {"set": name, "board": board, "players": list(players), "games": len(records),
            "selfplay_s": round(t1 - t0, 1), "samples_s": round(t2 - t1, 1)}


def join(out: Path, names: list, target: str) -> None:
    """One NPZ of several sets of one board (game numbers kept distinct)."""
    from ringrift_ml.train.dataset import SampleData, from_npz, save_npz

    if (out / target).is_file():
        return
    parts = [from_npz(out / f"{n}.npz") for n in names]
    base = 0
    games, legal_off = [], 0
    offsets = [np.zeros(1, np.int64)]
    for p in parts:
        games.append(p.game + base)
        base += int(p.game.max()) + 1
        offsets.append(p.offsets[1:] + legal_off)
        legal_off += int(p.offsets[-1])
    cat = lambda k: np.concatenate([getattr(p, k) for p in parts])  # noqa: E731
    joined = SampleData(board=parts[0].board, planes=cat("planes"), globals=cat("globals"), legal=cat("legal"),
                        offsets=np.concatenate(offsets), policy=cat("policy"), played=cat("played"),
                        value=cat("value"), score=cat("score"), ownership=cat("ownership"),
                        game=np.concatenate(games), players=cat("players"), searched=cat("searched"),
                        weight=cat("weight"), sym_legal=np.concatenate([p.sym_legal for p in parts], axis=1),
                        sym_perms=parts[0].sym_perms)
    save_npz(joined, out / target, {"sample_set": "+".join(names)})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="storage/bench/train")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--sets", default="square8_mcts,square8_heuristic,hex8_mcts")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.sets.split(","):
        if name not in SETS:
            print(f"error: unknown set {name!r}; known: {sorted(SETS)}", file=sys.stderr)
            return 2
        print(json.dumps(build_set(out, name, args.workers)), flush=True)
    if {"square8_mcts", "square8_heuristic"} <= set(args.sets.split(",")):
        join(out, ["square8_mcts", "square8_heuristic"], "square8.npz")
    if {"square8_mcts", "square8_heuristic", "square8_mcts_more"} <= set(args.sets.split(",")):
        join(out, ["square8_mcts", "square8_heuristic", "square8_mcts_more"], "square8_large.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
