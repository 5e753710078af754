"""Inference with the spatial network: positions in, move probabilities and seat values out.

:class:`NetRunner` evaluates a batch of positions in one forward pass and returns, for
each, the probability of every legal move row (the softmax of the policy logits over
the position's decisions; rows that are one decision share its probability equally)
and the value of every seat in absolute seat order.  With ``symmetries=True`` the
network also sees every transformed position of the rules' symmetry group and the
logits and values are averaged (each decision found again in the transformed position
with the engine, as in training); it costs one forward pass per group element.
"""

from __future__ import annotations

import numpy as np
import torch

from ..rules.fast import FastGame
from ..rules.view import StateView
from ._k_encode import unique_inverse
from .augment import sym_legal_indices, symmetry_perms
from .features import encode, slot_of_players, to_grid
from .grid import grid_for
from .net import RingNet, folded
from .policy import move_indices


class NetRunner:
    def __init__(self, net, symmetries: bool = False, device: str = "cpu", temperature: float = 1.0):
        # Inference only: batch norms folded into the layers before them (nn.net.folded).
        self.net = (folded(net) if isinstance(net, RingNet) else net.eval()).to(device)
        self.board = net.cfg.board
        self.grid = grid_for(self.board)
        self.symmetries = symmetries
        self.device = device
        self.temperature = temperature
        self.perms = symmetry_perms(self.board) if symmetries else None
        self.positions = 0

    @torch.no_grad()
    def __call__(self, items: list) -> list:
        """``items``: ``(FastGame or GameState, legal rows)`` pairs of this board.
        Returns ``(row probabilities, seat values [players])`` per item."""
        if not items:
            return []
        prepared = []
        planes, globs = [], []
        for state, rows in items:
            S = state.S
            n_cells = self.grid.n_cells
            if state.spec.name != self.board:
                raise ValueError(f"network for {self.board} asked about a {state.spec.name} position")
            idx = move_indices(self.board, S, rows)
            legal, inverse = unique_inverse(idx)
            p, g = encode(S, n_cells)
            if self.symmetries:
                gs = state.state() if isinstance(state, FastGame) else state
                sym = sym_legal_indices(gs, rows, legal, inverse)
                for k, perm in enumerate(self.perms):
                    moved = np.empty_like(p)
                    moved[:, perm] = p
                    planes.append(moved)
                    globs.append(g)
            else:
                sym = legal[None, :]
                planes.append(p)
                globs.append(g)
            prepared.append((S, rows, legal, inverse, sym))
        x = torch.from_numpy(to_grid(np.stack(planes), self.grid)).to(self.device)
        gl = torch.from_numpy(np.stack(globs)).to(self.device)
        out = self.net(x, gl)
        logits = out["policy"].float().cpu().numpy()
        values = out["value"].float().cpu().numpy()
        self.positions += len(planes)
        k = len(self.perms) if self.symmetries else 1
        res = []
        for i, (S, rows, legal, inverse, sym) in enumerate(prepared):
            if k == 1:
                lg = logits[i][legal]
                v = values[i]
            else:
                block = logits[i * k:(i + 1) * k]
                lg = np.mean([block[j][sym[j]] for j in range(k)], axis=0)
                v = values[i * k:(i + 1) * k].mean(0)
            if self.temperature != 1.0:
                lg = lg / self.temperature
            pd = np.exp(lg - lg.max())
            pd /= pd.sum()
            counts = np.bincount(inverse, minlength=len(legal))
            row_p = pd[inverse] / counts[inverse]
            view = StateView(S, self.grid.n_cells)
            n = view.num_players
            slot = slot_of_players(n, view.current_player)
            seat_v = np.array([v[slot[p]] for p in range(1, n + 1)], dtype=np.float64)
            res.append((row_p, seat_v))
        return res


__all__ = ["NetRunner"]
