"""Compiled inner step of the tree search: PUCT's choice at an interior node.

``_Tree._pick`` ran as half a dozen numpy operations on arrays of a few dozen moves,
once per node on every simulation's way down; the same arithmetic in one compiled loop
gives the same floats (the visit counts are whole numbers, so their sum does not
depend on the order of addition) and so the same choices.
"""

import math

from numba import njit


@njit(cache=True)
def puct_best(N, W, P, c_puct, ties):
    """Write the indices of the maximal ``q + c_puct * P * sqrt(sum N + 1) / (1 + N)``
    (``q = W / N`` where visited, else 0) into ``ties``, in order; return how many."""
    k = N.shape[0]
    total = 0.0
    for i in range(k):
        total += N[i]
    sq = math.sqrt(total + 1.0)
    best = -math.inf
    n = 0
    for i in range(k):
        q = W[i] / max(N[i], 1.0) if N[i] > 0 else 0.0
        u = q + c_puct * P[i] * sq / (1.0 + N[i])
        if u > best:
            best = u
            n = 0
        if u == best:
            ties[n] = i
            n += 1
    return n
