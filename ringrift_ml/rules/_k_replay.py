"""Compiled replay step: generate the legal rows, find the recorded move, apply it.

The recorded move arrives as the row fields that identify it (``-1``: not compared),
so a whole replay step runs without leaving compiled code.
"""

from numba import njit

from ._k_turn import apply_trusted, legal_moves
from ._layout import F_A, F_B, F_FROM, F_PLAYER, F_TO, F_TYPE, M_PHASE, MT


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


@njit(cache=True)
def replay_fields(S, G, buf, fields, start, phases):
    """Apply recorded moves ``start, start+1, ...`` given as row fields (one row of
    ``fields`` per move: type, player, from, to, F_A, F_B; type -1 = not given) while
    each matches a legal move; ``phases[i]`` receives the phase move ``i`` was played
    in.  Returns the index of the first move not applied (``len(fields)`` when all
    were): it was not given, matched nothing, or needs a larger ``buf`` (its phase is
    recorded either way, and nothing of it was applied)."""
    n = fields.shape[0]
    for i in range(start, n):
        phases[i] = S[MT, M_PHASE]
        if fields[i, 0] < 0:
            return i
        r = replay_step(S, G, buf, fields[i, 0], fields[i, 1], fields[i, 2], fields[i, 3], fields[i, 4],
                        fields[i, 5])
        if r < 0:
            return i
    return n
