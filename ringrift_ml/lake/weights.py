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


def record_weights_version(store, board: str, players: int, outcome: dict, config: dict,
                           run_id: Optional[str] = None) -> dict:
    """Keep a tuning outcome (``tuning.tune_and_accept``'s) as a content-addressed
    version file (``weights/versions/<hash>.json``) and a ``lake.heuristic_weights``
    row, accepted or not.  Returns ``{weights_version, path}``."""
    import hashlib

    from ..atomic import write_bytes
    from .layout import Layout
    from .lineage import record_row

    layout = Layout(store.root)
    version = hashlib.sha256(outcome["weights"]).hexdigest()[:16]
    vfile = layout.weights_version(version)
    if not vfile.exists():
        write_bytes(vfile, outcome["weights"])
    result = outcome["result"]
    record_row(store, "heuristic_weights", [{
        "weights_version": version, "board": board, "players": players, "path": layout.relative(vfile),
        "best_score": float(result["best_score"]), "generations": int(result["generations"]), "config": config,
        "accepted": bool(outcome["accepted"]), "confirmation": outcome["confirmation"]}],
        f"heuristic weights {version} for {board}|{players}", run_id)
    return {"weights_version": version, "path": vfile}


__all__ = ["record_weights_version", "weights_file"]
