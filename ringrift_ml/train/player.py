"""A player that moves by the candidate network's policy (no search).

It plays the legal move with the highest factored policy logit; ties (rare with
float logits) break by the seed.  Used to place a freshly trained model on the Elo
scale next to the search players."""

from __future__ import annotations

import numpy as np
import torch

from ..encoding import encode_moves, encode_state
from ..ai.base import MovePlayer
from ..rules.fast import FastGame
from .model import PolicyValueNet


class NeuralPolicyPlayer(MovePlayer):
    def __init__(self, net: PolicyValueNet, name: str = "neural"):
        self.net = net.eval()
        self.name = name

    @torch.no_grad()
    def choose_row(self, game: FastGame, budget, seed: int) -> np.ndarray:
        rows = game.legal()
        if len(rows) == 1:
            return rows[0]
        n_cells = game.spec.n_cells
        if n_cells != self.net.cfg.n_cells:
            raise ValueError(f"neural player: model is for {self.net.cfg.n_cells} cells, board has {n_cells}")
        feats = torch.from_numpy(encode_state(game.S, n_cells))[None]
        moves = torch.from_numpy(encode_moves(rows).astype(np.int64))[None]
        mask = torch.ones(moves.shape[:2], dtype=torch.bool)
        logits, _ = self.net(feats, moves, mask)
        logits = logits[0].numpy()
        best = np.flatnonzero(logits >= logits.max() - 1e-9)
        return rows[best[np.random.default_rng(seed).integers(len(best))]]
