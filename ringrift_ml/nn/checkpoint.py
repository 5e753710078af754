"""Network checkpoints: a model is one self-describing artefact.

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

The pair mechanism (:func:`write_pair`, :func:`read_pair`) is shared with the
resumable training state of ``train.checkpoint``; it lives here because reading a
network is what every player, gate and asset needs, and none of them should depend on
the training package for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import write_bytes
from .features import FEATURES
from .net import NetConfig, RingNet

FORMAT = "ringrift-lab/network"
FORMAT_VERSION = 1
_RESERVED = ("format", "format_version", "kind", "weights", "features", "net_config", "train_config")


def metadata_path(path: Path) -> Path:
    """The JSON file that goes with the weights file ``path``."""
    return Path(path).with_suffix(".json")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _load_error(e: Exception) -> str:
    """The specific reason of a failed restricted load (torch's own message leads
    with advice to load with ``weights_only=False``, which is exactly what must not
    be done here)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    reason = next((ln for ln in lines if ln.startswith("WeightsUnpickler error")), lines[0] if lines else "")
    return f"{type(e).__name__}: {reason}"[:300]


def _blob(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write_pair(path: Path, obj: Any, doc: dict, versioned: bool = False) -> None:
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
    write_bytes(target, blob)
    write_bytes(metadata_path(path), text.encode())
    if versioned:
        for old in path.parent.glob(f"{path.stem}.*{path.suffix}"):
            if old.name != target.name:
                old.unlink(missing_ok=True)


def read_pair(path: Path, fmt: str, version: int) -> tuple:
    """``(tensors, JSON document)`` of a pair written by :func:`write_pair` in format
    ``fmt`` version ``version``; the tensors are read with the restricted unpickler
    only after their digest matched."""
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


def _unwrap(net):
    return getattr(net, "module", net)


def save_net(net: RingNet, path: Path, train_config: dict, extra: dict) -> Path:
    """Write a network checkpoint (see the module docstring)."""
    path = Path(path)
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"checkpoint {path}: metadata keys {clash} are reserved")
    state = {k: v.detach().cpu() for k, v in _unwrap(net).state_dict().items()}
    write_pair(path, state, {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "ringnet",
                             "features": FEATURES.identity, "net_config": _unwrap(net).cfg.to_dict(),
                             "train_config": train_config, **extra})
    return path


def read_net(path: Path) -> tuple:
    """``(state_dict, meta)`` of a network checkpoint, validated (module docstring)."""
    state, doc = read_pair(path, FORMAT, FORMAT_VERSION)
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


def copy_net(src: Path, dst: Path) -> Path:
    """Copy a network checkpoint under another name (the JSON names its weights file)."""
    src, dst = Path(src), Path(dst)
    read_net(src)  # refuse to spread a bad checkpoint
    doc = json.loads(metadata_path(src).read_bytes())
    doc["weights"] = {**doc["weights"], "file": dst.name}
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(dst, src.read_bytes())
    write_bytes(metadata_path(dst), json.dumps(doc, indent=1, sort_keys=True).encode())
    return dst


__all__ = ["FORMAT", "FORMAT_VERSION", "copy_net", "load_net", "metadata_path", "read_net",
           "read_pair", "save_net", "write_pair"]
