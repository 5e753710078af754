"""Compiled test for a move that wins on the spot.

Every search asks it before searching (``base.immediate_win``), over every legal move:
on the big boards, with hundreds of moves, the same loop in Python (a copy, an apply
and a move generation per move) cost about a sixth of network selfplay's time on
square19.  Here one scratch state is reused and the move generator only has to say
whether exactly one follow-up is legal, so its buffer stays small.
"""

import numpy as np
from numba import njit

from ..rules.kernels import ROW_WIDTH, apply_row, current_player, is_finished, legal_rows, winner

FOLLOW_UPS = 16
"""Forced follow-ups of the mover (a single legal move each) played after the move."""


@njit(cache=True)
def winning_move(S, G, rows):
    """Index of the first row of ``rows`` after which the player to act has won, its
    forced follow-ups (up to :data:`FOLLOW_UPS`, while it stays their turn with exactly
    one legal move) included; -1 when none does."""
    me = current_player(S)
    T = np.empty_like(S)
    buf = np.empty((2, ROW_WIDTH), dtype=np.int64)  # only "exactly one" matters
    for i in range(rows.shape[0]):
        T[...] = S
        apply_row(T, G, rows[i])
        for _ in range(FOLLOW_UPS):
            if is_finished(T) or current_player(T) != me:
                break
            if legal_rows(T, G, buf) != 1:
                break
            apply_row(T, G, buf[0])
        if is_finished(T) and winner(T) == me:
            return i
    return -1
