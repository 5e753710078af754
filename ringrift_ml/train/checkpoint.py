"""Checkpoints of the spatial network, and resumable training state.

Format ``ringrift-lab/network`` version 1: two files side by side, nothing in either is
unpickled with arbitrary classes (a file planted under the storage root cannot run
code):

* ``<name>.pt``: the weights, a plain ``{name: tensor}`` dict, read with
  ``torch.load(..., weights_only=True)``;
* ``<name>.json``: ``{"format", "format_version", "kind": "ringnet", "weights":
  {"file", "sha256", "bytes"}, "features": <encoding identity>, "net_config",
  "train_config", ...}`` plus the caller's metadata (data lineage: sample sets and the
  lake snapshot they were read at; training history ...).

Loading checks the format and version, the weights' digest, that the tensors match the
declared network, and that the network reads the encoding this code writes
(``nn.features.FEATURES``); anything else is a ``ValueError`` naming the file.

Training state (``train_state.<digest>.pt`` / ``train_state.json`` in a run's folder)
is the same kind of pair: the model, optimiser, EMA and best weights as tensors, the
position in the run and the history as JSON - enough to resume a killed run to the same
final weights.  The JSON is written last and names its tensor file, so a kill while
saving leaves the previous state intact.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import torch

from ..nn.features import FEATURES
from ..nn.net import NetConfig, RingNet
from .train import _atomic_write, _json_default, _load_error, metadata_path

FORMAT = "ringrift-lab/network"
FORMAT_VERSION = 1
STATE_FORMAT = "ringrift-lab/train-state"
STATE_FORMAT_VERSION = 1
_RESERVED = ("format", "format_version", "kind", "weights", "features", "net_config", "train_config")


def _blob(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _write_pair(path: Path, obj: Any, doc: dict, versioned: bool = False) -> None:
    """Write the tensors, then the JSON that names them.  ``versioned``: the tensors go
    to ``<stem>.<digest>.pt`` and the JSON (replaced atomically) is the commit point, so
    a kill at any moment leaves the previous pair or the new one, never a mix; older
    tensor files are removed afterwards."""
    blob = _blob(obj)
    digest = hashlib.sha256(blob).hexdigest()
    target = path.with_name(f"{path.stem}.{digest[:16]}{path.suffix}") if versioned else path
    doc = {**doc, "weights": {"file": target.name, "sha256": digest, "bytes": len(blob)}}
    try:
        text = json.dumps(doc, indent=1, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {path}: metadata is not JSON-serialisable ({e})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(target, blob)
    _atomic_write(metadata_path(path), text.encode())
    if versioned:
        for old in path.parent.glob(f"{path.stem}.*{path.suffix}"):
            if old.name != target.name:
                old.unlink(missing_ok=True)


def _read_pair(path: Path, fmt: str, version: int) -> tuple:
    path = Path(path)
    side = metadata_path(path)
    if not side.is_file():
        raise ValueError(f"checkpoint {path}: metadata file {side.name} is missing, so the format is unknown")
    try:
        doc = json.loads(side.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"checkpoint {path}: {side.name} is not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise ValueError(f"checkpoint {path}: {side.name} declares format "
                         f"{doc.get('format') if isinstance(doc, dict) else None!r}, expected {fmt!r}")
    if doc.get("format_version") != version or type(doc.get("format_version")) is not int:
        raise ValueError(f"checkpoint {path}: format_version {doc.get('format_version')!r} is not supported "
                         f"(this code reads version {version})")
    info = doc.get("weights")
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), str):
        raise ValueError(f"checkpoint {path}: {side.name} does not record the weights' sha256")
    name = info.get("file")
    if not isinstance(name, str) or not name or Path(name).name != name or not name.startswith(path.stem):
        raise ValueError(f"checkpoint {path}: {side.name} names weights file {name!r}, not one beside it")
    try:
        blob = (path.parent / name).read_bytes()
    except OSError as e:
        raise ValueError(f"checkpoint {path}: cannot read the weights ({e})") from None
    if hashlib.sha256(blob).hexdigest() != info["sha256"]:
        raise ValueError(f"checkpoint {path}: the weights do not have the sha256 recorded in {side.name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure of the restricted unpickler is a refusal
        raise ValueError(f"checkpoint {path}: not loaded with weights_only ({_load_error(e)})") from None
    return obj, doc


def save_net(net: RingNet, path: Path, train_config: dict, extra: dict) -> Path:
    """Write a network checkpoint (see the module docstring)."""
    path = Path(path)
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"checkpoint {path}: metadata keys {clash} are reserved")
    state = {k: v.detach().cpu() for k, v in _unwrap(net).state_dict().items()}
    _write_pair(path, state, {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "ringnet",
                              "features": FEATURES.identity, "net_config": _unwrap(net).cfg.to_dict(),
                              "train_config": train_config, **extra})
    return path


def copy_net(src: Path, dst: Path) -> Path:
    """Copy a network checkpoint under another name (the JSON names its weights file)."""
    src, dst = Path(src), Path(dst)
    read_net(src)  # refuse to spread a bad checkpoint
    doc = json.loads(metadata_path(src).read_bytes())
    doc["weights"] = {**doc["weights"], "file": dst.name}
    dst.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(dst, src.read_bytes())
    _atomic_write(metadata_path(dst), json.dumps(doc, indent=1, sort_keys=True).encode())
    return dst


def _unwrap(net):
    return getattr(net, "module", net)


def read_net(path: Path) -> tuple:
    """``(state_dict, meta)`` of a network checkpoint, validated (module docstring)."""
    state, doc = _read_pair(path, FORMAT, FORMAT_VERSION)
    if doc.get("kind") != "ringnet":
        raise ValueError(f"checkpoint {path}: kind {doc.get('kind')!r} is not 'ringnet'")
    if doc.get("features") != FEATURES.identity:
        raise ValueError(f"checkpoint {path}: the network reads features {doc.get('features')!r}, this code "
                         f"encodes {FEATURES.identity!r}; retrain it on samples of this encoding")
    raw = doc.get("net_config")
    try:
        cfg = NetConfig(**raw)
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {path}: net_config is not a network config ({e})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise ValueError(f"checkpoint {path}: the weights are not a dict of parameter name to tensor")
    with torch.device("meta"):
        expected = RingNet(cfg).state_dict()
    bad = [k for k in expected if k not in state or tuple(state[k].shape) != tuple(expected[k].shape)]
    extra = sorted(set(state) - set(expected))
    if bad or extra:
        raise ValueError(f"checkpoint {path}: the tensors do not match the declared net_config "
                         f"(missing or misshapen {bad[:5]}, unexpected {extra[:5]})")
    meta = {k: v for k, v in doc.items() if k not in ("format", "format_version", "weights")}
    meta["net_config"] = cfg
    return state, meta


def load_net(path: Path) -> tuple:
    """``(net in eval mode on the CPU, meta)``; ``meta["net_config"]`` is a NetConfig."""
    state, meta = read_net(path)
    net = RingNet(meta["net_config"])
    net.load_state_dict(state, strict=True)
    net.eval()
    return net, meta


def save_state(path: Path, tensors: dict, info: dict) -> None:
    """Resumable training state: ``tensors`` (nested dicts of tensors and numbers) and
    ``info`` (JSON)."""
    _write_pair(Path(path), tensors, {"format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION, **info},
                versioned=True)


def state_exists(path: Path) -> bool:
    """Whether a training state was saved at ``path`` (its JSON is the commit point)."""
    return metadata_path(Path(path)).is_file()


def load_state(path: Path) -> tuple:
    obj, doc = _read_pair(Path(path), STATE_FORMAT, STATE_FORMAT_VERSION)
    return obj, {k: v for k, v in doc.items() if k not in ("format", "format_version", "weights")}


__all__ = ["FORMAT", "FORMAT_VERSION", "copy_net", "load_net", "load_state", "read_net", "save_net", "save_state", "state_exists"]


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
