"""The policy/value network: a residual CNN on the board's grid with global pooling.

* Hex boards run on their axial grid with 7-cell hexagonal kernels (3 x 3 kernels
  whose two non-neighbour taps are masked to zero); off-board grid points are kept at
  zero after every layer, and pooling averages over board cells only.
* Global pooling (KataGo, arXiv 1902.10565): every ``pool_every``-th residual block
  adds a per-channel bias computed from the mean and max of its input over the board,
  so local features see whole-board context (who is ahead, phase, counts).
* Heads: the exact policy (``policy.PolicyLayout``: per-cell channels plus global
  entries), a value per seat slot (``tanh``, rank-based utility, slot 0 = the mover),
  and two auxiliary targets with their own loss weights: the final owner of every
  cell's collapsed space (none or a seat slot) and each seat's final score margin.

Size presets (:data:`PRESETS`) are small enough for CPU selfplay on square8 and hex8.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .features import FEATURES
from .grid import grid_for, hex_kernel_mask
from .policy import GLOBAL_MOVES, layout_for

SLOTS = 4
OWNER_CLASSES = 1 + SLOTS  # none, slot 0..3


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """What builds a network (stored in every checkpoint)."""

    board: str
    blocks: int = 6
    channels: int = 64
    pool_every: int = 2  # residual blocks with a global-pooling bias (every n-th; 0: none)
    head_channels: int = 32
    value_hidden: int = 64
    features: str = FEATURES.identity

    def __post_init__(self):
        grid_for(self.board)  # raises for an unknown board
        if self.blocks < 1 or self.channels < 4 or self.head_channels < 1 or self.value_hidden < 1:
            raise ValueError("net config: blocks >= 1, channels >= 4, head_channels and value_hidden >= 1")
        if self.pool_every < 0:
            raise ValueError("net config: pool_every must be >= 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS = {
    "tiny": dict(blocks=2, channels=16, head_channels=8, value_hidden=16),
    "small": dict(blocks=4, channels=32, head_channels=16, value_hidden=32),
    "medium": dict(blocks=6, channels=64, head_channels=32, value_hidden=64),
    "large": dict(blocks=10, channels=96, head_channels=32, value_hidden=96),
}
# The default preset per board: CPU selfplay on the small boards.
BOARD_PRESET = {"square8": "small", "hex8": "small", "square19": "medium", "hexagonal": "medium"}


def net_config(board: str, preset: Optional[str] = None, **overrides) -> NetConfig:
    preset = preset or BOARD_PRESET[board]
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    return NetConfig(board=board, **{**PRESETS[preset], **overrides})


class BoardConv(nn.Conv2d):
    """3 x 3 convolution; on hex boards the two non-neighbour taps are zero."""

    def __init__(self, cin: int, cout: int, is_hex: bool, bias: bool = False):
        super().__init__(cin, cout, 3, padding=1, bias=bias)
        m = torch.from_numpy(hex_kernel_mask()) if is_hex else torch.ones(3, 3)
        self.register_buffer("tap_mask", m.view(1, 1, 3, 3), persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.tap_mask, self.bias, padding=1)


def _pool(x: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Mean and max over board cells: ``[B, C, H, W] -> [B, 2C]``, for ``x`` that is
    non-negative and zero off the board (every caller pools a ReLU output times the
    board mask).  Then the sum over the grid is the sum over the board and the grid's
    max the board's, so no mask is applied here: on the big boards masking again cost
    a few percent of a forward pass."""
    return torch.cat([x.sum(dim=(2, 3)) / count, x.amax(dim=(2, 3))], dim=1)


class ResBlock(nn.Module):
    def __init__(self, ch: int, is_hex: bool, pooled: bool):
        super().__init__()
        self.c1 = BoardConv(ch, ch, is_hex)
        self.b1 = nn.BatchNorm2d(ch)
        self.c2 = BoardConv(ch, ch, is_hex)
        self.b2 = nn.BatchNorm2d(ch)
        self.pool = nn.Linear(2 * ch, ch) if pooled else None

    def forward(self, x, mask, count):
        h = F.relu(self.b1(self.c1(x))) * mask
        if self.pool is not None:
            h = h + self.pool(_pool(h, count))[:, :, None, None]
        h = self.b2(self.c2(h))
        return F.relu(x + h) * mask


