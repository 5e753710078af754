"""Numba set-up for the rules kernels.

Numba's on-disk cache is keyed on the file that defines each function, but a
compiled caller embeds its callees from other files: after editing one kernel
module, callers in other modules would load stale machine code.  Keying the cache
directory on a digest of all kernel sources makes any edit start a fresh cache.
Set ``RINGRIFT_NUMBA_CACHE`` to choose where caches live.
"""

import hashlib
import os
from pathlib import Path

import numba

_HERE = Path(__file__).resolve().parent


def _kernel_digest() -> str:
    h = hashlib.sha256()
    kernels = sorted(_HERE.parent.rglob("_k_*.py"))  # rules and every package built on them
    for path in kernels + [_HERE / "_layout.py", _HERE / "boards.py", _HERE / "kernels.py"]:
        h.update(str(path.relative_to(_HERE.parent)).encode())
        h.update(path.read_bytes())
    h.update(numba.__version__.encode())
    return h.hexdigest()[:16]


def configure_cache() -> None:
    base = os.environ.get("RINGRIFT_NUMBA_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "ringrift-lab" / "numba"
    target = root / _kernel_digest()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # read-only home: numba falls back to its default locations
    numba.config.CACHE_DIR = str(target)


configure_cache()
