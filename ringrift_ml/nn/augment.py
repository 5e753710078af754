"""Symmetries for learning: augmentation tables and symmetry-averaged inference.

The group used is :func:`ringrift_ml.rules.symmetry.rules_symmetries` - the board's
geometric symmetries under which the rules themselves are invariant (all of D4 on
square boards and D6 on the 469-cell board; on hex8 the territory chain rule leaves
four of the twelve).  A position's planes and ownership transform by the cell
permutation; its legal-move indices are recomputed in the transformed position with
the engine as the oracle (each decision ``m`` of ``s`` is found as ``g(m)`` among the
legal decisions of ``g(s)``), since a decision's key cell (e.g. a line's smaller end)
is not carried along by the permutation alone.  Placements, movements, captures,
eliminations and the cell-free decisions - nearly every decision of a game - are: their
index is a channel (a direction for movements and captures) and a key cell that the
symmetry maps by its direction and cell permutations, so they go through one table
(:func:`index_perms`); only lines, territory regions and recovery slides ask the engine.
On square19 that made the samples of a game about eight times cheaper to build (the
engine path spent most of a sample set's CPU transforming hundreds of moves per
position in Python).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

from ..rules import GameState, legal_move_rows
from ..rules.symmetry import rules_symmetries, transform_move, transform_state
from .policy import GLOBAL_MOVES, layout_for, move_indices


@lru_cache(maxsize=None)
def symmetry_perms(board: str) -> np.ndarray:
    """``[n_sym, cells]``: cell ``c`` -> ``perm[g, c]``; element 0 is the identity."""
    return np.stack([g.perm for g in rules_symmetries(board)]).astype(np.int64)


@lru_cache(maxsize=None)
def index_perms(board: str) -> np.ndarray:
    """``[n_sym, policy size]``: policy index ``i`` -> the index of its decision's image
    under symmetry ``k``, for the decisions whose index the symmetry carries along
    (placements, movements, captures, eliminations, the cell-free decisions); -1 for
    the others (lines, territory regions, recovery slides) and for grid points that are
    not cells.  Row 0 is the identity on the same indices."""
    lay = layout_for(board)
    grid = lay.grid
    hw = grid.size
    flat = np.asarray(grid.flat, dtype=np.int64)
    n_planes = lay.n_channels * hw
    group = rules_symmetries(board)
    out = np.full((len(group), lay.size), -1, dtype=np.int64)
    for k, g in enumerate(group):
        cell_map = np.full(hw, -1, dtype=np.int64)  # grid point -> grid point of the image cell
        cell_map[flat] = flat[np.asarray(g.perm, dtype=np.int64)]
        pairs = [(lay.channel(f"place_{n}"), lay.channel(f"place_{n}")) for n in (1, 2, 3)]
        pairs += [(lay.channel(f"{kind}_{d}"), lay.channel(f"{kind}_{int(g.dir_perm[d])}"))
                  for kind in ("move", "capture") for d in range(lay.nd)]
        pairs.append((lay.channel("eliminate"), lay.channel("eliminate")))
        for src, dst in pairs:
            to = np.where(cell_map >= 0, dst * hw + cell_map, -1)
            out[k, src * hw: (src + 1) * hw] = to
        out[k, n_planes:] = np.arange(n_planes, n_planes + len(GLOBAL_MOVES))
    return out


def sym_legal_indices(state: GameState, rows: np.ndarray, legal: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """``[n_sym, len(legal)]``: the policy index, in ``g(state)``, of each decision of
    ``legal`` (the sorted distinct indices of ``rows``; ``inverse`` maps rows to them).
    The decisions :func:`index_perms` carries are mapped by the table, the others found
    in the transformed position by the engine (:func:`engine_sym_legal_indices`)."""
    legal = np.asarray(legal, dtype=np.int64)
    out = index_perms(state.board_type)[:, legal]
    out[0] = legal
    ask = np.flatnonzero(out[1] < 0) if len(out) > 1 else ()  # uncarried columns are -1 in every row
    if len(ask):
        out[1:, ask] = engine_sym_legal_indices(state, rows, legal, inverse, only=ask)[1:, ask]
    return out


def engine_sym_legal_indices(state: GameState, rows: np.ndarray, legal: np.ndarray, inverse: np.ndarray,
                             only: Optional[np.ndarray] = None) -> np.ndarray:
    """:func:`sym_legal_indices` with the engine as the oracle for every decision (or
    for the columns ``only``; the other columns are left 0): each decision ``m`` is
    found as ``g(m)`` among the legal decisions of ``g(state)``."""
    from ..rules.fast import FastGame

    board = state.board_type
    spec = state.spec
    legal = np.asarray(legal, dtype=np.int64)
    cols = np.arange(len(legal)) if only is None else np.asarray(only, dtype=np.int64)
    game = FastGame(state)
    reps = np.zeros(len(legal), dtype=np.int64)
    reps[inverse] = np.arange(len(rows))  # one row per decision
    moves = [game.move(rows[reps[j]]) for j in cols]
    carried = index_perms(board)[0]
    out = np.zeros((len(symmetry_perms(board)), len(legal)), dtype=np.int64)
    out[0] = legal
    for k, g in enumerate(rules_symmetries(board)):
        if k == 0:
            continue
        t = transform_state(state, g)
        t_rows = legal_move_rows(t)
        t_idx = move_indices(board, t.S, t_rows)
        if only is not None:  # the images of uncarried decisions are uncarried decisions
            keep = carried[t_idx] < 0
            t_rows, t_idx = t_rows[keep], t_idx[keep]
        tg = FastGame(t)
        by_key = {tg.move(r).key(spec.is_hex): int(i) for r, i in zip(t_rows, t_idx)}
        for j, m in zip(cols, moves):
            key = transform_move(m, g, spec).key(spec.is_hex)
            if key not in by_key:
                raise ValueError(f"{board}: symmetry {g.name} maps a legal move to one that is not legal "
                                 f"({m} -> {key}); it is not a symmetry of the rules")
            out[k, j] = by_key[key]
    return out


__all__ = ["engine_sym_legal_indices", "index_perms", "sym_legal_indices", "symmetry_perms"]
