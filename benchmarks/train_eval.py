"""Held-out figures of training variants on the benchmark dataset (``train_dataset.py``).

    python benchmarks/train_eval.py --data storage/bench/train --set square8 --variants mlp,bare,full
    python benchmarks/train_eval.py --data storage/bench/train --set square8 --ablations --epochs 8

Every variant trains on the same training games and is scored on the same held-out
games (``SampleData.split`` with the config's holdout and seed).  Prints one JSON line
per variant: policy cross-entropy against the targets next to uniform's, top-1 next to
uniform's, value MSE next to predicting 0, value ECE before and after temperature
scaling, the saved epoch and the training speed.

* ``mlp``: the previous model (``mlp_baseline.py`` beside this script, factored move
  scoring over a flat feature vector) with its default config, trained on the training games'
  samples in its own encoding (it holds out a fifth of them for its own validation and
  keeps its last epoch, as it always did);
* ``bare``: the spatial network with every training feature off (one-hot targets, no
  augmentation, EMA, auxiliary heads, warmup, schedule or clipping);
* ``full``: the spatial network with the defaults of ``TrainConfig``;
* ``--ablations``: ``full`` with one feature flipped at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BARE = dict(soft_targets=False, augment=False, ema=False, ownership_weight=0.0, score_weight=0.0, warmup_steps=0,
            schedule="constant", grad_clip=0.0, label_smoothing=0.0, swa=False, hard_mining=False, early_stopping=0)
ABLATIONS = {
    "no_augment": dict(augment=False),
    "no_ema": dict(ema=False),
    "one_hot_targets": dict(soft_targets=False),
    "no_aux_heads": dict(ownership_weight=0.0, score_weight=0.0),
    "no_schedule": dict(schedule="constant", warmup_steps=0),
    "no_grad_clip": dict(grad_clip=0.0),
    "label_smoothing_0.05": dict(label_smoothing=0.05),
    "swa": dict(swa=True),
    "hard_mining": dict(hard_mining=True),
    "restarts": dict(schedule="restarts"),
    "no_pooling": "net:pool_every=0",
}


def row(name: str, held: dict, extra: dict) -> dict:
    keys = ("policy_ce", "policy_ce_uniform", "top1", "top1_uniform", "value_mse", "value_mse_zero", "value_ece",
            "value_ece_scaled", "value_temperature")
    out = {"variant": name, **{k: round(float(held[k]), 4) for k in keys if k in held}}
    if "policy_ce" in held:
        out["policy_ce_vs_uniform"] = round(1 - held["policy_ce"] / held["policy_ce_uniform"], 4)
    return {**out, **extra}


def run_net(data, cfg, name: str, out: Path, net_overrides: dict) -> dict:
    from ringrift_ml.nn import net as netmod
    from ringrift_ml.train.loop import fit

    saved = dict(netmod.PRESETS)
    try:
        if net_overrides:
            preset = cfg.preset or netmod.BOARD_PRESET[data.board]
            netmod.PRESETS[preset] = {**netmod.PRESETS[preset], **net_overrides}
        t0 = time.perf_counter()
        res = fit(data, cfg, out / name)
        secs = time.perf_counter() - t0
    finally:
        netmod.PRESETS.clear()
        netmod.PRESETS.update(saved)
    meta = json.loads((out / name / "model.json").read_text())
    return row(name, res.best, {"best_epoch": meta["best_epoch"], "evaluations": len(res.history),
                                "steps": res.steps, "train_samples_per_s": round(res.samples_per_second, 1),
                                "seconds": round(secs, 1), "parameters": meta["parameters"]})


def run_mlp(data_dir: Path, set_name: str, held_games: set, n_games: int, seed: int, threads: int) -> dict:
    """The previous model on the same train / held-out games (its own encoding)."""
    import torch
    from mlp_baseline import Samples, TrainConfig, evaluate, train, value_logits

    from ringrift_ml.rules.boards import board_spec
    from ringrift_ml.train.calibration import calibration_report
    from ringrift_ml.train.evaluate import calibration

    torch.set_num_threads(threads)
    files = {"square8": ["square8_mcts", "square8_heuristic"]}.get(set_name, [set_name])
    records = [json.loads(line) for f in files for line in (data_dir / f"{f}.jsonl").read_text().splitlines()]
    full = Samples.of_records(records)
    if len(np.unique(full.game)) != n_games:
        raise SystemExit(f"mlp: {len(np.unique(full.game))} games in the records, {n_games} in the NPZ; "
                         "rebuild the set")
    held = np.isin(full.game, sorted(held_games))
    tr, ho = full.subset(~held), full.subset(held)
    t0 = time.perf_counter()
    net, history = train(tr, board_spec(records[0]["boardType"]).n_cells, TrainConfig(seed=seed))
    secs = time.perf_counter() - t0
    idx = np.arange(len(ho))
    ev = evaluate(net, ho, idx)
    z = value_logits(net, ho, idx)
    cal = calibration_report(z, ho.value)
    cal2 = calibration(np.tanh(z), ho.value, ho.game)
    held_fig = {"policy_ce": ev["policy_loss"], "policy_ce_uniform": float(np.log(np.diff(ho.offsets)).mean()),
                "top1": ev["top1"], "top1_uniform": float((1 / np.diff(ho.offsets)).mean()),
                "value_mse": ev["value_mse"], "value_mse_zero": float((ho.value ** 2).mean()),
                "value_ece": cal["ece"], "value_ece_scaled": cal2["ece_scaled"], "value_temperature": cal["temperature"]}
    return row("mlp", held_fig, {"best_epoch": "last", "evaluations": len(history) - 1, "seconds": round(secs, 1),
                                 "train_samples_per_s": round(len(tr) * (len(history) - 1) / secs, 1),
                                 "parameters": sum(p.numel() for p in net.parameters())})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="storage/bench/train")
    ap.add_argument("--set", default="square8", help="NPZ name in --data (square8, square8_mcts, hex8_mcts ...)")
    ap.add_argument("--variants", default="bare,full", help="comma list of mlp, bare, full")
    ap.add_argument("--ablations", action="store_true")
    ap.add_argument("--only", help="comma list of ablation names to run")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--config", help="base TrainConfig JSON for full (defaults otherwise)")
    ap.add_argument("--out", default="/tmp/ringrift_train_eval")
    args = ap.parse_args(argv)
    from ringrift_ml.train.config import TrainConfig
    from ringrift_ml.train.dataset import from_npz

    base = json.loads(Path(args.config).read_text()) if args.config else {}
    if args.epochs:
        base["epochs"] = args.epochs
    base.setdefault("tensorboard", False)
    data = from_npz(Path(args.data) / f"{args.set}.npz")
    full = TrainConfig.from_dict(base)
    train_idx, held_idx = data.split(full.holdout, full.seed)
    print(json.dumps({"set": args.set, "samples": len(data), "train": len(train_idx), "heldout": len(held_idx),
                      "heldout_games": int(len(np.unique(data.game[held_idx]))),
                      "train_games": int(len(np.unique(data.game[train_idx]))), "config": base}), flush=True)
    out = Path(args.out) / args.set
    runs = []
    for v in args.variants.split(",") if args.variants else []:
        if v == "mlp":
            runs.append(("mlp", None, None))
        elif v == "bare":
            runs.append(("bare", TrainConfig.from_dict({**base, **BARE}), {}))
        elif v == "full":
            runs.append(("full", full, {}))
        else:
            print(f"error: unknown variant {v!r}", file=sys.stderr)
            return 2
    if args.ablations:
        only = set(args.only.split(",")) if args.only else None
        for name, change in ABLATIONS.items():
            if only and name not in only:
                continue
            if isinstance(change, str):
                k, v = change.split(":", 1)[1].split("=")
                runs.append((name, full, {k: int(v)}))
            else:
                runs.append((name, TrainConfig.from_dict({**base, **change}), {}))
    for name, cfg, net_over in runs:
        if name == "mlp":
            res = run_mlp(Path(args.data), args.set, set(np.unique(data.game[held_idx]).tolist()),
                          len(np.unique(data.game)), full.seed,
                          full.threads)
        else:
            res = run_net(data, cfg, name, out, net_over)
        print(json.dumps({"set": args.set, **res}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
