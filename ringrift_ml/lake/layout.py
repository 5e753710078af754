"""What a partition is, and where everything lives under a storage root.

The pipeline is partitioned by board x player count (12 partitions);
:class:`~ringrift_ml.partition.Partition` (re-exported here) names one.

A :class:`Layout` is the one map of a storage root::

    <root>/lake/...                          the DuckLake (``LakeStore``)
    <root>/landing/                          files dropped for ingestion
    <root>/lake/incoming/, lake/files/       landed files staged, and ingested (by SHA-256)
    <root>/quarantine/                       rejected files with their reasons
    <root>/dagster_home/                     the Dagster instance of ringrift-pipeline
    <root>/models/<stem>/loop/gNNNN/         generation N's training run; its model.pt is
                                             the candidate the registry names
    <root>/exports/<stem>/<sample set>.npz   sample sets exported for other tools
    <root>/weights/heuristic.json            the tuned heuristic weights (all partitions)
    <root>/weights/versions/                 every weights file ever accepted, by content
    <root>/tuning/<stem>/<config hash>/      CMA-ES state of one tuning run
    <root>/plots/                            figures written by the ladder
    <root>/loop/budget.json                  what the loop sensor keeps running

:func:`storage_root` resolves the root once (argument, ``$RINGRIFT_STORAGE``,
``./storage``) for the command line and the Dagster resource alike.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..partition import PLAYER_COUNTS, Partition

STORAGE_ENV = "RINGRIFT_STORAGE"
DEFAULT_STORAGE = "storage"


def storage_root(root=None) -> Path:
    """The storage root: ``root`` if given, else ``$RINGRIFT_STORAGE``, else ``./storage`` (absolute)."""
    return Path(root or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE).resolve()


@dataclasses.dataclass(frozen=True)
class Layout:
    """Every path under one storage root (see the module docstring).  Methods only
    compute paths; callers create what they write."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())

    @classmethod
    def at(cls, root=None) -> "Layout":
        """The layout of :func:`storage_root` ``(root)``."""
        return cls(storage_root(root))

    # ---- models ------------------------------------------------------------------------
    def models(self, p: Partition) -> Path:
        return self.root / "models" / p.stem

    def candidate_of(self, p: Partition, g: int) -> Path:
        """Generation ``g``'s candidate checkpoint (what its training run saves)."""
        return self.generation_dir(p, g) / "model.pt"

    def candidates(self, p: Partition) -> list:
        """``[(g, checkpoint)]`` of every generation whose training run saved its candidate, oldest first."""
        found = [(int(q.parent.name[1:]), q) for q in self.models(p).glob("loop/g[0-9]*/model.pt")
                 if q.parent.name[1:].isdigit()]
        return sorted(found)

    def generation_dir(self, p: Partition, g: int) -> Path:
        """Generation ``g``'s training run (its ``model.pt`` is what the registry names)."""
        if g < 0:
            raise ValueError(f"generation: must be >= 0, got {g}")
        return self.models(p) / "loop" / f"g{g:04d}"


    # ---- data ----------------------------------------------------------------------------
    def export(self, p: Partition, sample_set_id: str) -> Path:
        return self.root / "exports" / p.stem / f"{sample_set_id}.npz"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def incoming(self) -> Path:
        """Landed files staged under their SHA-256, waiting for ingestion."""
        return self.root / "lake" / "incoming"

    @property
    def landed_files(self) -> Path:
        """Landed files whose games are in the lake."""
        return self.root / "lake" / "files"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def scratch(self) -> Path:
        """Files a step writes before one commit takes them in (removed after it)."""
        return self.root / "lake" / "scratch"

    # ---- heuristic weights ---------------------------------------------------------------
    @property
    def weights_file(self) -> Path:
        """The tuned heuristic weights of every partition (``tuned['<board>|<n>']``)."""
        return self.root / "weights" / "heuristic.json"

    @property
    def weights_versions(self) -> Path:
        return self.root / "weights" / "versions"

    def weights_version(self, version: str) -> Path:
        """One weights file ever accepted or tried, by its content hash."""
        return self.weights_versions / f"{version}.json"

    def tuning_dir(self, p: Partition, config_hash: str) -> Path:
        return self.root / "tuning" / p.stem / config_hash

    def tuning_candidate(self, p: Partition, config_hash: str) -> Path:
        """A tuning run's result merged into a copy of the current weights (what its confirming test plays)."""
        return self.tuning_dir(p, config_hash) / "candidate_weights.json"

    @property
    def alerts_log(self) -> Path:
        """Every alert raised for this storage root, one JSON line each (``ringrift_ml.alerts``)."""
        return self.root / "alerts" / "alerts.jsonl"

    # ---- NNUE ------------------------------------------------------------------------------
    def nnue_dir(self, p: Partition) -> Path:
        return self.root / "nnue" / p.stem

    def nnue_current(self, p: Partition) -> Path:
        """The partition's accepted NNUE (what ``minimax-nnue`` players of the graph use)."""
        return self.nnue_dir(p) / "current.nnue.npz"

    def nnue_candidate(self, p: Partition) -> Path:
        """The newest trained NNUE before its match (replaces the current one only if it passes)."""
        return self.nnue_dir(p) / "candidate.nnue.npz"

    @property
    def loop_budget(self) -> Path:
        """The loop sensor's budget: ``{"<board>|<n>": {"generations": N, "hours": H, "config": {...}}}``."""
        return self.root / "loop" / "budget.json"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance of ``ringrift-pipeline`` (``$DAGSTER_HOME`` wins there)."""
        return self.root / "dagster_home"

    # ---- figures -------------------------------------------------------------------------
    def ladder_plot(self, p: Partition) -> Path:
        return self.root / "plots" / f"ladder_{p.stem}.svg"

    @staticmethod
    def run_file(model_path, name: str) -> Path:
        """A file kept beside a candidate in its training run (``loss.png``, ``calibration.json`` ...)."""
        return Path(model_path).parent / name

    def relative(self, path) -> str:
        """``path`` relative to the root (as the registry stores it); an error if outside."""
        try:
            return str(Path(path).resolve().relative_to(self.root))
        except ValueError:
            raise ValueError(f"{path} is not under the storage root {self.root}") from None


__all__ = ["DEFAULT_STORAGE", "Layout", "PLAYER_COUNTS", "Partition", "STORAGE_ENV", "storage_root"]
