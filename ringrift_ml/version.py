"""The code version recorded with everything the pipeline makes."""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

import ringrift_ml


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit (and ``+dirty``) when run from a checkout."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha, dirty = "", ""
    version = getattr(ringrift_ml, "__version__", "0")
    return f"{version}+{sha}{'.dirty' if dirty else ''}" if sha else version


def file_digest(path) -> str:
    """Content hash of a file (16 hex digits): the id of a model checkpoint or a weights
    file in game configs, the registry and asset data versions."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


__all__ = ["code_version", "file_digest"]
