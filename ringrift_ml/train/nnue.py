"""Training an NNUE in PyTorch from prepared positions, and its export.

A position seen from one seat is a *sample*: the active feature indices of that
perspective (:func:`ringrift_ml.ai._k_nnue.active_features`), its globals and a value
target in ``[-1, 1]``.  The first layer is an ``EmbeddingBag`` summing the rows of the
active features (the accumulator); the head is two clipped-ReLU layers and a ``tanh``
output, the same function :mod:`ringrift_ml.ai._k_nnue` computes in float, so the
exported weights evaluate exactly as trained (up to quantisation).  Weights are clamped
after every step to the ranges their integer types hold (``WEIGHT_BOUND``).

Augmentation: each time a sample is drawn its cells may be mapped by a random symmetry
of the board under which the rules are invariant (``nn.augment.symmetry_perms``): a
feature ``cell * CODES + code`` becomes ``perm[cell] * CODES + code``.  A sample's
target is one value (the same for every image: the student is fitted to the target's
mean over the images, an invariant function) or one per image (``target`` of shape
``[samples, symmetries]``, column ``k`` for ``symmetry_perms(board)[k]``, 0 the position
as played): the drawn image is trained on its own value, so nothing forces the student
to be invariant where its teacher is not.

Factorisation (``factorise``; off by default, as it measured no gain: docs/nnue.md):
in training every active feature also switches on two *virtual* features shared
across many real ones, its code alone (a stack of this height and cap of this
relative seat, anywhere) and its cell with the relative seat of whatever occupies it
(this seat's piece here, of any kind).  Their rows learn from every position in which
any of their real features occurs, so a real feature seen in few positions starts from
what its code and cell say in general; at export each real row becomes its own row
plus its two virtual rows, so the exported first layer and the compiled inference are
unchanged (the factoriser of nnue-pytorch's HalfKA features, on this game's features).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..nnue.features import (CAP_BUCKETS, CODES, COLLAPSED_BASE, HEIGHT_BUCKETS, MARKER_BASE, N_GLOBALS, SEATS,
                             n_features)
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
    pairwise: bool = False
    """The head's inputs are the products of the clipped accumulator's halves
    (``NNUEWeights.pairwise``): hidden / 2 inputs, with interactions between cells."""
    factorise: bool = False
    """Train with virtual features (code alone; cell and occupant's relative seat),
    folded into the real rows at export."""
    seed: int = 0
    threads: int = 1
    """torch CPU threads."""

    def __post_init__(self):
        for name in ("hidden", "l1", "l2", "epochs", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"nnue train config: {name} must be positive, got {getattr(self, name)}")
        if self.pairwise and self.hidden % 2:
            raise ValueError(f"nnue train config: pairwise needs an even hidden width, got {self.hidden}")
        if not 0 < self.holdout < 1 or not self.lr > 0 or self.weight_decay < 0:
            raise ValueError("nnue train config: 0 < holdout < 1, lr > 0 and weight_decay >= 0 required")


def _relative_seat(codes: np.ndarray) -> np.ndarray:
    """The relative seat of what a code shows: a stack's controller, a marker's or a
    collapsed cell's owner."""
    stack = codes // (HEIGHT_BUCKETS * CAP_BUCKETS)  # stack codes: seat * 15 + height and cap buckets
    return np.where(codes < MARKER_BASE, stack, np.where(codes < COLLAPSED_BASE, codes - MARKER_BASE,
                                                           codes - COLLAPSED_BASE))


def virtual_features(feats: np.ndarray, n_real: int) -> np.ndarray:
    """The two virtual features of each real feature, ``[2 * len(feats)]``: the code
    alone (``n_real + code``) and the cell with the occupant's relative seat
    (``n_real + CODES + cell * SEATS + seat``)."""
    cells, codes = np.divmod(feats, CODES)
    return np.concatenate([n_real + codes, n_real + CODES + cells * SEATS + _relative_seat(codes)])


def n_virtual(n_cells: int) -> int:
    return CODES + n_cells * SEATS


class NNUENet(nn.Module):
    """The float NNUE: accumulator (sum of feature rows plus bias), clipped ReLU head.
    With ``virtual`` rows (factorisation) the bag holds them after the real ones; they
    start at zero and are folded into the real rows by :meth:`export`."""

    def __init__(self, features: int, hidden: int, l1: int, l2: int, virtual: int = 0, pairwise: bool = False):
        super().__init__()
        self.features, self.virtual, self.pairwise = features, virtual, bool(pairwise)
        self.ft = nn.EmbeddingBag(features + virtual, hidden, mode="sum")
        self.b1 = nn.Parameter(torch.full((hidden,), 0.5))
        self.l1 = nn.Linear((hidden // 2 if pairwise else hidden) + N_GLOBALS, l1)
        self.l2 = nn.Linear(l1, l2)
        self.out = nn.Linear(l2, 1)
        nn.init.normal_(self.ft.weight, 0.0, 0.01)
        if virtual:
            with torch.no_grad():
                self.ft.weight[features:] = 0.0

    def accumulator(self, idx: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """What the head reads of the accumulator: the sum of the active rows and the
        bias, clipped to [0, 1]; with ``pairwise`` the products of its two halves."""
        acc = (self.ft(idx, offsets) + self.b1).clamp(0.0, 1.0)
        if self.pairwise:
            half = acc.shape[1] // 2
            acc = acc[:, :half] * acc[:, half:]
        return acc

    def forward(self, idx: torch.Tensor, offsets: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
        acc = self.accumulator(idx, offsets)
        h = self.l1(torch.cat([acc, glob], dim=1)).clamp(0.0, 1.0)
        h = self.l2(h).clamp(0.0, 1.0)
        return torch.tanh(self.out(h).squeeze(1))

    @torch.no_grad()
    def clamp_weights(self) -> None:
        self.ft.weight.clamp_(-WEIGHT_BOUND["W1"], WEIGHT_BOUND["W1"])
        self.b1.clamp_(-WEIGHT_BOUND["b1"], WEIGHT_BOUND["b1"])
        for layer, key in ((self.l1, "L1w"), (self.l2, "L2w"), (self.out, "Ow")):
            layer.weight.clamp_(-WEIGHT_BOUND[key], WEIGHT_BOUND[key])

    def first_layer(self) -> np.ndarray:
        """The real features' rows, each with its virtual rows folded in (clamped to the
        range the integer accumulator's rows hold)."""
        w = self.ft.weight.detach().cpu().numpy()
        real = w[: self.features].copy()
        if self.virtual:
            real += w[virtual_features(np.arange(self.features), self.features)].reshape(2, self.features, -1).sum(0)
            np.clip(real, -WEIGHT_BOUND["W1"], WEIGHT_BOUND["W1"], out=real)
        return real

    def export(self, board: str, meta: Optional[dict] = None) -> NNUEWeights:
        """The weights in :class:`NNUEWeights` layout (head matrices input-major)."""
        t = {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}
        return NNUEWeights(board=board, W1=self.first_layer(), b1=t["b1"], L1w=t["l1.weight"].T, L1b=t["l1.bias"],
                           L2w=t["l2.weight"].T, L2b=t["l2.bias"], Ow=t["out.weight"][0], Ob=float(t["out.bias"][0]),
                           meta=dict(meta or {}), pairwise=self.pairwise)


@dataclasses.dataclass
class NNUEData:
    """Samples in flat arrays: sample ``i``'s features are ``feats[starts[i]:starts[i + 1]]``."""

    feats: np.ndarray  # int64, all samples' active features concatenated
    starts: np.ndarray  # int64 [n + 1]
    glob: np.ndarray  # float32 [n, N_GLOBALS]
    target: np.ndarray  # float32 [n], or [n, symmetries]: a value per image (column 0: as played)
    game: np.ndarray  # int64 [n]: the game each sample comes from (the split is by game)

    def __len__(self) -> int:
        return len(self.target)

    @property
    def played(self) -> np.ndarray:
        """``[n]`` the targets of the positions as played (column 0 of per-image targets)."""
        return self.target[:, 0] if self.target.ndim == 2 else self.target

    def take(self, rows: np.ndarray) -> "NNUEData":
        lens = self.starts[rows + 1] - self.starts[rows]
        starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        feats = np.concatenate([self.feats[self.starts[r]:self.starts[r + 1]] for r in rows]) if len(rows) else \
            np.zeros(0, dtype=np.int64)
        return NNUEData(feats, starts, self.glob[rows], self.target[rows], self.game[rows])


def _batch(data: NNUEData, rows: np.ndarray, perms: Optional[np.ndarray], rng, n_real: int = 0,
           sym: Optional[np.ndarray] = None) -> tuple:
    """A batch's bag: each sample's features (mapped by a symmetry with ``perms``: drawn
    from ``rng``, or ``sym[i]`` for row ``i`` when given), followed by their virtual
    features when ``n_real`` is given."""
    lens = data.starts[rows + 1] - data.starts[rows]
    feats = np.concatenate([data.feats[data.starts[r]:data.starts[r + 1]] for r in rows])
    y = data.target[rows]
    if perms is not None:
        if sym is None:
            sym = rng.integers(len(perms), size=len(rows))
        per = np.repeat(sym, lens)
        cells, codes = np.divmod(feats, CODES)
        feats = perms[per, cells] * CODES + codes
        if y.ndim == 2:  # the drawn image's own value
            y = y[np.arange(len(rows)), sym]
    if y.ndim == 2:
        y = y[:, 0]
    if n_real:
        # Sample by sample: real features, then the two virtual ones of each.
        owner = np.repeat(np.arange(len(rows)), lens)
        virt = virtual_features(feats, n_real)
        order = np.argsort(np.concatenate([owner, owner, owner]), kind="stable")
        feats = np.concatenate([feats, virt])[order]
        lens = lens * 3
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return (torch.from_numpy(feats.astype(np.int64)), torch.from_numpy(offsets.astype(np.int64)),
            torch.from_numpy(data.glob[rows]), torch.from_numpy(np.ascontiguousarray(y)))


def predict(net: NNUENet, data: NNUEData, batch: int = 4096) -> np.ndarray:
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(data), batch):
            rows = np.arange(i, min(i + batch, len(data)))
            idx, off, glob, _ = _batch(data, rows, None, None, net.features if net.virtual else 0)
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
    for name, d in (("train", train), ("held", held)):
        if d.target.ndim == 2 and (perms is None or d.target.shape[1] != len(perms)):
            raise ValueError(f"train_nnue: {name}.target has a value for each of {d.target.shape[1]} images, but "
                             + (f"{board} has {len(perms)} symmetries" if perms is not None
                                else "the symmetries are off (cfg.symmetries)"))
    n_real = n_features(board_cells(board))
    net = NNUENet(n_real, cfg.hidden, cfg.l1, cfg.l2, n_virtual(board_cells(board)) if cfg.factorise else 0,
                  pairwise=cfg.pairwise)
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
            idx, off, glob, y = _batch(train, rows, perms, rng, n_real if cfg.factorise else 0)
            loss = torch.mean((net(idx, off, glob) - y) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.clamp_weights()
            total += float(loss.detach()) * len(rows)
            seen += len(rows)
        sched.step()
        mse = float(np.mean((predict(net, held) - held.played) ** 2)) if len(held) else float("nan")
        history.append({"epoch": epoch, "train_mse": round(total / max(seen, 1), 5), "heldout_mse": round(mse, 5),
                        "seconds": round(time.time() - t0, 1)})
        log(f"nnue epoch {epoch}: training MSE {total / max(seen, 1):.4f}, held-out {mse:.4f}")
        if mse < best:
            best = mse
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    return net, history


__all__ = ["NNUEData", "NNUENet", "NNUETrainConfig", "n_virtual", "predict", "train_nnue", "virtual_features"]
