"""Where the lakehouse lives.  Resolved when a run uses it, never at import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import dagster as dg


class LakeResource(dg.ConfigurableResource):
    """The storage root: ``root`` if set, else ``$RINGRIFT_STORAGE``, else ``./storage``."""

    root: Optional[str] = None

    def path(self) -> Path:
        root = self.root or os.environ.get("RINGRIFT_STORAGE") or "storage"
        p = Path(root).resolve()
        p.mkdir(parents=True, exist_ok=True)
        return p
