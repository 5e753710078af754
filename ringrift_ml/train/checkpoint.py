"""Resumable training state, and the judgement of a trained network's record.

Network checkpoints themselves (``save_net``, ``read_net``, ``load_net``, ``copy_net``)
are :mod:`ringrift_ml.nn.checkpoint`: a model is read by players, gates and assets that
have nothing to do with training.

Training state (``train_state.<digest>.pt`` / ``train_state.json`` in a run's folder)
is the same kind of pair as a network checkpoint: the model, optimiser, EMA and best
weights as tensors, the position in the run and the history as JSON - enough to resume
a killed run to the same final weights.  The JSON is written last and names its tensor
file, so a kill while saving leaves the previous state intact.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..nn.checkpoint import metadata_path, read_pair, write_pair

STATE_FORMAT = "ringrift-lab/train-state"
STATE_FORMAT_VERSION = 1


def save_state(path: Path, tensors: dict, info: dict) -> None:
    """Resumable training state: ``tensors`` (nested dicts of tensors and numbers) and
    ``info`` (JSON)."""
    write_pair(Path(path), tensors, {"format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION, **info},
               versioned=True)


def state_exists(path: Path) -> bool:
    """Whether a training state was saved at ``path`` (its JSON is the commit point)."""
    return metadata_path(Path(path)).is_file()


def state_record(path: Path) -> dict:
    """The saved training state's record (config, data fingerprint, CPU spent, ...)
    without its tensors."""
    import json

    return _record(json.loads(metadata_path(Path(path)).read_text()))


def load_state(path: Path) -> tuple:
    obj, doc = read_pair(Path(path), STATE_FORMAT, STATE_FORMAT_VERSION)
    return obj, _record(doc)


def _record(doc: dict) -> dict:
    """A state's metadata without the file format's own fields."""
    return {k: v for k, v in doc.items() if k not in ("format", "format_version", "weights")}


def judge_checkpoint(meta: dict, tol: float = 1e-6) -> list:
    """What is wrong with a trained network's record (empty: nothing): the saved
    network must be the run's best held-out evaluation, and beat the trivial baseline
    (uniform policy, value 0) on held-out policy cross-entropy plus value MSE."""
    problems = []
    hist = meta.get("history") or []
    if not hist:
        return ["the checkpoint has no held-out history"]
    losses = [h["heldout"]["loss"] for h in hist]
    best_i = min(range(len(losses)), key=losses.__getitem__)
    want = hist[best_i]["epoch"] if hist[best_i].get("kind") != "swa" else "swa"
    if meta.get("best_epoch") != want:
        problems.append(f"saved evaluation {meta.get('best_epoch')!r} is not the best held-out one ({want!r}, "
                        f"loss {losses[best_i]:.4f})")
    held = meta.get("heldout") or {}
    if not math.isclose(held.get("loss", math.nan), losses[best_i], rel_tol=1e-4, abs_tol=tol):
        problems.append(f"the saved network scores held-out loss {held.get('loss')} but its best evaluation "
                        f"was {losses[best_i]:.4f}")
    core, base = held.get("core_loss", math.nan), held.get("baseline_loss", math.nan)
    if not core < base:
        problems.append(f"held-out policy CE + value MSE {core:.4f} is not below the trivial baseline's "
                        f"{base:.4f} (uniform policy, value 0)")
    return problems


__all__ = ["STATE_FORMAT", "STATE_FORMAT_VERSION", "judge_checkpoint", "load_state", "save_state",
           "state_exists"]
