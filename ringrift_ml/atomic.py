"""Files that appear whole or not at all.

Every writer of a file that another process may read while it is written (checkpoints,
NPZ exports, tuning logs, weights versions, quarantine reasons, the DuckDB extension
cache) writes a unique temporary name beside the target, flushes it to disk and renames
it over the target: a reader sees the old file or the new one, never half of one, and a
crash leaves at most a hidden temporary file."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the
    block ends without an error, removed otherwise.  ``suffix`` keeps a writer that
    insists on an extension (``np.savez`` adds ``.npz``) writing where expected."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{suffix}")
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path, data: bytes) -> Path:
    """``data`` as the whole content of ``path``, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as fh:
            fh.write(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode())


__all__ = ["atomic_path", "write_bytes", "write_text"]
