"""Which heuristic weights file a run plays with (the versions in ``lake.heuristic_weights``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def weights_file(store, board: str, players: int, spec: str) -> Optional[Path]:
    """The weights file a run plays with: ``"packaged"`` -> None (the packaged
    defaults), ``"tuned"`` -> the partition's newest tuned version, else a recorded
    version hash.  ``ValueError`` names what is missing."""
    if spec == "packaged":
        return None
    if spec == "tuned":
        rows = store.query("SELECT weights_version, path FROM lake.heuristic_weights WHERE board = ? AND players = ? "
                           "AND accepted IS NOT FALSE ORDER BY created_at DESC LIMIT 1", [board, players]).to_pylist()
        if not rows:
            raise ValueError(f"weights: 'tuned' but partition {board}|{players} has no accepted heuristic_weights "
                             "yet (materialize heuristic_weights, or use 'packaged')")
    else:
        rows = store.query("SELECT weights_version, path FROM lake.heuristic_weights WHERE weights_version = ? "
                           "LIMIT 1", [spec]).to_pylist()
        if not rows:
            raise ValueError(f"weights: {spec!r} is neither 'packaged', 'tuned' nor a recorded weights version")
    path = Path(rows[0]["path"])
    if not path.is_absolute():
        path = store.root / path
    if not path.is_file():
        raise ValueError(f"weights: version {rows[0]['weights_version']} is recorded, but {path} is missing")
    return path


__all__ = ["weights_file"]
