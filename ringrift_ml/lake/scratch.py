"""Scratch directories under ``Layout.scratch`` that a killed process does not leave behind.

A step that writes files before one commit takes them in (a sample set's Parquet parts)
works in a directory of its own and removes it when it ends.  A process killed outright
(``kill -9``, the kernel's out-of-memory killer, a session's end) cannot, and its parts
(gigabytes on the big boards) would stay.  So every directory is named after its host and
process id, and the next step on the same host removes the directories of processes that
no longer run.  Directories of other hosts (a lake root shared over a network file system)
are left to those hosts: this one cannot tell whether their process lives.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_NAME = re.compile(r"^(?P<what>.+)@(?P<host>[A-Za-z0-9._-]+)@(?P<pid>\d+)@")


def _host() -> str:
    # Only the characters the name pattern accepts: a host name is free text elsewhere.
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def make_scratch(root: Path, what: str) -> Path:
    """A new directory under ``root`` for one step (``what`` names it, e.g.
    ``samples-square8-2p-g3``), tagged with this host and process."""
    if "@" in what or "/" in what:
        raise ValueError(f"scratch name {what!r}: '@' and '/' are not allowed")
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{what}@{_host()}@{os.getpid()}@", dir=root))


def sweep_scratch(root: Path) -> list:
    """Remove the directories under ``root`` that a process of this host made and that
    process no longer runs; returns the removed paths.  Names of another form (from
    another host, or not made by :func:`make_scratch`) are kept."""
    removed = []
    if not root.is_dir():
        return removed
    host = _host()
    for d in sorted(root.iterdir()):
        m = _NAME.match(d.name)
        if not d.is_dir() or m is None or m["host"] != host:
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


__all__ = ["make_scratch", "sweep_scratch"]
