"""Compiled recovery actions (RR-CANON-R110-R115).

A player who controls no stack but has a marker and a buried ring may slide one
marker to an adjacent cell.  Slides that complete a line of the player's markers
through the destination take precedence; only when no such slide exists anywhere
are fallback slides (to an empty cell) and stack strikes (onto a stack) legal.  Each
paid recovery extracts the player's bottommost ring from the first stack (in board
order) that holds a buried ring of theirs: RingRift's reference engine offers no
choice of stack, so neither do the legal move lists here.

Move fields: ``F_A`` mode, ``F_B`` extraction stack (-1 when the option is free),
``F_C`` line option (1 collapse all, 2 one segment), ``F_D`` packs the line as
``(start * 8 + dir) * 64 + segment offset``.
"""

import numpy as np
from numba import njit

from ._k_board import eliminate_top, extract_bottommost, has_buried_ring, set_marker
from ._k_lines import collapse_line, line_through
from ._k_moves import emit
from ._layout import (
    AGE,
    CL,
    CT,
    F_A,
    F_B,
    F_C,
    F_D,
    F_FROM,
    F_TO,
    H,
    M_LINELEN,
    M_ONB,
    MK,
    MT,
    MV_RECOVERY_SLIDE,
    RM_FALLBACK,
    RM_LINE,
    RM_STACK_STRIKE,
)


@njit(cache=True)
def recovery_eligible(S, G, p):
    if S[MT, M_ONB + p - 1] <= 0:
        return False
    has_marker = False
    for c in range(G.ncells):
        if S[CT, c] == p:
            return False
        if S[MK, c] == p:
            has_marker = True
    return has_marker


@njit(cache=True)
def _extraction_stacks(S, G, p, out):
    """Stacks holding a buried ring of ``p``, the oldest first (``out[0]`` pays).

    RingRift's reference games name one stack per recovery slide: the stack that has
    stood longest on its cell (``hex8_3p_seed0001`` step 205, ``hex8_3p_seed0004``
    step 157), i.e. the first in the order stacks appeared on the board."""
    n = 0
    for c in range(G.ncells):
        if S[H, c] > 0 and has_buried_ring(S, c, p):
            out[n] = c
            n += 1
    best = 0
    for i in range(1, n):
        if S[AGE, out[i]] < S[AGE, out[best]]:
            best = i
    if n > 1:
        first = out[0]
        out[0] = out[best]
        out[best] = first
    return n


@njit(cache=True)
def gen_recovery(S, G, p, out, n):
    """Recovery slides for an eligible player ``p`` (skip_recovery is the caller's)."""
    L = S[MT, M_LINELEN]
    half = G.nd // 2
    ext = np.empty(G.ncells, np.int64)
    if _extraction_stacks(S, G, p, ext) == 0:
        return n  # nothing to pay with (not reachable for an eligible player)
    start_n = n
    for m in range(G.ncells):
        if S[MK, m] != p:
            continue
        for d in range(G.nd):
            if G.rlen[m, d] == 0:
                continue
            x = G.ray[m, d, 0]
            if S[H, x] > 0 or S[MK, x] > 0 or S[CL, x] > 0:
                continue
            # Try the slide in place, then undo it (markers only, hash untouched).
            S[MK, m] = 0
            S[MK, x] = p
            for a in range(half):
                start, length = line_through(S, G, x, p, a)
                if length < L:
                    continue
                base = (start * 8 + a) * 64
                n = emit(out, n, MV_RECOVERY_SLIDE, p, m, x, RM_LINE, ext[0], 1, base)
                if length > L:
                    for off in range(length - L + 1):
                        n = emit(out, n, MV_RECOVERY_SLIDE, p, m, x, RM_LINE, -1, 2, base + off)
            S[MK, x] = 0
            S[MK, m] = p
    if n > start_n:
        return n
    for m in range(G.ncells):
        if S[MK, m] != p:
            continue
        for d in range(G.nd):
            if G.rlen[m, d] == 0:
                continue
            x = G.ray[m, d, 0]
            if S[CL, x] > 0 or S[MK, x] > 0:
                continue
            mode = RM_STACK_STRIKE if S[H, x] > 0 else RM_FALLBACK
            n = emit(out, n, MV_RECOVERY_SLIDE, p, m, x, mode, ext[0], 0, 0)
    return n


@njit(cache=True)
def apply_recovery(S, G, p, mv):
    m = mv[F_FROM]
    x = mv[F_TO]
    mode = mv[F_A]
    if mode == RM_STACK_STRIKE:
        set_marker(S, G, m, 0)
        eliminate_top(S, G, x, p)
    else:
        set_marker(S, G, m, 0)
        set_marker(S, G, x, p)
        if mode == RM_LINE:
            packed = mv[F_D]
            off = packed % 64
            a = (packed // 64) % 8
            start, length = line_through(S, G, x, p, a)
            if mv[F_C] == 1:
                collapse_line(S, G, start, a, 0, length, p)
            else:
                collapse_line(S, G, start, a, off, S[MT, M_LINELEN], p)
    if mv[F_B] >= 0:
        extract_bottommost(S, G, mv[F_B], p, p)


@njit(cache=True)
def has_recovery_slide(S, G, p):
    """Does an eligible player ``p`` have any recovery slide (line, fallback or strike)?"""
    for m in range(G.ncells):
        if S[MK, m] != p:
            continue
        for d in range(G.nd):
            if G.rlen[m, d] > 0:
                x = G.ray[m, d, 0]
                if S[CL, x] == 0 and S[MK, x] == 0:
                    return True
    return False
