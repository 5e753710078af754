"""Training samples of a game record for the spatial network.

One sample per position where the player to act had more than one decision (forced
moves teach nothing).  A sample holds the encoded position (``features.encode``), the
policy indices of its legal decisions (``policy.move_indices``, one per decision),
the policy target over them - the record's search distribution when it has one (soft
target), else one-hot on the move played - the decision played, and the final
outcome: the rank-based utility of every seat slot (slot 0 = the player to act), the
final owner of every cell's collapsed space as a seat slot (auxiliary target), and
every seat's final score margin (auxiliary target).

Samples are rows of :data:`SAMPLE_SCHEMA` (Arrow): the lake's ``samples`` table adds
the sample set, board and players, and :func:`ringrift_ml.lake.samples.build_samples`
makes them from the lake's ``games`` rows (this module reads game records only and
never imports the lake, which is a layer above it).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..rules.records import start_state
from ..rules.replay import Replayer, ReplayError
from ..rules.view import StateView
from .augment import sym_legal_indices
from .features import SLOTS, encode, slot_of_players
from .policy import move_indices

SAMPLES_SCHEMA_VERSION = 3

SAMPLE_SCHEMA = pa.schema([
    ("schema_version", pa.int32()),
    ("game_id", pa.string()),
    ("ply", pa.int32()),
    ("move_number", pa.int32()),  # decision index within the game
    ("player", pa.int32()),  # the player to act (absolute seat)
    ("phase", pa.string()),
    ("planes", pa.binary()),  # uint8 [planes, cells] in cell order
    ("globals", pa.list_(pa.float32())),
    ("legal", pa.list_(pa.int32())),  # policy index of each legal decision
    ("policy", pa.list_(pa.float32())),  # target probability of each, summing to 1
    ("played", pa.int32()),  # position of the decision played in ``legal``
    ("value", pa.list_(pa.float32())),  # final utility per seat slot (0 for absent slots)
    ("ownership", pa.binary()),  # uint8 [cells]: 0 none, 1 + slot of the final collapsed owner
    ("score", pa.list_(pa.float32())),  # final score margin per seat slot
    ("has_search_policy", pa.bool_()),
    # The recorded search's root value per seat slot (what the search expected of the
    # position; empty where the decision was not searched or predates the values).
    ("search_value", pa.list_(pa.float32())),
    # Per symmetry of the rules (rules.symmetry.rules_symmetries, identity first): the
    # policy index of each decision of ``legal`` in the transformed position, flat.
    ("sym_legal", pa.list_(pa.int32())),
])


class SampleError(ValueError):
    """A record that cannot be turned into samples (names the game and the ply)."""


def rank_utility(rank: int, n: int) -> float:
    return 1.0 - 2.0 * (rank - 1) / (n - 1)


def _final_targets(final, n_cells: int) -> tuple:
    """Per absolute player: utility and score; per cell: final collapsed owner."""
    v = StateView(final.S, n_cells)
    n = v.num_players
    ranks = final.ranks
    util = {p: rank_utility(ranks[p], n) for p in range(1, n + 1)}
    score = {p: 0.5 * (v.territory(p) / max(1, v.territory_minimum)
                       + v.eliminated_rings(p) / max(1, v.elimination_threshold)) for p in range(1, n + 1)}
    mean = sum(score.values()) / n
    margin = {p: score[p] - (mean * n - score[p]) / (n - 1) for p in score}
    return util, margin, np.asarray(v.collapsed_owners).copy()


def game_samples(rec: dict, symmetries: bool = True) -> list:
    """Samples (dicts in :data:`SAMPLE_SCHEMA` order) of one finished game record;
    ``symmetries`` computes ``sym_legal`` (else it holds the identity's indices only)."""
    gid = rec.get("gameId")
    policies = rec.get("policy") or []
    searches = rec.get("search") or []
    moves = rec["moves"]
    try:
        end = Replayer(start_state(rec))
        end.run(moves)
    except ReplayError as e:
        raise SampleError(f"game {gid}, {e}") from None
    final = end.state()
    if not final.is_over:
        raise SampleError(f"game {gid}: not finished, so it has no outcome to learn")
    board = final.board_type
    n_cells = final.spec.n_cells
    n = final.num_players
    util, margin, owners = _final_targets(final, n_cells)
    game = Replayer(start_state(rec))
    out = []
    decision = 0
    for ply, md in enumerate(moves):
        rows = game.rows()
        try:
            played_row = game.match(md)
        except ReplayError as e:
            raise SampleError(f"game {gid}, ply {ply}: {str(e).split(': ', 1)[1]}") from None
        idx = move_indices(board, game.S, rows)
        legal, inverse = np.unique(idx, return_inverse=True)
        # A fast search (playout-cap randomization) is no training position at all.
        fast = ply < len(searches) and searches[ply] is not None and not searches[ply]["full"]
        if len(legal) > 1 and not fast:
            view = StateView(game.S, n_cells)
            mover = view.current_player
            slot = slot_of_players(n, mover)
            target = np.zeros(len(legal), dtype=np.float32)
            searched = ply < len(policies) and policies[ply] is not None
            if searched:
                entries = policies[ply]
                try:
                    at = game.match_all([mj for mj, _ in entries])
                except ReplayError as e:
                    raise SampleError(f"game {gid}, ply {ply}: policy names an illegal move: "
                                      f"{str(e).split(': ', 1)[1]}") from None
                for j, (_, p) in zip(at, entries):
                    target[inverse[j]] += p
                total = float(target.sum())
                if not total > 0:
                    raise SampleError(f"game {gid}, ply {ply}: search policy sums to {total}")
                target /= total
            else:
                target[inverse[played_row]] = 1.0
            planes, glob = encode(game.S, n_cells)
            value = np.zeros(SLOTS, dtype=np.float32)
            score = np.zeros(SLOTS, dtype=np.float32)
            for p in range(1, n + 1):
                value[slot[p]] = util[p]
                score[slot[p]] = margin[p]
            search_value = np.zeros(0, dtype=np.float32)
            entry = searches[ply] if ply < len(searches) else None
            if entry and entry.get("values") and len(entry["values"]) == n:
                search_value = np.zeros(SLOTS, dtype=np.float32)
                for p in range(1, n + 1):
                    search_value[slot[p]] = entry["values"][p - 1]
            own = np.zeros(n_cells, dtype=np.uint8)
            for p in range(1, n + 1):
                own[owners == p] = 1 + slot[p]
            if symmetries:
                sym = sym_legal_indices(game.state(), rows, legal, inverse)
            else:
                sym = legal[None, :]
            out.append({
                "schema_version": SAMPLES_SCHEMA_VERSION,
                "game_id": gid,
                "ply": ply,
                "move_number": decision,
                "player": mover,
                "phase": view.current_phase,
                "planes": planes.tobytes(),
                "globals": glob,
                "legal": legal.astype(np.int32),
                "policy": target,
                "played": int(inverse[played_row]),
                "value": value,
                "ownership": own.tobytes(),
                "score": score,
                "has_search_policy": searched,
                "search_value": search_value,
                "sym_legal": sym.astype(np.int32).ravel(),
            })
            decision += 1
        game.apply_index(played_row)
    return out


__all__ = ["SAMPLES_SCHEMA_VERSION", "SAMPLE_SCHEMA", "SampleError", "game_samples", "rank_utility"]
