"""A small policy/value network over the flat feature vector.

The policy is factored: a move ``(type, from, to)`` scores
``type_logit[type] + from_logit[from] + to_logit[to]`` and a softmax runs over
the legal moves only, so the output size is ``types + 2 (cells + 1)`` for any board
rather than one unit per possible move.  The value head returns the pre-tanh logit
``z``; the predicted outcome is ``tanh(z)`` (calibration rescales ``z``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    n_features: int
    n_cells: int
    n_move_types: int
    hidden: int = 256
    layers: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


class PolicyValueNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        blocks, width = [], cfg.n_features
        for _ in range(cfg.layers):
            blocks += [nn.Linear(width, cfg.hidden), nn.LayerNorm(cfg.hidden), nn.ReLU()]
            width = cfg.hidden
        self.trunk = nn.Sequential(*blocks)
        self.type_head = nn.Linear(width, cfg.n_move_types)
        self.from_head = nn.Linear(width, cfg.n_cells + 1)
        self.to_head = nn.Linear(width, cfg.n_cells + 1)
        self.value_head = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, features: torch.Tensor, moves: torch.Tensor, mask: torch.Tensor) -> tuple:
        """Move logits ``[B, K]`` (-inf where masked) and value logits ``[B]``."""
        h = self.trunk(features)
        t = self.type_head(h).gather(1, moves[..., 0])
        f = self.from_head(h).gather(1, moves[..., 1])
        d = self.to_head(h).gather(1, moves[..., 2])
        logits = (t + f + d).masked_fill(~mask, float("-inf"))
        return logits, self.value_head(h).squeeze(-1)
