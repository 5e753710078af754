"""Training samples: one row per decision position of the merged games.

For every position where the player to act had more than one legal move (forced
moves teach nothing), a sample holds the encoded state, the legal moves
(``encoding.encode_moves``), the policy target over them — the generator's search
distribution when the record has one, else one-hot on the move played — the index
of the move played, the final outcome from the mover's view and the move number.

Samples are written to the lake (``lake.samples``, one sample set per run, with the
games it holds in ``lake.sample_set_games``) and exported as a compressed NPZ with
ragged move lists stored flat plus offsets.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from . import encoding
from .lake.records import row_to_record
from .rules.records import start_state
from .rules.replay import Replayer, ReplayError
from .rules.view import StateView

SAMPLES_SCHEMA_VERSION = 1

SAMPLES_SCHEMA = pa.schema(
    [
        ("schema_version", pa.int32()),
        ("game_id", pa.string()),
        ("ply", pa.int32()),
        ("move_number", pa.int32()),  # decision index within the game
        ("player", pa.int32()),
        ("phase", pa.string()),
        ("features", pa.list_(pa.float32())),
        ("legal_moves", pa.list_(pa.int16())),  # flat (type, from+1, to+1) triples
        ("policy", pa.list_(pa.float32())),
        ("played", pa.int32()),
        ("value", pa.float32()),
        ("has_search_policy", pa.bool_()),
    ]
)


class SampleError(ValueError):
    """A game that cannot be turned into samples (names the game and the ply)."""


def game_samples(rec: dict) -> list:
    """Samples of one finished game record (dicts in ``SAMPLES_SCHEMA`` order).

    The game is replayed in place (:class:`~ringrift_ml.rules.replay.Replayer`): every
    recorded move and every move of a search policy is matched against the compiled
    legal moves of its position."""
    gid = rec.get("gameId")
    n = int(rec["numPlayers"])
    ranks, winner = rec.get("ranks"), rec.get("winner")
    policies = rec.get("policy") or []
    game = Replayer(start_state(rec))
    N = game.spec.n_cells
    out = []
    decision = 0
    for ply, md in enumerate(rec["moves"]):
        rows = game.rows()
        try:
            played = game.match(md)
        except ReplayError as e:
            raise SampleError(f"game {gid}, ply {ply}: {_reason(e)}") from None
        if len(rows) > 1:
            view = StateView(game.S, N)
            player = view.current_player
            target = np.zeros(len(rows), dtype=np.float32)
            searched = ply < len(policies) and policies[ply] is not None
            if searched:
                for mj, p in policies[ply]:
                    try:
                        target[game.match(mj)] += p
                    except ReplayError as e:
                        raise SampleError(f"game {gid}, ply {ply}: policy names an illegal move: {_reason(e)}") from None
                total = target.sum()
                if not total > 0:
                    raise SampleError(f"game {gid}, ply {ply}: search policy sums to {total}")
                target /= total
            else:
                target[played] = 1.0
            out.append({
                "schema_version": SAMPLES_SCHEMA_VERSION,
                "game_id": gid,
                "ply": ply,
                "move_number": decision,
                "player": player,
                "phase": view.current_phase,
                "features": encoding.encode_state(game.S, N),
                "legal_moves": encoding.encode_moves(rows).ravel(),
                "policy": target,
                "played": played,
                "value": encoding.outcome_for(ranks, winner, n, player),
                "has_search_policy": searched,
            })
            decision += 1
        game.apply_index(played)
    return out


def _reason(e: ReplayError) -> str:
    """The replay error without its "move N: " prefix (the sample error names the ply)."""
    return str(e).split(": ", 1)[1]


def build_samples(games: list, min_length: int = 1) -> tuple:
    """Samples of the finished games with at least ``min_length`` moves.

    ``games`` are lake ``games`` rows (dicts).  Returns ``(table, stats)``."""
    rows = []
    used = skipped_unfinished = skipped_short = 0
    for g in games:
        if g["winner"] is None:
            skipped_unfinished += 1
            continue
        if g["length"] < min_length:
            skipped_short += 1
            continue
        rows.extend(game_samples(row_to_record(g)))
        used += 1
    cols = {name: [r[name] for r in rows] for name in SAMPLES_SCHEMA.names}
    table = pa.Table.from_pydict(cols, schema=SAMPLES_SCHEMA)
    stats = {"games_used": used, "skipped_unfinished": skipped_unfinished, "skipped_short": skipped_short,
             "samples": table.num_rows}
    return table, stats


def export_npz(table: pa.Table, path: Path, board: str, players: int, n_cells: int, meta: dict) -> Path:
    """Write the samples as a compressed NPZ (temporary name, then rename).

    Arrays: ``features [S, F]``, ``legal_moves [M, 3]`` with ``legal_offsets [S + 1]``,
    ``policy [M]``, ``played [S]`` (index into the sample's moves), ``value [S]``,
    ``move_number [S]``, ``player [S]``, ``game [S]`` (game index, for splits by game), and ``schema`` (a JSON record of the layout)."""
    s = table.num_rows
    F = encoding.feature_size(n_cells)
    features = (np.asarray(table.column("features").combine_chunks().flatten(), dtype=np.float32).reshape(s, F)
                if s else np.zeros((0, F), np.float32))
    lens = np.array([len(x) // 3 for x in table.column("legal_moves").to_pylist()], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    legal = np.asarray(table.column("legal_moves").combine_chunks().flatten(), dtype=np.int16).reshape(-1, 3)
    policy = np.asarray(table.column("policy").combine_chunks().flatten(), dtype=np.float32)
    schema = {
        "format": "ringrift-lab/samples-npz",
        "schema_version": SAMPLES_SCHEMA_VERSION,
        "encoding_version": encoding.ENCODING_VERSION,
        "board": board,
        "players": players,
        "n_cells": n_cells,
        "planes": encoding.PLANES,
        "globals": encoding.GLOBALS,
        "move_types": encoding.N_MOVE_TYPES,
        **meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp,
        features=features,
        legal_moves=legal,
        legal_offsets=offsets,
        policy=policy,
        played=np.asarray(table.column("played"), dtype=np.int32),
        value=np.asarray(table.column("value"), dtype=np.float32),
        move_number=np.asarray(table.column("move_number"), dtype=np.int32),
        player=np.asarray(table.column("player"), dtype=np.int32),
        game=np.unique(np.asarray(table.column("game_id").to_pylist(), dtype=object), return_inverse=True)[1]
        .astype(np.int32) if s else np.zeros(0, np.int32),
        schema=np.array(json.dumps(schema, sort_keys=True)),
    )
    os.replace(tmp, path)
    return path
