"""Provenance metadata every materialization records."""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from pathlib import Path

import dagster as dg

import ringrift_ml


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit (and ``+dirty``) when run from a checkout."""
    here = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha, dirty = "", ""
    version = getattr(ringrift_ml, "__version__", "0")
    return f"{version}+{sha}{'.dirty' if dirty else ''}" if sha else version


def config_hash(config: dg.Config) -> str:
    blob = json.dumps(config.model_dump(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_version(*paths) -> str:
    """Content hash of files: the data version downstream assets record."""
    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def provenance(config=None, inputs: dict | None = None) -> dict:
    md = {"code_version": code_version()}
    if config is not None:
        md["config_hash"] = config_hash(config)
        md["config"] = dg.MetadataValue.json(config.model_dump())
    if inputs:
        md["input_data_versions"] = dg.MetadataValue.json(inputs)
    return md
