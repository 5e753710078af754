"""The previous model, kept only as a baseline for ``train_eval.py --variants mlp``.

A flat encoding of the position relative to the player to act, and a small MLP with a
factored policy: a move ``(type, from, to)`` scores ``type_logit[type] +
from_logit[from] + to_logit[to]`` and a softmax runs over the legal moves only, so one
output layout fits every board.  The value head returns the pre-tanh logit ``z``.

Nothing in ``ringrift_ml`` uses this: the live network, its encoding and its training
are ``ringrift_ml.nn`` and ``ringrift_ml.train``.  It lives beside the benchmark that
measures against it so that the package carries one model, not two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ringrift_ml.ai.base import rank_value
from ringrift_ml.rules.records import start_state
from ringrift_ml.rules.replay import Replayer, ReplayError
from ringrift_ml.rules.view import (
    MOVE_TYPE_NAMES,
    PHASE_NAMES,
    StateView,
    move_from_cells,
    move_to_cells,
    move_types,
)

# ---- encoding -------------------------------------------------------------------------
SLOTS = 4
# Per slot: stack height, cap height (stacks it controls), marker, collapsed cell.
PLANES_PER_SLOT = 4
PLANES = SLOTS * PLANES_PER_SLOT + 1  # + the cell that must act (placed stack / capture origin)
GLOBALS = len(PHASE_NAMES) + SLOTS * 4 + 3  # phase, per slot (present, hand, eliminated, territory), pending
N_MOVE_TYPES = len(MOVE_TYPE_NAMES)
HEIGHT_SCALE = 8.0


def feature_size(n_cells: int) -> int:
    return PLANES * n_cells + GLOBALS


def encode_state(S: np.ndarray, n_cells: int) -> np.ndarray:
    """``float32[PLANES * n_cells + GLOBALS]``: per-cell planes by seat slot (slot 0 =
    the mover), then the phase, per slot presence / hand / eliminated / territory, and
    the pending elimination."""
    v = StateView(S, n_cells)
    n = v.num_players
    cur = v.current_player
    planes = np.zeros((PLANES, n_cells), dtype=np.float32)
    slot_of = np.full(5, -1, dtype=np.int64)
    for k in range(n):
        slot_of[(cur - 1 + k) % n + 1] = k
    ctrl, mk, cl = v.controllers, v.marker_owners, v.collapsed_owners
    heights, caps = v.stack_heights, v.cap_heights
    for p in range(1, n + 1):
        base = slot_of[p] * PLANES_PER_SLOT
        mine = ctrl == p
        planes[base + 0, mine] = heights[mine] / HEIGHT_SCALE
        planes[base + 1, mine] = caps[mine] / HEIGHT_SCALE
        planes[base + 2, mk == p] = 1.0
        planes[base + 3, cl == p] = 1.0
    if 0 <= v.must_act_cell < n_cells:
        planes[PLANES - 1, v.must_act_cell] = 1.0
    g = np.zeros(GLOBALS, dtype=np.float32)
    g[v.phase_index] = 1.0
    o = len(PHASE_NAMES)
    rpp = max(1, v.rings_per_player)
    for p in range(1, n + 1):
        b = o + slot_of[p] * 4
        g[b] = 1.0
        g[b + 1] = v.rings_in_hand(p) / rpp
        g[b + 2] = v.eliminated_rings(p) / max(1, v.elimination_threshold)
        g[b + 3] = v.territory(p) / max(1, v.territory_minimum)
    g[o + SLOTS * 4 + min(v.pending_index, 2)] = 1.0
    return np.concatenate([planes.ravel(), g])


def encode_moves(rows: np.ndarray) -> np.ndarray:
    """``(type, from + 1, to + 1)`` of each move row (0 where a move has no cell)."""
    out = np.empty((len(rows), 3), dtype=np.int16)
    frm, to = move_from_cells(rows), move_to_cells(rows)
    out[:, 0] = move_types(rows)
    out[:, 1] = np.where(frm >= 0, frm + 1, 0)
    out[:, 2] = np.where(to >= 0, to + 1, 0)
    return out


def outcome_for(ranks: dict, winner, num_players: int, player: int) -> float:
    """Final outcome from ``player``'s view in [-1, 1]: rank 1 -> +1, last -> -1, linear between."""
    if ranks:
        return rank_value(int(ranks[str(player)] if str(player) in ranks else ranks[player]), num_players)
    if winner is None:
        raise ValueError("outcome: the game has neither ranks nor a winner")
    return 1.0 if winner == player else -1.0


