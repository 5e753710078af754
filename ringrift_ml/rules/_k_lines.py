"""Compiled line detection and collapse (RR-CANON-R120-R122).

A line is a maximal run of one player's markers along a line axis; it is reported as
``(start cell, positive direction, length)`` with cells ``start, ray[start, d, 0..]``.
"""

from numba import njit

from ._k_board import collapse_cell
from ._layout import MK


@njit(cache=True)
def line_cell(G, start, d, i):
    return start if i == 0 else G.ray[start, d, i - 1]


@njit(cache=True)
def find_lines(S, G, p, min_len, out):
    """Fill ``out[k] = (start, dir, length)`` for every line of ``p``; returns the count."""
    half = G.nd // 2
    n = 0
    for d in range(half):
        od = d + half
        for c in range(G.ncells):
            if S[MK, c] != p:
                continue
            if G.rlen[c, od] > 0 and S[MK, G.ray[c, od, 0]] == p:
                continue  # not the start of the run
            length = 1
            while length <= G.rlen[c, d] and S[MK, G.ray[c, d, length - 1]] == p:
                length += 1
            if length >= min_len:
                if n < out.shape[0]:
                    out[n, 0] = c
                    out[n, 1] = d
                    out[n, 2] = length
                n += 1
    return n


@njit(cache=True)
def has_line(S, G, p, min_len):
    half = G.nd // 2
    for d in range(half):
        od = d + half
        for c in range(G.ncells):
            if S[MK, c] != p:
                continue
            if G.rlen[c, od] > 0 and S[MK, G.ray[c, od, 0]] == p:
                continue
            length = 1
            while length <= G.rlen[c, d] and S[MK, G.ray[c, d, length - 1]] == p:
                length += 1
            if length >= min_len:
                return True
    return False


@njit(cache=True)
def line_through(S, G, x, p, d):
    """The run of ``p`` markers through ``x`` along axis ``d``: (start, length)."""
    od = d + G.nd // 2
    start = x
    while G.rlen[start, od] > 0 and S[MK, G.ray[start, od, 0]] == p:
        start = G.ray[start, od, 0]
    length = 1
    while length <= G.rlen[start, d] and S[MK, G.ray[start, d, length - 1]] == p:
        length += 1
    return start, length


@njit(cache=True)
def collapse_line(S, G, start, d, offset, count, owner):
    for i in range(offset, offset + count):
        collapse_cell(S, G, line_cell(G, start, d, i), owner)
