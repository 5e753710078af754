"""Symmetries for learning: augmentation tables and symmetry-averaged inference.

The group used is :func:`ringrift_ml.rules.symmetry.rules_symmetries` - the board's
geometric symmetries under which the rules themselves are invariant (all of D4 on
square boards and D6 on the 469-cell board; on hex8 the territory chain rule leaves
four of the twelve).  A position's planes and ownership transform by the cell
permutation; its legal-move indices are recomputed in the transformed position with
the engine as the oracle (each decision ``m`` of ``s`` is found as ``g(m)`` among the
legal decisions of ``g(s)``), since a decision's key cell (e.g. a line's smaller end)
is not carried along by the permutation alone.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..rules import GameState, legal_move_rows
from ..rules.symmetry import rules_symmetries, transform_move, transform_state
from .policy import move_indices


@lru_cache(maxsize=None)
def symmetry_perms(board: str) -> np.ndarray:
    """``[n_sym, cells]``: cell ``c`` -> ``perm[g, c]``; element 0 is the identity."""
    return np.stack([g.perm for g in rules_symmetries(board)]).astype(np.int64)


def sym_legal_indices(state: GameState, rows: np.ndarray, legal: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """``[n_sym, len(legal)]``: the policy index, in ``g(state)``, of each decision of
    ``legal`` (the sorted distinct indices of ``rows``; ``inverse`` maps rows to them)."""
    from ..rules.fast import FastGame

    board = state.board_type
    spec = state.spec
    game = FastGame(state)
    reps = np.zeros(len(legal), dtype=np.int64)
    reps[inverse] = np.arange(len(rows))  # one row per decision
    moves = [game.move(rows[r]) for r in reps]
    out = np.empty((len(symmetry_perms(board)), len(legal)), dtype=np.int64)
    for k, g in enumerate(rules_symmetries(board)):
        if k == 0:
            out[0] = legal
            continue
        t = transform_state(state, g)
        t_rows = legal_move_rows(t)
        t_idx = move_indices(board, t.S, t_rows)
        tg = FastGame(t)
        by_key = {tg.move(r).key(spec.is_hex): int(i) for r, i in zip(t_rows, t_idx)}
        for j, m in enumerate(moves):
            key = transform_move(m, g, spec).key(spec.is_hex)
            if key not in by_key:
                raise ValueError(f"{board}: symmetry {g.name} maps a legal move to one that is not legal "
                                 f"({m} -> {key}); it is not a symmetry of the rules")
            out[k, j] = by_key[key]
    return out


__all__ = ["sym_legal_indices", "symmetry_perms"]
