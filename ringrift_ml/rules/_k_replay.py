"""Compiled replay step: generate the legal rows, find the recorded move, apply it.

The recorded move arrives as the row fields that identify it (``-1``: not compared),
so a whole replay step runs without leaving compiled code.
"""

from numba import njit

from ._k_turn import apply_trusted, legal_moves
from ._layout import F_A, F_B, F_FROM, F_PLAYER, F_TO, F_TYPE


@njit(cache=True)
def replay_step(S, G, buf, t, p, frm, to, a, b):
    """Apply the legal move matching ``(type t, player p, from, to, F_A, F_B)``.

    Returns its row index, ``-1`` when no legal move matches (nothing applied), or
    ``-2 - n`` when the ``n`` legal moves do not fit in ``buf`` (nothing applied)."""
    n = legal_moves(S, G, buf)
    if n > buf.shape[0]:
        return -2 - n
    for i in range(n):
        if (
            buf[i, F_TYPE] == t
            and buf[i, F_PLAYER] == p
            and (frm < 0 or buf[i, F_FROM] == frm)
            and (to < 0 or buf[i, F_TO] == to)
            and (a < 0 or buf[i, F_A] == a)
            and (b < 0 or buf[i, F_B] == b)
        ):
            apply_trusted(S, G, buf[i])
            return i
    return -1
