"""Training loop: policy cross-entropy over the legal moves plus value MSE, and the
checkpoint format.

Checkpoint format (``ringrift-lab/checkpoint``, version 1)
---------------------------------------------------------
A checkpoint is two files side by side; nothing in either is ever unpickled with
arbitrary classes, so a file planted under the storage root cannot run code:

``<name>.pt``
    The weights only: a plain ``{parameter name: tensor}`` dict written with
    ``torch.save`` and read with ``torch.load(..., map_location="cpu",
    weights_only=True)`` (torch's restricted unpickler: tensors and primitive
    containers, no imports).

``<name>.json``
    Everything else, as JSON::

        {"format": "ringrift-lab/checkpoint", "format_version": 1,
         "weights": {"file": "<name>.pt", "sha256": "<hex digest of the .pt bytes>",
                     "bytes": <size>},
         "net_config": {...NetConfig...}, "train_config": {...TrainConfig...},
         ...the caller's metadata (board, players, samples_version, history, ...)}

Both files are written to a temporary name and renamed (``os.replace``), the
weights first.  :func:`load_model` reads the JSON first and refuses, with a
``ValueError`` naming the file and the reason, a checkpoint whose JSON is missing
(e.g. one from before this format, which pickled everything into the ``.pt``), is
not JSON, declares another or no format or version, whose ``.pt`` does not have the
recorded digest (a torn or mixed-up pair), is not a plain tensor dict, or whose
tensors (names, shapes, dtypes) do not match ``net_config``.  The expected shapes
come from a network built on the ``meta`` device, so a crafted ``net_config`` does
not allocate anything.  Metadata must be JSON-representable (numpy scalars and
arrays are converted; tuples come back as lists).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import uuid
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .data import Samples
from .model import NetConfig, PolicyValueNet


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

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("train config: epochs and batch_size must be positive")
        if not 0 < self.holdout < 1:
            raise ValueError(f"train config: holdout must be in (0, 1), got {self.holdout}")
        if not self.lr > 0:
            raise ValueError(f"train config: lr must be positive, got {self.lr}")


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


def train(data: Samples, cfg: TrainConfig, on_epoch: Optional[Callable[[int, dict], None]] = None) -> tuple:
    """Train a fresh network; returns ``(net, history, held_out_indices)``.

    ``history`` has one entry per epoch plus epoch 0 (before training) with the mean
    training loss and the held-out metrics."""
    if len(data) < 2:
        raise ValueError(f"train: {len(data)} samples; at least 2 are needed (one held out)")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_idx, held = data.split(cfg.holdout, cfg.seed)
    s = data.schema
    net = PolicyValueNet(NetConfig(data.features.shape[1], s["n_cells"], s["move_types"], cfg.hidden, cfg.layers))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = [{"epoch": 0, "train_loss": evaluate(net, data, train_idx)["loss"],
                **{f"val_{k}": v for k, v in evaluate(net, data, held).items()}}]
    if on_epoch:
        on_epoch(0, history[0])
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
        if on_epoch:
            on_epoch(epoch, entry)
    return net, history, held


CHECKPOINT_FORMAT = "ringrift-lab/checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
_RESERVED = ("format", "format_version", "weights", "net_config", "train_config")


def metadata_path(path: Path) -> Path:
    """The JSON file that goes with the weights file ``path``."""
    return Path(path).with_suffix(".json")


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a unique temporary name beside ``path``, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def save_model(net: PolicyValueNet, path: Path, train_cfg: TrainConfig, extra: dict) -> Path:
    """Write a checkpoint (see the module docstring): the weights as a plain tensor
    dict in ``path`` and configs plus ``extra`` as JSON in ``metadata_path(path)``,
    each to a temporary name and renamed.  Returns ``path``."""
    path = Path(path)
    if path.suffix == ".json":
        raise ValueError(f"checkpoint {path}: the weights file must not end in .json "
                         "(its metadata goes there)")
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"checkpoint {path}: metadata keys {clash} are reserved")
    meta = {"net_config": net.cfg.to_dict(), "train_config": asdict(train_cfg), **extra}
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buf)
    blob = buf.getvalue()
    doc = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_FORMAT_VERSION,
           "weights": {"file": path.name, "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)},
           **meta}
    try:
        text = json.dumps(doc, indent=1, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {path}: metadata is not JSON-serialisable ({e})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, blob)
    _atomic_write(metadata_path(path), text.encode())
    return path


def _net_config(path: Path, raw) -> NetConfig:
    if not isinstance(raw, dict):
        raise ValueError(f"checkpoint {path}: net_config is missing or not an object")
    try:
        cfg = NetConfig(**raw)
    except TypeError as e:
        raise ValueError(f"checkpoint {path}: net_config is not a network config ({e})") from None
    for k, v in cfg.to_dict().items():
        if type(v) is not int or not (0 if k == "layers" else 1) <= v < 2 ** 31:
            raise ValueError(f"checkpoint {path}: net_config.{k} = {v!r} is not a valid size")
    return cfg


def _load_error(e: Exception) -> str:
    """The specific reason of a failed restricted load (torch's own message leads
    with advice to load with ``weights_only=False``, which is exactly what must not
    be done here)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    reason = next((ln for ln in lines if ln.startswith("WeightsUnpickler error")), lines[0] if lines else "")
    return f"{type(e).__name__}: {reason}"[:300]