def game_samples(rec: dict) -> list:
    """One dict per decision position of a finished game record (forced moves teach
    nothing): ``features``, ``moves`` [K, 3], ``policy`` over them (the record's search
    policy when it has one, else one-hot on the move played), ``played`` and ``value``."""
    gid = rec.get("gameId")
    n = int(rec["numPlayers"])
    ranks, winner = rec.get("ranks"), rec.get("winner")
    policies = rec.get("policy") or []
    game = Replayer(start_state(rec))
    n_cells = game.spec.n_cells
    out = []
    for ply, md in enumerate(rec["moves"]):
        rows = game.rows()
        try:
            played = game.match(md)
        except ReplayError as e:
            raise ValueError(f"game {gid}, ply {ply}: {e}") from None
        if len(rows) > 1:
            player = StateView(game.S, n_cells).current_player
            target = np.zeros(len(rows), dtype=np.float32)
            if ply < len(policies) and policies[ply] is not None:
                for mj, p in policies[ply]:
                    try:
                        target[game.match(mj)] += p
                    except ReplayError as e:
                        raise ValueError(f"game {gid}, ply {ply}: policy names an illegal move: {e}") from None
                if not target.sum() > 0:
                    raise ValueError(f"game {gid}, ply {ply}: search policy sums to {target.sum()}")
                target /= target.sum()
            else:
                target[played] = 1.0
            out.append({"features": encode_state(game.S, n_cells), "moves": encode_moves(rows), "policy": target,
                        "played": played, "value": outcome_for(ranks, winner, n, player)})
        game.apply_index(played)
    return out


# ---- samples as tensors ---------------------------------------------------------------
@dataclass
class Samples:
    features: np.ndarray  # [S, F] float32
    moves: np.ndarray  # [M, 3] int16
    offsets: np.ndarray  # [S + 1]
    policy: np.ndarray  # [M] float32
    value: np.ndarray  # [S] float32
    game: np.ndarray  # [S] game index

    def __len__(self) -> int:
        return self.features.shape[0]

    @classmethod
    def of_records(cls, records: list) -> Samples:
        """The samples of game records; ``game`` is the record's index."""
        rows, game = [], []
        for g, rec in enumerate(records):
            s = game_samples(rec)
            rows.extend(s)
            game.extend([g] * len(s))
        lens = np.array([len(r["moves"]) for r in rows], dtype=np.int64)
        return cls(np.stack([r["features"] for r in rows]).astype(np.float32),
                   np.concatenate([r["moves"] for r in rows]).astype(np.int16),
                   np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
                   np.concatenate([r["policy"] for r in rows]).astype(np.float32),
                   np.array([r["value"] for r in rows], dtype=np.float32), np.asarray(game))

    def subset(self, mask: np.ndarray) -> Samples:
        idx = np.flatnonzero(mask)
        lens = np.diff(self.offsets)[idx]
        mv = np.concatenate([self.moves[self.offsets[i]:self.offsets[i + 1]] for i in idx])
        pl = np.concatenate([self.policy[self.offsets[i]:self.offsets[i + 1]] for i in idx])
        return Samples(self.features[idx], mv, np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), pl,
                       self.value[idx], self.game[idx])

    def split(self, holdout: float, seed: int) -> tuple:
        """Train / held-out index arrays, split by game (positions of one game are
        strongly correlated, so a game is wholly on one side)."""
        games = np.unique(self.game)
        if len(games) < 2:
            raise ValueError(f"samples: {len(games)} game(s); a held-out split needs at least 2")
        games = np.random.default_rng(seed).permutation(games)
        k = min(len(games) - 1, max(1, round(len(games) * holdout)))
        held = np.isin(self.game, games[:k])
        return np.flatnonzero(~held), np.flatnonzero(held)

    def batch(self, idx: np.ndarray) -> dict:
        """Tensors for samples ``idx``: moves padded to the batch's widest move list."""
        lens = self.offsets[idx + 1] - self.offsets[idx]
        k = int(lens.max())
        moves = np.zeros((len(idx), k, 3), dtype=np.int64)
        target = np.zeros((len(idx), k), dtype=np.float32)
        mask = np.zeros((len(idx), k), dtype=bool)
        for b, (i, n) in enumerate(zip(idx, lens)):
            a = self.offsets[i]
            moves[b, :n] = self.moves[a:a + n]
            target[b, :n] = self.policy[a:a + n]
            mask[b, :n] = True
        return {"features": torch.from_numpy(self.features[idx]), "moves": torch.from_numpy(moves),
                "mask": torch.from_numpy(mask), "policy": torch.from_numpy(target),
                "value": torch.from_numpy(self.value[idx])}


# ---- the network and its training -----------------------------------------------------
@dataclass(frozen=True)
class NetConfig:
    n_features: int
    n_cells: int
    n_move_types: int
    hidden: int = 256
    layers: int = 2


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


@torch.no_grad()
def value_logits(net: PolicyValueNet, data: Samples, idx: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    net.eval()
    out = []
    for a in range(0, len(idx), batch_size):
        b = data.batch(idx[a:a + batch_size])
        out.append(net(b["features"], b["moves"], b["mask"])[1].numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def train(data: Samples, n_cells: int, cfg: TrainConfig) -> tuple:
    """A fresh network trained on ``data`` (a fifth of its games held out for
    validation, the last epoch kept): ``(net, history)`` with epoch 0 before training."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_idx, held = data.split(cfg.holdout, cfg.seed)
    net = PolicyValueNet(NetConfig(data.features.shape[1], n_cells, N_MOVE_TYPES, cfg.hidden, cfg.layers))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = [{"epoch": 0, "train_loss": evaluate(net, data, train_idx)["loss"],
                **{f"val_{k}": v for k, v in evaluate(net, data, held).items()}}]
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
    return net, history
