"""Training samples of the lake's games: ``games`` rows in, one Arrow table of samples out.

The samples of one game record are :func:`ringrift_ml.nn.samples.game_samples` (the
network's encoding); this module turns ``games`` rows back into records and decides
which games give samples.
"""

from __future__ import annotations

import pyarrow as pa

from ..nn.features import FEATURES
from ..nn.samples import SAMPLE_SCHEMA, game_samples
from .records import row_to_record


def build_samples(games: list, min_length: int = 1, symmetries: bool = True) -> tuple:
    """Samples of the finished games (lake ``games`` rows as dicts) with at least
    ``min_length`` moves: ``(Arrow table, stats)``."""
    rows = []
    used = skipped_unfinished = skipped_short = 0
    for g in games:
        if g["winner"] is None:
            skipped_unfinished += 1
            continue
        if g["length"] < min_length:
            skipped_short += 1
            continue
        rows.extend(game_samples(row_to_record(g), symmetries))
        used += 1
    table = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    return table, {"games_used": used, "skipped_unfinished": skipped_unfinished, "skipped_short": skipped_short,
                   "samples": table.num_rows, "features": FEATURES.identity}


__all__ = ["build_samples"]
