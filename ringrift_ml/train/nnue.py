"""Training an NNUE in PyTorch from prepared positions, and its export.

A position seen from one seat is a *sample*: the active feature indices of that
perspective (:func:`ringrift_ml.nnue._k_nnue.active_features`), its globals and a value
target in ``[-1, 1]``.  The first layer is an ``EmbeddingBag`` summing the rows of the
active features (the accumulator); the head is two clipped-ReLU layers and a ``tanh``
output, the same function :mod:`ringrift_ml.nnue._k_nnue` computes in float, so the
exported weights evaluate exactly as trained (up to quantisation).  Weights are clamped
after every step to the ranges their integer types hold (``WEIGHT_BOUND``).

Augmentation: each time a sample is drawn its cells may be mapped by a random symmetry
of the board under which the rules are invariant (``nn.augment.symmetry_perms``): a
feature ``cell * CODES + code`` becomes ``perm[cell] * CODES + code``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..nnue.features import CODES, N_GLOBALS, n_features
from ..nnue.model import WEIGHT_BOUND, NNUEWeights, board_cells


@dataclasses.dataclass(frozen=True)
class NNUETrainConfig:
    """Sizes and optimiser of an NNUE's training."""

    hidden: int = 128
    """Accumulator width (per perspective)."""
    l1: int = 32
    """First hidden layer of the head."""
    l2: int = 32
    """Second hidden layer of the head."""
    epochs: int = 12
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-6
    holdout: float = 0.1
    """Share of the games held out (split by game, never by position)."""
    symmetries: bool = True
    """Augment with the board's rules symmetries."""
    seed: int = 0
    threads: int = 1
    """torch CPU threads."""

    def __post_init__(self):
        for name in ("hidden", "l1", "l2", "epochs", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"nnue train config: {name} must be positive, got {getattr(self, name)}")
        if not 0 < self.holdout < 1 or not self.lr > 0 or self.weight_decay < 0:
            raise ValueError("nnue train config: 0 < holdout < 1, lr > 0 and weight_decay >= 0 required")