def read_checkpoint(path: Path) -> tuple:
    """The validated ``(state_dict, meta)`` of a checkpoint, without building the
    network; ``meta`` is the JSON less the format fields (``net_config``,
    ``train_config`` and the caller's keys).  Raises ``ValueError`` naming the file
    and the reason for anything that is not a well-formed checkpoint."""
    path = Path(path)
    side = metadata_path(path)
    if path.suffix == ".json":
        raise ValueError(f"checkpoint {path}: name the weights file, not its metadata")
    if not side.is_file():
        raise ValueError(f"checkpoint {path}: metadata file {side.name} is missing, so the format is unknown "
                         f"(checkpoints from before {CHECKPOINT_FORMAT} v{CHECKPOINT_FORMAT_VERSION} "
                         "are not read; retrain)")
    try:
        doc = json.loads(side.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"checkpoint {path}: metadata file {side.name} is not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"checkpoint {path}: metadata file {side.name} is not a JSON object")
    if doc.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path}: {side.name} declares format {doc.get('format')!r}, "
                         f"expected {CHECKPOINT_FORMAT!r}")
    version = doc.get("format_version")
    if type(version) is not int or version != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(f"checkpoint {path}: format_version {version!r} is not supported "
                         f"(this code reads version {CHECKPOINT_FORMAT_VERSION})")
    cfg = _net_config(path, doc.get("net_config"))
    if not isinstance(doc.get("train_config"), dict):
        raise ValueError(f"checkpoint {path}: train_config is missing or not an object")
    info = doc.get("weights")
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), str):
        raise ValueError(f"checkpoint {path}: {side.name} does not record the weights' sha256")
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise ValueError(f"checkpoint {path}: cannot read the weights ({e})") from None
    if hashlib.sha256(blob).hexdigest() != info["sha256"]:
        raise ValueError(f"checkpoint {path}: the weights do not have the sha256 recorded in {side.name} "
                         "(a torn write or a mixed-up pair of files)")
    try:
        # The bytes just hashed, not the path again: what is checked is what is read.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4" from a foreign file
            state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure of the restricted unpickler is a refusal
        raise ValueError(f"checkpoint {path}: the weights are not a plain tensor state_dict and were not "
                         f"loaded ({_load_error(e)})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise ValueError(f"checkpoint {path}: the weights are not a dict of parameter name to tensor")
    with torch.device("meta"):
        expected = PolicyValueNet(cfg).state_dict()
    problems = []
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing:
        problems.append(f"missing {missing}")
    if unexpected:
        problems.append(f"unexpected {unexpected}")
    for k in sorted(set(expected) & set(state)):
        e, t = expected[k], state[k]
        if tuple(t.shape) != tuple(e.shape) or t.dtype != e.dtype:
            problems.append(f"{k} is {t.dtype} {list(t.shape)}, expected {e.dtype} {list(e.shape)}")
    if problems:
        raise ValueError(f"checkpoint {path}: the tensors do not match the declared net_config "
                         f"{cfg.to_dict()}: " + "; ".join(problems))
    meta = {k: v for k, v in doc.items() if k not in ("format", "format_version", "weights")}
    return state, meta


def load_model(path: Path) -> tuple:
    """``(net, meta)`` of a checkpoint written by :func:`save_model`, in eval mode on
    the CPU; ``meta`` holds ``net_config``, ``train_config`` and the keys of
    ``extra``.  Raises ``ValueError`` (see :func:`read_checkpoint`)."""
    state, meta = read_checkpoint(path)
    net = PolicyValueNet(NetConfig(**meta["net_config"]))
    net.load_state_dict(state, strict=True)
    net.eval()
    return net, meta
