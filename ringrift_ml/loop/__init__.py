"""The closed loop: generations of selfplay, training, gating and promotion per
partition, with the model registry in the lake (``lake.model_registry``)."""

from .config import LoopConfig
from .generations import PROMOTED, REJECTED, current_best, registry
from .run import run_generation, run_loop

__all__ = ["LoopConfig", "PROMOTED", "REJECTED", "current_best", "registry", "run_generation", "run_loop"]
