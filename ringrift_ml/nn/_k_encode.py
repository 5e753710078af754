"""Compiled halves of the network's input and output plumbing: the position encoder,
the array-lookup move indices, and the sorted unique indices with their inverse.

Network selfplay calls these once per evaluated position; as numpy code each call
spent most of its time in per-call overhead (a dozen small array operations on a few
dozen cells or rows), which on square8 added up to about a fifth of selfplay.  The
functions here produce exactly what the numpy versions did (``tests/nn/test_encode``
compares them with plain reference code on random positions of every configuration);
the layout constants come from :mod:`.features` and :mod:`.policy`, which own them.
"""

import numpy as np
from numba import njit

from ..rules.kernels import (
    cap_height,
    collapsed_owner,
    controller,
    current_player,
    eliminated_rings,
    elimination_threshold,
    lps_leader,
    lps_rounds_required,
    lps_streak,
    marker_owner,
    must_act_cell,
    num_players,
    pending_index,
    phase_index,
    ring_owner,
    rings_in_hand,
    rings_on_board,
    rings_per_player,
    stack_height,
    swap_available,
    territory,
    territory_minimum,
)

MAX_RING_LEVELS = 32
"""Levels a stack's ring colours can hold (two bits each in one int64; the engine's limit)."""


@njit(cache=True)
def encode_into(S, n_cells, slot_planes, n_phases, n_slots, planes, g):
    """Fill ``planes`` (uint8 ``[C, >= n_cells]``, zeroed here) and ``g`` (float32,
    zeroed here) with the encoding of state ``S``: per seat slot (the mover is slot 0)
    ``slot_planes`` planes (controlled height, controlled cap, rings of the seat in the
    stack, marker, collapsed), then must-act, empty and valid; the globals as
    ``features.GLOBALS`` lists them (phase, pending kind, per slot presence and
    counts, player count, swap, last-player-standing streak and leader)."""
    planes[:] = 0
    g[:] = 0.0
    n = num_players(S)
    mover = current_player(S)
    slot = np.full(5, -1, dtype=np.int64)
    for k in range(n):
        slot[(mover - 1 + k) % n + 1] = k
    for c in range(n_cells):
        h = stack_height(S, c)
        q = controller(S, c)
        if 0 < q <= n:
            b = slot[q] * slot_planes
            planes[b, c] = h
            planes[b + 1, c] = cap_height(S, c)
        for i in range(min(h, MAX_RING_LEVELS)):
            o = ring_owner(S, c, i)
            if o <= n:
                planes[slot[o] * slot_planes + 2, c] += 1
        m = marker_owner(S, c)
        if 0 < m <= n:
            planes[slot[m] * slot_planes + 3, c] = 1
        x = collapsed_owner(S, c)
        if 0 < x <= n:
            planes[slot[x] * slot_planes + 4, c] = 1
        base = n_slots * slot_planes
        if h == 0 and m == 0 and x == 0:
            planes[base + 1, c] = 1
        planes[base + 2, c] = 1
    cell = must_act_cell(S)
    if 0 <= cell < n_cells:
        planes[n_slots * slot_planes, cell] = 1
    g[phase_index(S)] = 1.0
    o = n_phases
    g[o + min(pending_index(S), 2)] = 1.0
    o += 3
    rpp = max(1, rings_per_player(S))
    thr = max(1, elimination_threshold(S))
    tmin = max(1, territory_minimum(S))
    for p in range(1, n + 1):
        b = o + slot[p] * 5
        g[b] = 1.0
        g[b + 1] = rings_in_hand(S, p) / rpp
        g[b + 2] = eliminated_rings(S, p) / thr
        g[b + 3] = territory(S, p) / tmin
        g[b + 4] = rings_on_board(S, p) / rpp
    o += n_slots * 5
    g[o + n - 2] = 1.0
    o += 3
    g[o] = 1.0 if swap_available(S) else 0.0
    g[o + 1] = lps_streak(S) / max(1, lps_rounds_required(S))
    o += 2
    leader = lps_leader(S)
    if leader > 0:
        g[o + slot[leader]] = 1.0


@njit(cache=True)
def fast_move_indices(rows, t_col, from_col, to_col, b_col, move_code, capture_code, continue_code, place_code,
                      elim_code, forced_code, dir_of, move_ch, cap_ch, place_ch, flat, elim_ch, size, global_of,
                      global_base, out):
    """Policy indices of the rows found by table lookups alone (cell-free global moves,
    placements of 1-3 rings, movements, captures, eliminations) into ``out``; -1 for
    the others, which :func:`policy.move_indices` indexes one by one.  Returns how
    many are left at -1."""
    left = 0
    for i in range(rows.shape[0]):
        t = rows[i, t_col]
        to = rows[i, to_col]
        gl = global_of[t]
        v = -1
        if gl >= 0:
            v = global_base + gl
        elif t == move_code:
            v = move_ch[dir_of[rows[i, from_col], to]] * size + flat[to]
        elif t == capture_code or t == continue_code:
            v = cap_ch[dir_of[rows[i, from_col], to]] * size + flat[to]
        elif t == place_code and 1 <= rows[i, b_col] <= 3:
            v = place_ch[rows[i, b_col]] * size + flat[to]
        elif t == elim_code or t == forced_code:
            v = elim_ch * size + flat[to]
        out[i] = v
        if v < 0:
            left += 1
    return left


@njit(cache=True)
def unique_inverse(idx):
    """``(sorted distinct values, inverse)`` of an int64 array: what
    ``np.unique(idx, return_inverse=True)`` returns."""
    n = idx.shape[0]
    order = np.argsort(idx, kind="mergesort")
    inverse = np.empty(n, dtype=np.int64)
    values = np.empty(n, dtype=np.int64)
    k = -1
    for j in range(n):
        v = idx[order[j]]
        if k < 0 or v != values[k]:
            k += 1
            values[k] = v
        inverse[order[j]] = k
    return values[:k + 1].copy(), inverse
