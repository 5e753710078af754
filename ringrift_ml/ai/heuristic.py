"""The heuristic evaluator and player.

Weights are named, versioned vectors per board x player count, stored as JSON: the
packaged defaults (``weights/heuristic.json``) unless a caller names another file (a
storage root's tuned file, written by ``ringrift tune``; the shell's lookup of which
file a command plays is ``ringrift_ml.cli``'s, never this module's).  Each vector maps
feature names (see :data:`FEATURE_NAMES`) to weights, so files stay valid when features
are added.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np

from ..rules.fast import FastGame
from ._k_features import FEATURE_NAMES, N_FEATURES, child_values, heuristic_values
from .base import Budget, is_over, terminal_values, MovePlayer

DEFAULT_VERSION = "v1"

SETTLE_LIMIT = 16
"""Forced follow-ups of the mover played before a child is evaluated (bookkeeping
chains are far shorter)."""

PRIOR_TEMPERATURE = 0.02
"""Temperature of the heuristic's move prior, ``softmax(v(child) / T)`` over the
mover's value of each child in [-1, 1].  Chosen with ``benchmarks/target_signal.py``
(square8 2p; docs/players.md has the sweep): low enough that the prior orders the
moves (PUCT's selection and Gumbel's considered set then follow the position, not the
seed), high enough that moves of nearly equal value keep comparable mass."""


def packaged_weights_path() -> Path:
    """The default weights shipped with the package."""
    return Path(str(resources.files("ringrift_ml.ai") / "weights" / "heuristic.json"))


def load_weights(board: str, players: int, path: Optional[Path] = None, version: Optional[str] = None) -> dict:
    """The weight record for ``board`` and ``players``: ``{"version", "weights", "scale"}``.

    Falls back to the file's ``default`` entry when no tuned vector exists."""
    p = Path(path) if path else packaged_weights_path()
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"heuristic weights: cannot read {p}: {e}") from None
    key = f"{board}|{players}"
    entry = data.get("tuned", {}).get(key) or data.get("default")
    if entry is None:
        raise ValueError(f"heuristic weights: {p} has no entry for {key} and no default")
    if version is not None and entry.get("version") != version:
        raise ValueError(f"heuristic weights: {key} is version {entry.get('version')!r}, wanted {version!r}")
    unknown = set(entry["weights"]) - set(FEATURE_NAMES)
    if unknown:
        raise ValueError(f"heuristic weights: unknown feature(s) {sorted(unknown)} in {p}")
    return entry


def weight_vector(entry: dict) -> np.ndarray:
    return np.array([float(entry["weights"].get(name, 0.0)) for name in FEATURE_NAMES])


class HeuristicEvaluator:
    """Weighted features, squashed to seat values in ``[-1, 1]``; as a search's
    evaluator it also gives move priors, a softmax of the value of each child for the
    mover (``prior_temperature``; 0: none, the search's uniform prior)."""

    def __init__(self, weights: np.ndarray, scale: float = 1.0, version: str = DEFAULT_VERSION,
                 prior_temperature: float = PRIOR_TEMPERATURE):
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (N_FEATURES,):
            raise ValueError(f"weights: expected {N_FEATURES} values ({', '.join(FEATURE_NAMES)}), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights: must be finite")
        if not (np.isfinite(prior_temperature) and prior_temperature >= 0):
            raise ValueError(f"prior_temperature: must be a finite number >= 0, got {prior_temperature!r}")
        self.w = w
        self.scale = float(scale)
        self.version = version
        self.prior_temperature = float(prior_temperature)
        self._scratch = np.zeros((4, N_FEATURES))

    @classmethod
    def for_board(cls, board: str, players: int, path: Optional[Path] = None,
                  prior_temperature: float = PRIOR_TEMPERATURE) -> "HeuristicEvaluator":
        entry = load_weights(board, players, path)
        return cls(weight_vector(entry), float(entry.get("scale", 1.0)), entry.get("version", DEFAULT_VERSION),
                   prior_temperature)

    def values(self, game: FastGame) -> np.ndarray:
        if is_over(game):
            return terminal_values(game)
        n = game.num_players
        out = np.zeros(n)
        heuristic_values(game.S, game.spec.geo, self.w, self.scale, out, self._scratch)
        return out

    def compiled_leaf(self, game: FastGame) -> tuple:
        """``(kind, heuristic arguments, NNUE arguments)`` of a compiled search's leaf
        (``ai._k_alphabeta``)."""
        from . import _k_alphabeta as A

        return A.HEURISTIC, (self.w, self.scale, np.zeros(game.num_players), self._scratch), A.NO_NNUE

    def child_values(self, game: FastGame, rows: np.ndarray) -> np.ndarray:
        """``(K,)`` the mover's value of the position after each move (and the
        mover's forced follow-ups); exact for moves that end the game."""
        k = len(rows)
        out = np.zeros(k)
        done = np.zeros(k, dtype=np.bool_)
        child_values(game.S, game.spec.geo, rows, self.w, self.scale, SETTLE_LIMIT, out, done, self._scratch)
        if done.any():
            me = game.current_player - 1
            for i in np.flatnonzero(done):
                g = game.copy()
                g.apply(rows[i])
                _settle(g, me + 1)
                out[i] = terminal_values(g)[me]
        return out

    def priors(self, game: FastGame, rows: np.ndarray) -> Optional[np.ndarray]:
        if self.prior_temperature == 0 or len(rows) < 2:
            return None
        z = self.child_values(game, rows) / self.prior_temperature
        z = np.exp(z - z.max())
        return z / z.sum()


class HeuristicPlayer(MovePlayer):
    """One-ply greedy: play each legal move (and the forced replies of the same
    player), evaluate, keep the best; ties broken by the seed.  The children are
    evaluated by :meth:`HeuristicEvaluator.child_values` (one compiled call per
    ``_CHUNK`` moves, the budget checked between calls)."""

    def __init__(self, evaluator: HeuristicEvaluator, name: str = "heuristic"):
        self.evaluator = evaluator
        self.name = name

    def choose_row(self, game: FastGame, budget: Budget, seed: int) -> np.ndarray:
        rows = game.legal()
        if len(rows) == 1:
            return rows[0]
        rng = np.random.default_rng(seed)
        clock = budget.clock()
        order = rng.permutation(len(rows))
        if budget.nodes is not None:
            order = order[:budget.nodes]  # one node per evaluated move
        best, best_v = order[0], -np.inf
        for a in range(0, len(order), _CHUNK):
            if clock.exhausted():
                break
            part = order[a:a + _CHUNK]
            v = self.evaluator.child_values(game, rows[part])
            clock.tick(len(part))
            i = int(np.argmax(v))  # the first best in the seeded order, as across chunks
            if v[i] > best_v:
                best, best_v = part[i], v[i]
        return rows[best]


_CHUNK = 64  # moves per compiled evaluation between budget checks


def _settle(g: FastGame, player: int, limit: int = SETTLE_LIMIT) -> None:
    """Play the mover's forced follow-ups so the evaluation sees a quiet position."""
    for _ in range(limit):
        if g.is_over or g.current_player != player:
            return
        rows = g.legal()
        if len(rows) != 1:
            return
        g.apply(rows[0])
