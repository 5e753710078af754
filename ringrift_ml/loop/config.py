"""The closed loop's settings: one frozen config per partition's loop."""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from ..cluster import LOCAL
from ..rules import BOARD_TYPES


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """One partition's generations: selfplay with the best, train, gate, promote."""

    board: str
    players: int
    games: int = 100
    """Selfplay games per generation."""
    simulations: int = 64
    """Search budget of selfplay and of the gate (equal for both sides)."""
    bootstrap: str = ""
    """The player of generation 0's selfplay and the first gate's opponent (no model yet);
    empty: ``mcts:<simulations>``, the heuristic-prior search at the loop's budget."""
    full_search_prob: float = 1.0
    """Playout-cap randomization of the network's selfplay (1: every decision a full search)."""
    window: int = 4
    """Replay window: the newest generations whose samples train a candidate (0: all)."""
    window_positions: int = 0
    """Replay window in positions: of the ``window`` newest generations, the newest that
    hold at least this many positions together (0: all of them)."""
    recency: float = 1.0
    """Each older generation's samples weigh this times the next newer one's."""
    reuse: float = 0.0
    """Training budget as a reuse ratio: the candidate draws about ``reuse`` times its
    window's training positions (its ``max_steps``; early stopping may end it sooner);
    0: the training config's epochs decide.  Caps training's share of a generation's CPU."""
    train_share: float = 0.25
    """Training's share of a generation's CPU, at most: its step budget is what the
    partition's last measured training rate (positions per CPU second) does in
    ``train_share / (1 - train_share)`` times the CPU the generation spent on data before
    training (its selfplay, and the ladder games kept as data since the previous
    generation), less the ladder's CPU on games not kept.  The gate's games, when they
    join the training data (``gate_games_train``), only add to the data side, so
    ``data_share`` stays at about ``1 - train_share`` or above whatever the gate does.
    0: no cap (``reuse`` and the epochs decide).  Needs the generation's selfplay CPU
    (``ringrift loop`` and the ``loop_generation`` asset measure it)."""
    continue_rejected: bool = True
    """While no network is promoted, each candidate starts from the newest gated
    candidate's weights (a rejected one) instead of from scratch, so training
    accumulates across generations as AlphaGo Zero's trainer does (its optimiser never
    restarts; the gate only decides which network plays selfplay).  On the big boards a
    generation's training share buys under one pass over the window, and candidates
    trained from scratch each time never got past the bootstrap search (docs/loop.md).
    False: from scratch until the first promotion."""
    train: tuple = ()
    """TrainConfig overrides as ``(name, value)`` pairs (e.g. ``(("epochs", 12),)``)."""
    warm_train: tuple = ()
    """Further TrainConfig overrides when the candidate starts from trained weights (the
    best's, or a rejected candidate's under ``continue_rejected``; e.g. a lower learning
    rate; docs/loop.md has what a lower rate did)."""
    gate_min_games: int = 40
    """The gate decides no earlier (seats rotate; KataGo's gatekeeper played 200).  In
    3-4 player games the candidate sits in one seat and the best in the others; a game
    scores the candidate's mean pairwise result from the final ranks."""
    gate_max_games: int = 200
    """The test's horizon: undecided after this many games, ``gate_truncation`` decides."""
    gate_truncation: str = "llr"
    """At the horizon: ``"llr"`` promotes when the test statistic leans to the alternative
    (LLR > 0, a score above the hypotheses' midpoint, ~52.5% for 0/35 Elo), the usual
    truncated SPRT; ``"reject"`` rejects every undecided candidate.  Within 200 games an
    SPRT(0, 35) at 5%/5% rarely reaches a boundary: ``reject`` promotes a truly +35 Elo
    candidate about 13% of the time, ``llr`` about 75%, and an equal one 0.5% against 22%
    (KataGo's gatekeeper, >= 50% over 200 games, about 50%); ``benchmarks/gate_oc.py``."""
    elo0: float = 0.0
    """SPRT null hypothesis: the candidate is this many Elo above the best."""
    elo1: float = 35.0
    """SPRT alternative: this many Elo above."""
    gate_random_opening: int = 2
    """Random decisions at the start of each gate game (deterministic players meet in different games)."""
    gate_games_train: bool = True
    """Keep the gate's games (both sides search with ``simulations``; their decisions
    carry search targets) as training data of the next generation, next to its selfplay:
    the gate, the costliest step, then also makes data (docs/loop.md, data share)."""
    ladder_games: int = 40
    """After each promotion: games per new ladder rung, then the regression watch (0: off)."""
    ladder_predecessor_games: int = 160
    """Games of the rung that sets a promotion against its predecessor (the first: the
    bootstrap's search; 0: ``ladder_games``).  The regression watch judges that
    difference: 40 games resolve it to about 100 Elo (95%), wider than the gaps the
    strict gate promotes, and rated 2 and 1 of two seeds' 12 promotions below their
    predecessor; at 160 (a standard error of about 27 Elo), 0 and 1, the one 15 Elo
    below (docs/loop.md, "The ladder's rung against the predecessor").  Its games are
    training data like the other rungs'."""
    ladder_games_train: bool = True
    """Keep the ladder's games of the promoted generation (its network searching at
    ``simulations`` against its predecessor and ``heuristic``; only searched decisions
    are training positions) as training data of the next generation, so the ladder's CPU
    also makes data (docs/loop.md, data share)."""
    batch_games: int = 16
    """Games in flight (network evaluations batched)."""
    workers: int = 1
    """Selfplay worker processes (one torch thread each); game ``i`` is the same game
    whichever worker plays it."""
    ray_address: str = ""
    """Selfplay, gate and ladder games on a Ray cluster (``auto``, ``local`` or
    ``<head>:<port>``; docs/cluster.md): ``workers`` actors of one CPU each play them, the
    driver runs the tests and writes the games to the lake.  Training runs on the
    driver.  Empty: everything on this machine."""
    seed: int = 0
    """Seeds selfplay, training and the gate of every generation (each derived with the generation number)."""
    device: str = "cpu"
    """Where networks run: cpu, cuda[:N] or mps."""

    def __post_init__(self):
        if not self.bootstrap:  # the one place the default bootstrap player is decided
            object.__setattr__(self, "bootstrap", f"mcts:{self.simulations}")
        if self.board not in BOARD_TYPES:
            raise ValueError(f"loop config: board {self.board!r} is not one of {', '.join(BOARD_TYPES)}")
        if self.players not in (2, 3, 4):
            raise ValueError(f"loop config: players must be 2, 3 or 4, got {self.players!r}")
        for name in ("ladder_games", "ladder_predecessor_games"):
            if getattr(self, name) < 0:
                raise ValueError(f"loop config: {name} must be >= 0, got {getattr(self, name)}")
        for name in ("games", "simulations", "gate_max_games", "batch_games", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"loop config: {name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.gate_min_games <= self.gate_max_games:
            raise ValueError("loop config: need 0 <= gate_min_games <= gate_max_games")
        if not self.elo1 > self.elo0:
            raise ValueError("loop config: elo1 must exceed elo0")
        from ..arena import TRUNCATIONS

        if self.gate_truncation not in TRUNCATIONS:
            raise ValueError(f"loop config: gate_truncation must be one of {', '.join(TRUNCATIONS)}, "
                             f"got {self.gate_truncation!r}")
        if self.window < 0 or not 0 < self.recency <= 1 or not 0 < self.full_search_prob <= 1:
            raise ValueError("loop config: window >= 0, 0 < recency <= 1 and 0 < full_search_prob <= 1 required")
        if not 0 <= self.train_share < 1:
            raise ValueError(f"loop config: train_share must be in [0, 1), got {self.train_share}")
        if self.window_positions < 0 or self.reuse < 0:
            raise ValueError(f"loop config: window_positions and reuse must be >= 0, got {self.window_positions} "
                             f"and {self.reuse}")
        from ..ai.factory import parse_player

        if parse_player(self.bootstrap).uses_network:
            raise ValueError(f"loop config: bootstrap {self.bootstrap!r} must not need a model")
        self.train_config(None)  # validates the overrides
        self.train_config(None, warm=True)

    @property
    def partition(self) -> str:
        """The partition's key (``square8|2``)."""
        from ..partition import Partition

        return Partition(self.board, self.players).key

    @property
    def predecessor_rung_games(self) -> int:
        """Games of a promotion's rung against its predecessor."""
        return self.ladder_predecessor_games or self.ladder_games

    @property
    def ladder_games_per_promotion(self) -> int:
        """Ladder games one promotion adds: its rung against ``heuristic`` and the one
        against its predecessor."""
        return self.ladder_games + self.predecessor_rung_games if self.ladder_games else 0

    def train_config(self, seed: Optional[int], warm: bool = False, window_positions: int = 0,
                     budget_positions: Optional[float] = None):
        """The candidate's TrainConfig (``warm``: it starts from the best's weights;
        ``window_positions``: its window's positions, of which the training share
        (``1 - holdout``) times ``reuse`` becomes ``max_steps`` x batch;
        ``budget_positions``: the positions ``train_share``'s CPU budget pays for, which
        caps ``max_steps`` x batch too).  A ``max_steps`` among the overrides wins."""
        from ..train.config import TrainConfig

        over = {**dict(self.train), **(dict(self.warm_train) if warm else {})}
        if seed is not None:
            over.setdefault("seed", seed)
        batch = int(over.get("batch_size", TrainConfig.batch_size))
        caps = []
        if self.reuse and window_positions:
            train = window_positions * (1 - float(over.get("holdout", TrainConfig.holdout)))
            caps.append(max(1, int(round(self.reuse * train / batch))))
        if budget_positions is not None:
            caps.append(max(1, int(budget_positions // batch)))
        if caps:
            over.setdefault("max_steps", min(caps))
        if "threads" not in over and self.workers > 1 and self.ray_address in ("", LOCAL):
            # The worker processes (or this machine's actors) idle while the candidate
            # trains: its torch threads take their cores, at most the machine's.  Threads
            # decide how fast, not what, it trains (TrainConfig.same_training).
            over["threads"] = max(1, min(self.workers, os.cpu_count() or 1))
        try:
            return TrainConfig(**{"tensorboard": False, **over})
        except TypeError as e:
            raise ValueError(f"loop config: train{'/warm_train' if warm else ''}: {e}") from None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["train"] = dict(self.train)
        d["warm_train"] = dict(self.warm_train)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LoopConfig":
        """The config :meth:`to_dict` wrote (e.g. a registry row's ``config``)."""
        d = dict(d)
        d["train"] = tuple((d.get("train") or {}).items())
        d["warm_train"] = tuple((d.get("warm_train") or {}).items())
        try:
            return cls(**d)
        except TypeError as e:
            raise ValueError(f"loop config: {e}") from None


__all__ = ["LoopConfig"]
