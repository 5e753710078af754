"""Compiled random playouts: the fast path used by benchmarks and random selfplay.

The whole loop (generate, choose, apply) stays in compiled code; a small xorshift
generator keeps playouts reproducible from a seed without touching Python.
"""

import numpy as np
from numba import njit

from ._k_turn import apply_trusted, legal_moves
from ._layout import M_STATUS, MOVE_WIDTH, MT


@njit(cache=True)
def xorshift(state):
    """One step of xorshift64*; ``state`` is a one-element int64 array."""
    x = state[0]
    x ^= (x >> 12) & 0x000FFFFFFFFFFFFF
    x ^= x << 25
    x ^= (x >> 27) & 0x0000001FFFFFFFFF
    state[0] = x
    return (x * 0x2545F4914F6CDD1D) & 0x7FFFFFFFFFFFFFFF


@njit(cache=True)
def random_playout(S, G, rng, max_moves, buf, record):
    """Play uniformly random legal moves in place until the game ends.

    ``record`` (``(R, 8)``) receives the moves played while it has room.  Returns
    ``(moves applied, legal-move generations, finished)``; ``buf`` must be large
    enough for any move list (the caller sizes it generously).
    """
    applied = 0
    gens = 0
    while S[MT, M_STATUS] == 0 and applied < max_moves:
        n = legal_moves(S, G, buf)
        gens += 1
        if n == 0 or n > buf.shape[0]:
            break
        k = xorshift(rng) % n
        if applied < record.shape[0]:
            for f in range(MOVE_WIDTH):
                record[applied, f] = buf[k, f]
        apply_trusted(S, G, buf[k])
        applied += 1
    return applied, gens, S[MT, M_STATUS] != 0


@njit(cache=True)
def seed_rng(seed):
    rng = np.empty(1, np.int64)
    rng[0] = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) | 1
    for _ in range(4):
        xorshift(rng)
    return rng
