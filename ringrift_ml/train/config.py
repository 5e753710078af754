"""The training configuration: one typed, frozen dataclass.

Everything else derives from it: the Dagster config of ``candidate_model`` is built
from these fields (``ringrift_assets.model``), ``ringrift train --config FILE`` reads
them from JSON, and every checkpoint stores them.  An unknown field or a bad value is a
``ValueError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional

SCHEDULES = ("cosine", "restarts", "constant")
AMP_MODES = ("auto", "bf16", "off")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a network is trained (see ``docs/training.md`` for what each does)."""

    preset: Optional[str] = None
    """Network size preset (``tiny``, ``small``, ``medium``, ``large``); None: the board's default."""
    epochs: int = 20
    """Passes over the training positions (early stopping may end the run sooner)."""
    batch_size: int = 128
    """Positions per optimiser step (per process under torchrun)."""
    lr: float = 2e-3
    """Peak learning rate of AdamW (reached after ``warmup_steps``)."""
    weight_decay: float = 1e-3
    """AdamW's decoupled weight decay."""
    warmup_steps: int = 50
    """Optimiser steps of linear learning-rate warm-up."""
    schedule: str = "cosine"
    """``cosine`` decay to zero, ``restarts`` (cosine with warm restarts every ``restart_epochs``), ``constant``."""
    restart_epochs: int = 5
    """``restarts`` schedule: epochs per cosine cycle."""
    grad_clip: float = 1.0
    """Gradient norm clip (0: off)."""
    label_smoothing: float = 0.0
    """Share of the policy target spread uniformly over the legal moves."""
    soft_targets: bool = True
    """Learn the record's search distribution where it has one (else one-hot on the move played)."""
    policy_weight: float = 1.0
    """Weight of the policy cross-entropy in the loss."""
    value_weight: float = 0.5
    """Weight of the value MSE in the loss."""
    value_target_mix: float = 0.0
    """Share of the value target taken from the recorded search's root value where the
    position has one (the rest: the game's outcome).  The outcome of one game is a noisy
    label shared by all its positions; the search's value is a less noisy one.  Held-out
    value figures are always against the outcome."""
    value_trunk_grad: float = 1.0
    """Share of the value, score and ownership heads' gradient that reaches the shared
    trunk (0: those heads learn on the features the policy trains, and cannot make the
    trunk memorise each game's one outcome; 1: ordinary joint training)."""
    ownership_weight: float = 0.1
    """Weight of the auxiliary final-ownership loss (who owns each cell at the end)."""
    score_weight: float = 0.1
    """Weight of the auxiliary final-score loss."""
    ema: bool = True
    """Keep an exponential moving average of the weights and evaluate and save it."""
    ema_decay: float = 0.99
    """Per-step decay of the weights' moving average."""
    swa: bool = False
    """Stochastic weight averaging over the last epochs (from ``swa_start`` of the run)."""
    swa_start: float = 0.75
    """Share of the run after which SWA averages."""
    early_stopping: int = 4
    """Stop after this many epochs without a better held-out loss (0: off); the best epoch is kept."""
    holdout: float = 0.15
    """Share of games (never positions of one game on both sides) held out."""
    seed: int = 0
    """Seeds initialisation, the held-out split, sampling and augmentation."""
    amp: str = "auto"
    """``bf16`` autocast, ``off``, or ``auto``: bf16 on CUDA, off elsewhere."""
    device: str = "auto"
    """``auto`` picks cuda, then mps, then cpu."""
    threads: int = 1
    """CPU threads for torch in this process (the default of all cores thrashes on a loaded 2-core machine)."""
    augment: bool = True
    """Train on a random symmetry of each position (the rules' symmetry group of the board)."""
    hard_mining: bool = False
    """Draw ``hard_fraction`` of each epoch from the positions with the largest loss in the last epoch."""
    hard_fraction: float = 0.25
    """Share of an epoch drawn from the hardest positions under ``hard_mining``."""
    window: int = 0
    """Newest sample sets to train on (0: all of the partition's)."""
    recency: float = 1.0
    """Sampling weight of each older sample set relative to the next newer one (1: equal)."""
    checkpoint_every: int = 100
    """Steps between resumable training checkpoints (0: at epoch ends only)."""
    max_steps: int = 0
    """Stop after this many optimiser steps in total (0: no limit)."""
    tensorboard: bool = True
    """Write TensorBoard event files under the run folder."""
    prometheus_port: int = 0
    """Serve training metrics for Prometheus on this port (0: off)."""

    def __post_init__(self):
        checks = [
            ("epochs", self.epochs >= 1), ("batch_size", self.batch_size >= 1), ("lr", self.lr > 0),
            ("weight_decay", self.weight_decay >= 0), ("warmup_steps", self.warmup_steps >= 0),
            ("schedule", self.schedule in SCHEDULES), ("restart_epochs", self.restart_epochs >= 1),
            ("grad_clip", self.grad_clip >= 0), ("label_smoothing", 0 <= self.label_smoothing < 1),
            ("policy_weight", self.policy_weight >= 0), ("value_weight", self.value_weight >= 0),
            ("value_target_mix", 0 <= self.value_target_mix <= 1),
            ("value_trunk_grad", 0 <= self.value_trunk_grad <= 1),
            ("ownership_weight", self.ownership_weight >= 0), ("score_weight", self.score_weight >= 0),
            ("ema_decay", 0 < self.ema_decay < 1), ("swa_start", 0 <= self.swa_start < 1),
            ("early_stopping", self.early_stopping >= 0), ("holdout", 0 < self.holdout < 1),
            ("seed", self.seed >= 0), ("amp", self.amp in AMP_MODES), ("device", self.device in DEVICES),
            ("threads", self.threads >= 1), ("hard_fraction", 0 < self.hard_fraction < 1),
            ("window", self.window >= 0), ("recency", 0 < self.recency <= 1),
            ("checkpoint_every", self.checkpoint_every >= 0), ("max_steps", self.max_steps >= 0),
            ("prometheus_port", 0 <= self.prometheus_port < 65536),
        ]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"train config: {name} = {getattr(self, name)!r} is out of range")
        if self.preset is not None:
            from ..nn.net import PRESETS

            if self.preset not in PRESETS:
                raise ValueError(f"train config: preset must be one of {sorted(PRESETS)} or null, got {self.preset!r}")

    def same_training(self, other: "TrainConfig", *ignore: str) -> bool:
        """Whether ``other`` trains what this config trains: equal but for the thread
        count (it decides how fast, not what, a run trains) and the fields in ``ignore``.
        What a saved training state may be resumed under."""
        return dataclasses.replace(self, **{name: getattr(other, name) for name in ("threads", *ignore)}) == other

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any, where: str = "train config") -> "TrainConfig":
        if not isinstance(d, dict):
            raise ValueError(f"{where}: expected a JSON object of training options")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise ValueError(f"{where}: unknown option(s) {unknown}; known: {sorted(fields)}")
        for k, v in d.items():
            want = fields[k].type
            ok = (v is None and "Optional" in str(want)) or _type_ok(v, str(want))
            if not ok:
                raise ValueError(f"{where}: {k} = {v!r} is not {want}")
        return cls(**d)

    @classmethod
    def from_file(cls, path: Path) -> "TrainConfig":
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"train config {path}: cannot read it as JSON ({e})") from None
        return cls.from_dict(d, f"train config {path}")


def _type_ok(v: Any, want: str) -> bool:
    if "bool" in want:
        return type(v) is bool
    if "int" in want:
        return type(v) is int
    if "float" in want:
        return type(v) in (int, float)
    if "str" in want:
        return isinstance(v, str)
    return True


__all__ = ["AMP_MODES", "DEVICES", "SCHEDULES", "TrainConfig"]