class RingNet(nn.Module):
    """``forward(planes [B, C, H, W], globals [B, G])`` -> dict of
    ``policy`` [B, P] logits over the whole layout, ``value`` [B, 4] in (-1, 1),
    ``ownership`` [B, 5, H, W] logits, ``score`` [B, 4]."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        grid = grid_for(cfg.board)
        self.layout = layout_for(cfg.board)
        ch = cfg.channels
        self.register_buffer("board_mask", torch.from_numpy(grid.valid.astype(np.float32))[None, None],
                             persistent=False)
        self.stem = BoardConv(FEATURES.n_planes, ch, grid.is_hex)
        self.stem_globals = nn.Linear(FEATURES.n_globals, ch)
        self.stem_bn = nn.BatchNorm2d(ch)
        self.blocks = nn.ModuleList(
            ResBlock(ch, grid.is_hex, cfg.pool_every > 0 and (i + 1) % cfg.pool_every == 0)
            for i in range(cfg.blocks))
        hc = cfg.head_channels
        self.policy_conv = nn.Sequential(nn.Conv2d(ch, hc, 1, bias=False), nn.BatchNorm2d(hc), nn.ReLU())
        self.policy_cells = nn.Conv2d(hc, self.layout.n_channels, 1)
        self.policy_global = nn.Linear(2 * hc, len(GLOBAL_MOVES))
        self.value = nn.Sequential(nn.Linear(2 * ch, cfg.value_hidden), nn.ReLU(), nn.Linear(cfg.value_hidden, SLOTS))
        self.score = nn.Sequential(nn.Linear(2 * ch, cfg.value_hidden), nn.ReLU(), nn.Linear(cfg.value_hidden, SLOTS))
        self.ownership = nn.Conv2d(ch, OWNER_CLASSES, 1)

    def forward(self, planes: torch.Tensor, glob: torch.Tensor, value_trunk_grad: float = 1.0) -> dict:
        """``value_trunk_grad`` (training only): the share of the value, score and
        ownership heads' gradient that flows back into the trunk; the outputs are the same
        whatever it is."""
        mask = self.board_mask.to(planes.dtype)
        count = mask.sum(dim=(2, 3))
        x = self.stem(planes) + self.stem_globals(glob)[:, :, None, None]
        x = F.relu(self.stem_bn(x)) * mask
        for block in self.blocks:
            x = block(x, mask, count)
        p = self.policy_conv(x) * mask
        cells = self.policy_cells(p).flatten(1)
        policy = torch.cat([cells, self.policy_global(_pool(p, count))], dim=1)
        if value_trunk_grad != 1.0:
            # The same values forward; backward, only this share of the gradient.
            x = x.detach() + value_trunk_grad * (x - x.detach()) if value_trunk_grad else x.detach()
        pooled = _pool(x, count)
        return {
            "policy": policy,
            "value": torch.tanh(self.value(pooled)),
            "ownership": self.ownership(x),
            "score": self.score(pooled),
        }


def _fold_bn(weight: torch.Tensor, bias: Optional[torch.Tensor], bn: nn.BatchNorm2d) -> tuple:
    """``(weight, bias)`` of a layer followed by batch norm ``bn`` (in eval mode), as one
    layer: the per-channel scale goes into the weights, the shift into the bias."""
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = weight * s.view(-1, *([1] * (weight.dim() - 1)))
    b = (bias if bias is not None else torch.zeros_like(s)) * s + bn.bias - bn.running_mean * s
    return w, b


def _fold_into(layer: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Fold ``bn`` into ``layer`` (a convolution or a linear layer) in place."""
    w, b = _fold_bn(layer.weight, layer.bias, bn)
    layer.weight.copy_(w)
    layer.bias = nn.Parameter(b)


def folded(net: "RingNet") -> "RingNet":
    """An inference copy of ``net`` with every batch norm folded into the convolution
    (or, for the stem's globals, the linear layer) before it: the same function in
    eval mode, one layer fewer per norm (about 4% of a small network's CPU forward
    pass).  ``net`` itself is left as it is (it may still train)."""
    import copy

    out = copy.deepcopy(net).eval()
    with torch.no_grad():
        # Stem: bn(conv(planes) + globals) = s * conv + (s * globals + beta - s * mean):
        # the conv (no bias) takes the scale, the globals' linear layer scale and shift.
        out.stem.weight.copy_(_fold_bn(out.stem.weight, None, out.stem_bn)[0])
        _fold_into(out.stem_globals, out.stem_bn)
        out.stem_bn = nn.Identity()
        for block in out.blocks:
            _fold_into(block.c1, block.b1)
            _fold_into(block.c2, block.b2)
            block.b1 = block.b2 = nn.Identity()
        _fold_into(out.policy_conv[0], out.policy_conv[1])
        out.policy_conv[1] = nn.Identity()
    return out


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


__all__ = ["BOARD_PRESET", "NetConfig", "OWNER_CLASSES", "PRESETS", "RingNet", "SLOTS", "count_parameters",
           "net_config"]
