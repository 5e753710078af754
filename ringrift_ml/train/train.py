"""Training loop: policy cross-entropy over the legal moves plus value MSE."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .data import Samples
from .model import NetConfig, PolicyValueNet


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 8
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    holdout: float = 0.2
    seed: int = 0
    hidden: int = 256
    layers: int = 2

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("train config: epochs and batch_size must be positive")
        if not 0 < self.holdout < 1:
            raise ValueError(f"train config: holdout must be in (0, 1), got {self.holdout}")
        if not self.lr > 0:
            raise ValueError(f"train config: lr must be positive, got {self.lr}")


def losses(net: PolicyValueNet, batch: dict) -> tuple:
    logits, z = net(batch["features"], batch["moves"], batch["mask"])
    logp = torch.log_softmax(logits, dim=1).masked_fill(~batch["mask"], 0.0)
    policy = -(batch["policy"] * logp).sum(1).mean()
    value = F.mse_loss(torch.tanh(z), batch["value"])
    return policy, value, logits, z


@torch.no_grad()
def evaluate(net: PolicyValueNet, data: Samples, idx: np.ndarray, batch_size: int = 1024) -> dict:
    net.eval()
    tot_p = tot_v = top1 = 0.0
    for a in range(0, len(idx), batch_size):
        b = data.batch(idx[a:a + batch_size])
        p, v, logits, _ = losses(net, b)
        n = len(b["value"])
        tot_p += float(p) * n
        tot_v += float(v) * n
        top1 += float((logits.argmax(1) == b["policy"].argmax(1)).sum())
    n = max(1, len(idx))
    return {"policy_loss": tot_p / n, "value_mse": tot_v / n, "loss": (tot_p + tot_v) / n, "top1": top1 / n}


def train(data: Samples, cfg: TrainConfig, on_epoch: Optional[Callable[[int, dict], None]] = None) -> tuple:
    """Train a fresh network; returns ``(net, history, held_out_indices)``.

    ``history`` has one entry per epoch plus epoch 0 (before training) with the mean
    training loss and the held-out metrics."""
    if len(data) < 2:
        raise ValueError(f"train: {len(data)} samples; at least 2 are needed (one held out)")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_idx, held = data.split(cfg.holdout, cfg.seed)
    s = data.schema
    net = PolicyValueNet(NetConfig(data.features.shape[1], s["n_cells"], s["move_types"], cfg.hidden, cfg.layers))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = [{"epoch": 0, "train_loss": evaluate(net, data, train_idx)["loss"],
                **{f"val_{k}": v for k, v in evaluate(net, data, held).items()}}]
    if on_epoch:
        on_epoch(0, history[0])
    for epoch in range(1, cfg.epochs + 1):
        net.train()
        order = rng.permutation(train_idx)
        seen, total = 0, 0.0
        for a in range(0, len(order), cfg.batch_size):
            b = data.batch(order[a:a + cfg.batch_size])
            p, v, _, _ = losses(net, b)
            loss = p + v
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b["value"])
            seen += len(b["value"])
        entry = {"epoch": epoch, "train_loss": total / seen,
                 **{f"val_{k}": v for k, v in evaluate(net, data, held).items()}}
        if not math.isfinite(entry["train_loss"]):
            raise FloatingPointError(f"train: loss became {entry['train_loss']} in epoch {epoch}")
        history.append(entry)
        if on_epoch:
            on_epoch(epoch, entry)
    return net, history, held


def save_model(net: PolicyValueNet, path: Path, train_cfg: TrainConfig, extra: dict) -> Path:
    """Weights, configs and metadata in one file (temporary name, then rename), plus
    a JSON sidecar of everything but the weights."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"net_config": net.cfg.to_dict(), "train_config": asdict(train_cfg), **extra}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"state_dict": net.state_dict(), **meta}, tmp)
    os.replace(tmp, path)
    side = path.with_suffix(".json")
    tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
    os.replace(tmp, side)
    return path


def load_model(path: Path) -> tuple:
    blob = torch.load(Path(path), map_location="cpu", weights_only=False)
    net = PolicyValueNet(NetConfig(**blob["net_config"]))
    net.load_state_dict(blob["state_dict"])
    net.eval()
    return net, {k: v for k, v in blob.items() if k != "state_dict"}
