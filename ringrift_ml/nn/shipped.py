"""Player specs that travel to another host: the bytes of the files they name.

A spec such as ``nn:/runs/g5/model.pt:64`` or ``minimax-nnue:/runs/nnue/current.nnue.npz:1000``
names a file on the driver's disk; a Ray actor on another host has no such path.
:class:`ShippedSpecs` reads every file the specs need where they are (the checkpoint
pair of :mod:`ringrift_ml.nn.checkpoint`, an NNUE file, the heuristic weights file),
travels pickled with the actor's factory, and writes them into the actor's own
directory, giving the specs that name the copies there.  The files are read without
torch; loading the copies validates them as usual.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

from ..ai.factory import parse_player, resolve_model


def checkpoint_files(path: Path) -> dict:
    """``{file name: bytes}`` of a checkpoint: the file a spec names, its JSON sidecar and
    the weights file the sidecar names."""
    path = Path(path)
    out = {path.name: path.read_bytes()}
    side = path.with_suffix(".json")
    if side.is_file():
        out[side.name] = side.read_bytes()
        try:
            name = json.loads(out[side.name]).get("weights", {}).get("file")
        except (ValueError, AttributeError):
            name = None  # loading the copy reports what is wrong with it
        if isinstance(name, str) and Path(name).name == name and (path.parent / name).is_file():
            out[name] = (path.parent / name).read_bytes()
    return out


def local_spec(spec: str, models: dict) -> str:
    """``spec`` with its model replaced by ``models[model]`` (a local copy's path)."""
    p = parse_player(spec)
    if not (p.uses_network or p.uses_nnue):
        return spec
    return f"{p.engine}:{models[p.model]}" + ("" if p.engine.startswith("policy") else f":{p.budget_text}")


class ShippedSpecs:
    """The files of ``specs`` (and of ``weights``, a heuristic weights file) as bytes."""

    def __init__(self, specs, weights: Optional[str] = None):
        self.specs = tuple(specs)
        self.models: dict = {}
        for spec in self.specs:
            p = parse_player(spec)
            if (p.uses_network or p.uses_nnue) and p.model not in self.models:
                path = resolve_model(p.model)
                # An NNUE is one self-describing file; a checkpoint has its sidecars.
                files = checkpoint_files(path) if p.uses_network else {path.name: path.read_bytes()}
                self.models[p.model] = (path.name, files)
        self.weights = Path(weights).read_bytes() if weights else None

    def unpack(self) -> tuple:
        """Write the copies into a new temporary directory: ``(directory handle, {spec:
        local spec}, local weights path or None)``.  Keep the handle as long as the
        players: the directory goes with it.  Specs that read no file need no directory
        (the handle is None)."""
        if not self.models and self.weights is None:
            return None, {s: s for s in self.specs}, None
        tmp = tempfile.TemporaryDirectory(prefix="ringrift-shipped-")
        models = {}
        for i, (ref, (name, files)) in enumerate(sorted(self.models.items())):
            d = Path(tmp.name) / f"model{i}"
            d.mkdir()
            for fname, data in files.items():
                (d / fname).write_bytes(data)
            models[ref] = str(d / name)
        weights = None
        if self.weights is not None:
            weights = str(Path(tmp.name) / "weights.json")
            Path(weights).write_bytes(self.weights)
        return tmp, {s: local_spec(s, models) for s in self.specs}, weights


__all__ = ["ShippedSpecs", "checkpoint_files", "local_spec"]
