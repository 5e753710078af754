"""The random player."""

from __future__ import annotations

import numpy as np

from ..rules.fast import FastGame
from .base import Budget, MovePlayer


class RandomPlayer(MovePlayer):
    """Uniform over the legal moves, reproducible from the seed."""

    name = "random"

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows = game.legal()
        return rows[np.random.default_rng(seed).integers(len(rows))]
