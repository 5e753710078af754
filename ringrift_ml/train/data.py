"""The samples NPZ as tensors: padded legal-move batches for the factored policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class Samples:
    features: np.ndarray  # [S, F] float32
    moves: np.ndarray  # [M, 3] int16
    offsets: np.ndarray  # [S + 1]
    policy: np.ndarray  # [M] float32
    value: np.ndarray  # [S] float32
    game: np.ndarray  # [S] game index
    schema: dict

    def __len__(self) -> int:
        return self.features.shape[0]

    @classmethod
    def load(cls, path: Path) -> "Samples":
        path = Path(path)
        try:
            z = np.load(path)
            schema = json.loads(str(z["schema"]))
            out = cls(z["features"], z["legal_moves"], z["legal_offsets"], z["policy"], z["value"], z["game"],
                      schema)
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"samples {path}: not a samples NPZ ({e})") from None
        if schema.get("format") != "ringrift-lab/samples-npz":
            raise ValueError(f"samples {path}: format {schema.get('format')!r} is not ringrift-lab/samples-npz")
        return out

    def split(self, holdout: float, seed: int) -> tuple:
        """Train / held-out index arrays, split by game: positions of one game are
        strongly correlated, so a game is wholly on one side."""
        games = np.unique(self.game)
        if len(games) < 2:
            raise ValueError(f"samples: {len(games)} game(s); a held-out split needs at least 2")
        games = np.random.default_rng(seed).permutation(games)
        k = min(len(games) - 1, max(1, int(round(len(games) * holdout))))
        held = np.isin(self.game, games[:k])
        return np.flatnonzero(~held), np.flatnonzero(held)

    def batch(self, idx: np.ndarray) -> dict:
        """Tensors for samples ``idx``: moves padded to the batch's widest move list."""
        lens = self.offsets[idx + 1] - self.offsets[idx]
        K = int(lens.max())
        B = len(idx)
        moves = np.zeros((B, K, 3), dtype=np.int64)
        target = np.zeros((B, K), dtype=np.float32)
        mask = np.zeros((B, K), dtype=bool)
        for b, (i, n) in enumerate(zip(idx, lens)):
            a = self.offsets[i]
            moves[b, :n] = self.moves[a:a + n]
            target[b, :n] = self.policy[a:a + n]
            mask[b, :n] = True
        return {
            "features": torch.from_numpy(self.features[idx]),
            "moves": torch.from_numpy(moves),
            "mask": torch.from_numpy(mask),
            "policy": torch.from_numpy(target),
            "value": torch.from_numpy(self.value[idx]),
        }
