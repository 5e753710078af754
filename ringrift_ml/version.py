"""The code version recorded with everything the pipeline makes."""

from __future__ import annotations

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


__all__ = ["code_version"]
