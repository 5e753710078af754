"""Does each promotion predict the search better?  Consecutive promoted networks on the same held-out games.

    python benchmarks/loop_heldout.py --storage storage/loop --partition 'square8|2'

For every promoted generation ``g`` of a loop's registry (in promotion order) and its
predecessor ``p`` (the best it was gated against; none for the first promotion), both
networks are scored on the same positions, which neither trained on: the games of
generation ``g``'s own selfplay (played by ``p`` after ``p`` was trained) that ``g``'s
training held out (its held-out split: ``LoopConfig.train_config`` seed and holdout).
One JSON line per promotion: positions and games, the targets' entropy H and the uniform
policy's cross-entropy, each network's policy cross-entropy and value MSE (next to
predicting 0), and the paired difference ``ce_new - ce_prev`` per position with its 95%
interval (negative: the new network predicts the search better).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def per_position(net, data, idx: np.ndarray) -> tuple:
    """Per-position policy CE and value MSE of ``net`` on samples ``idx``."""
    from ringrift_ml.train.evaluate import predict, sample_losses

    ce, mse = np.zeros(len(idx)), np.zeros(len(idx))
    at = 0
    for part, b, out in predict(net, data, idx):
        t = sample_losses(out, b)
        ce[at:at + len(part)] = t["policy"].numpy()
        mse[at:at + len(part)] = t["value"].numpy()
        at += len(part)
    return ce, mse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", type=Path, required=True)
    ap.add_argument("--partition", default="square8|2")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import LoopConfig, registry
    from ringrift_ml.loop.run import PROMOTED
    from ringrift_ml.nn.checkpoint import load_net
    from ringrift_ml.train.dataset import from_lake
    from ringrift_ml.train.evaluate import evaluate

    try:
        board, _, n = args.partition.partition("|")
        n = int(n)
        if not (args.storage / "lake").is_dir():
            raise ValueError(f"{args.storage} has no lake")
        store = LakeStore.open(args.storage)
    except (ValueError, OSError) as e:
        print(f"loop_heldout: {e}", file=sys.stderr)
        return 2
    rows = registry(store, board, n)
    # The promotions in order, from the rows that promoted them (a later rollback does not erase them).
    promoted = [r for r in rows if r["status"] == PROMOTED]
    if not promoted:
        print(f"loop_heldout: no promoted generation of {args.partition} in {args.storage}", file=sys.stderr)
        return 2
    by_id = {r["model_id"]: r for r in promoted}
    for r in promoted:
        g = r["generation"]
        cfg = LoopConfig.from_dict(json.loads(r["config"]))
        prev = by_id.get(r["parent_id"])
        tcfg = cfg.train_config(seed=cfg.seed + g, warm=prev is not None)
        # The candidate's training data and split, exactly as it was trained ...
        dset = from_lake(store, board, n, window=cfg.window, recency=cfg.recency, upto=r["sample_set_id"])
        _, held = dset.split(tcfg.holdout, tcfg.seed)
        # ... restricted to its own generation's games (played by the predecessor, after its training).
        own = {x["game_id"] for x in store.query("SELECT game_id FROM lake.sample_set_games WHERE sample_set_id = ?",
                                                 [r["sample_set_id"]]).to_pylist()}
        mine = np.array([dset.game_ids[k] in own for k in dset.game[held]], dtype=bool)
        idx = held[mine]
        if len(idx) == 0:
            print(f"loop_heldout: generation {g} holds out none of its own games", file=sys.stderr)
            continue
        weights = {"policy": tcfg.policy_weight, "value": tcfg.value_weight, "ownership": tcfg.ownership_weight,
                   "score": tcfg.score_weight}
        new_net, _ = load_net(store.root / r["path"])
        base = evaluate(new_net, dset, idx, weights, with_calibration=False)
        ce_new, mse_new = per_position(new_net, dset, idx)
        out = {"bench": "loop_heldout", "partition": args.partition, "generation": g,
               "predecessor": None if prev is None else prev["generation"], "positions": int(len(idx)),
               "games": int(len(np.unique(dset.game[idx]))),
               "policy_ce_uniform": round(base["policy_ce_uniform"], 4),
               "target_entropy": round(base["policy_target_entropy"], 4),
               "ce_new": round(float(ce_new.mean()), 4), "value_mse_new": round(float(mse_new.mean()), 4),
               "value_mse_zero": round(base["value_mse_zero"], 4),
               "registry_heldout_policy_ce": r.get("heldout_policy_ce")}
        if prev is not None:
            prev_net, _ = load_net(store.root / prev["path"])
            ce_prev, mse_prev = per_position(prev_net, dset, idx)
            d = ce_new - ce_prev
            half = 1.96 * float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            out.update({"ce_prev": round(float(ce_prev.mean()), 4), "value_mse_prev": round(float(mse_prev.mean()), 4),
                        "ce_diff": round(float(d.mean()), 4),
                        "ce_diff_ci95": [round(float(d.mean()) - half, 4), round(float(d.mean()) + half, 4)]})
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
