"""``ringrift train`` and ``ringrift model info`` (registered by ``ringrift_ml.cli``).

    ringrift train --samples 'square8|2' --out runs/sq8 [--config train.json] [--resume]
    ringrift train --samples exports/square8_2p/<id>.npz --out runs/sq8
    ringrift model info runs/sq8/model.pt

``--samples`` is a lake partition (``board|players``; the partition's sample sets
within the config's replay window, read at the lake's current snapshot) or a samples
NPZ.  Under ``torchrun --nproc_per_node N -m ringrift_ml.cli train ...`` the run is
distributed (``train.loop``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load_samples(spec: str, cfg, store_factory):
    """Samples named by ``--samples`` (module docstring)."""
    from .dataset import from_lake, from_npz

    from ..partition import Partition

    if "|" in spec:
        part = Partition.parse(spec)  # a ValueError names the key and the reason
        store = store_factory()
        snapshot = store.snapshot()
        data = from_lake(store, part.board, part.players, window=cfg.window, recency=cfg.recency)
        data.source["lake_snapshot"] = snapshot
        return data
    p = Path(spec)
    if p.suffix == ".npz":
        if not p.is_file():
            raise ValueError(f"--samples {spec}: no such NPZ file")
        return from_npz(p)
    raise ValueError(f"--samples {spec!r}: expected a lake partition such as 'square8|2' or an .npz file")


def cmd_train(args, store_factory) -> int:
    from ..fields import arguments_to_fields
    from .config import TrainConfig
    from .loop import fit

    try:
        cfg = TrainConfig.from_file(Path(args.config)) if args.config else TrainConfig()
        overrides = arguments_to_fields(args, TrainConfig)
        if overrides:
            cfg = TrainConfig.from_dict({**cfg.to_dict(), **overrides}, "command line")
        data = load_samples(args.samples, cfg, store_factory)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    from .checkpoint import state_exists

    if state_exists(out / "train_state.pt") and not args.resume:
        print(f"error: {out} holds a training run; pass --resume to continue it or choose another --out",
              file=sys.stderr)
        return 2
    try:
        result = fit(data, cfg, out, resume=args.resume, progress=args.progress,
                     extra_meta={"samples_spec": args.samples})
    except (ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if result.model_path is None:  # a non-zero rank under torchrun
        return 0
    b = result.best
    print(json.dumps({
        "model": str(result.model_path), "steps": result.steps, "stopped_early": result.stopped_early,
        "samples_per_second": round(result.samples_per_second, 1),
        "heldout": {k: round(b[k], 4) for k in ("loss", "policy_ce", "policy_ce_uniform", "policy_target_entropy",
                                                "policy_gap_closed", "top1", "top1_uniform",
                                                "value_mse", "value_mse_zero", "value_ece", "value_ece_scaled")
                    if k in b}}))
    return 0


def cmd_model_info(args) -> int:
    from ..nn.checkpoint import read_net
    from .loop import describe

    try:
        _, meta = read_net(Path(args.file))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        meta = {**meta, "net_config": meta["net_config"].to_dict()}
        print(json.dumps(meta, sort_keys=True, default=str))
    else:
        print(describe(meta))
    return 0


def add_parsers(sub, store_factory) -> None:
    tr = sub.add_parser("train", help="train the policy/value network on a lake partition or an NPZ")
    tr.add_argument("--samples", required=True, help="lake partition 'board|players' (e.g. 'square8|2') or an .npz")
    tr.add_argument("--out", required=True, help="run folder: model.pt/.json, train_state, tensorboard/")
    tr.add_argument("--config", help="training options as JSON (ringrift_ml.train.config.TrainConfig fields)")
    tr.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    from ..fields import add_arguments
    from .config import AMP_MODES, DEVICES, SCHEDULES, TrainConfig

    # One flag per TrainConfig field; a flag given overrides --config's value.
    add_arguments(tr.add_argument_group("training options (override --config)"), TrainConfig,
                  optional_defaults=True,
                  choices={"schedule": SCHEDULES, "amp": AMP_MODES, "device": DEVICES})
    tr.add_argument("--storage", help="storage root for a lake partition (default: $RINGRIFT_STORAGE or ./storage)")
    tr.add_argument("--catalog", help="lake catalog: 'sqlite' (default) or 'postgres:<libpq string>'")
    tr.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    tr.set_defaults(func=lambda a: cmd_train(a, lambda: store_factory(a)))

    mo = sub.add_parser("model", help="network checkpoints")
    msub = mo.add_subparsers(dest="model_command", required=True)
    mi = msub.add_parser("info", help="what a checkpoint is, what it learned from, how it scored held out")
    mi.add_argument("file", help="a checkpoint (ringrift train output)")
    mi.add_argument("--json", action="store_true", help="the checkpoint's metadata as JSON")
    mi.set_defaults(func=cmd_model_info)


__all__ = ["add_parsers", "cmd_model_info", "cmd_train", "load_samples"]