class NNUENet(nn.Module):
    """The float NNUE: accumulator (sum of feature rows plus bias), clipped ReLU head."""

    def __init__(self, features: int, hidden: int, l1: int, l2: int):
        super().__init__()
        self.ft = nn.EmbeddingBag(features, hidden, mode="sum")
        self.b1 = nn.Parameter(torch.full((hidden,), 0.5))
        self.l1 = nn.Linear(hidden + N_GLOBALS, l1)
        self.l2 = nn.Linear(l1, l2)
        self.out = nn.Linear(l2, 1)
        nn.init.normal_(self.ft.weight, 0.0, 0.01)

    def forward(self, idx: torch.Tensor, offsets: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
        acc = (self.ft(idx, offsets) + self.b1).clamp(0.0, 1.0)
        h = self.l1(torch.cat([acc, glob], dim=1)).clamp(0.0, 1.0)
        h = self.l2(h).clamp(0.0, 1.0)
        return torch.tanh(self.out(h).squeeze(1))

    @torch.no_grad()
    def clamp_weights(self) -> None:
        self.ft.weight.clamp_(-WEIGHT_BOUND["W1"], WEIGHT_BOUND["W1"])
        self.b1.clamp_(-WEIGHT_BOUND["b1"], WEIGHT_BOUND["b1"])
        for layer, key in ((self.l1, "L1w"), (self.l2, "L2w"), (self.out, "Ow")):
            layer.weight.clamp_(-WEIGHT_BOUND[key], WEIGHT_BOUND[key])

    def export(self, board: str, meta: Optional[dict] = None) -> NNUEWeights:
        """The weights in :class:`NNUEWeights` layout (head matrices input-major)."""
        t = {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}
        return NNUEWeights(board=board, W1=t["ft.weight"], b1=t["b1"], L1w=t["l1.weight"].T, L1b=t["l1.bias"],
                           L2w=t["l2.weight"].T, L2b=t["l2.bias"], Ow=t["out.weight"][0], Ob=float(t["out.bias"][0]),
                           meta=dict(meta or {}))


@dataclasses.dataclass
class NNUEData:
    """Samples in flat arrays: sample ``i``'s features are ``feats[starts[i]:starts[i + 1]]``."""

    feats: np.ndarray  # int64, all samples' active features concatenated
    starts: np.ndarray  # int64 [n + 1]
    glob: np.ndarray  # float32 [n, N_GLOBALS]
    target: np.ndarray  # float32 [n]
    game: np.ndarray  # int64 [n]: the game each sample comes from (the split is by game)

    def __len__(self) -> int:
        return len(self.target)

    def take(self, rows: np.ndarray) -> "NNUEData":
        lens = self.starts[rows + 1] - self.starts[rows]
        starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        feats = np.concatenate([self.feats[self.starts[r]:self.starts[r + 1]] for r in rows]) if len(rows) else \
            np.zeros(0, dtype=np.int64)
        return NNUEData(feats, starts, self.glob[rows], self.target[rows], self.game[rows])


def _batch(data: NNUEData, rows: np.ndarray, perms: Optional[np.ndarray], rng) -> tuple:
    lens = data.starts[rows + 1] - data.starts[rows]
    feats = np.concatenate([data.feats[data.starts[r]:data.starts[r + 1]] for r in rows])
    if perms is not None:
        sym = rng.integers(len(perms), size=len(rows))
        per = np.repeat(sym, lens)
        cells, codes = np.divmod(feats, CODES)
        feats = perms[per, cells] * CODES + codes
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return (torch.from_numpy(feats.astype(np.int64)), torch.from_numpy(offsets.astype(np.int64)),
            torch.from_numpy(data.glob[rows]), torch.from_numpy(data.target[rows]))


def predict(net: NNUENet, data: NNUEData, batch: int = 4096) -> np.ndarray:
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(data), batch):
            rows = np.arange(i, min(i + batch, len(data)))
            idx, off, glob, _ = _batch(data, rows, None, None)
            out.append(net(idx, off, glob).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def train_nnue(board: str, train: NNUEData, held: NNUEData, cfg: NNUETrainConfig,
               log: Callable[[str], None] = print) -> tuple:
    """``(net, history)``: the NNUE trained on ``train`` by MSE against its targets, the
    epoch with the lowest held-out MSE kept; ``history`` one dict per epoch."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    perms = None
    if cfg.symmetries:
        from ..nn.augment import symmetry_perms

        perms = symmetry_perms(board)
    net = NNUENet(n_features(board_cells(board)), cfg.hidden, cfg.l1, cfg.l2)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs))
    best, best_state, history = np.inf, None, []
    for epoch in range(cfg.epochs):
        t0 = time.time()
        net.train()
        order = rng.permutation(len(train))
        total, seen = 0.0, 0
        for i in range(0, len(order), cfg.batch_size):
            rows = order[i:i + cfg.batch_size]
            idx, off, glob, y = _batch(train, rows, perms, rng)
            loss = torch.mean((net(idx, off, glob) - y) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.clamp_weights()
            total += float(loss.detach()) * len(rows)
            seen += len(rows)
        sched.step()
        mse = float(np.mean((predict(net, held) - held.target) ** 2)) if len(held) else float("nan")
        history.append({"epoch": epoch, "train_mse": round(total / max(seen, 1), 5), "heldout_mse": round(mse, 5),
                        "seconds": round(time.time() - t0, 1)})
        log(f"nnue epoch {epoch}: training MSE {total / max(seen, 1):.4f}, held-out {mse:.4f}")
        if mse < best:
            best = mse
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    return net, history


__all__ = ["NNUEData", "NNUENet", "NNUETrainConfig", "predict", "train_nnue"]
