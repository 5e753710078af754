"""Compiled position features for the heuristic evaluator.

``features(S, G, out)`` fills ``out[p - 1, :]`` with the features of seat ``p``,
each scaled to roughly ``[0, 1]``.  The order is ``FEATURE_NAMES``; weight vectors
are stored against these names so that adding a feature never reorders old ones.
"""

import numpy as np
from numba import njit

from ..rules.kernels import (
    apply_row,
    cap_height,
    capture_target,
    controller,
    eliminated_rings,
    elimination_threshold,
    free_run,
    is_finished,
    legal_rows,
    line_length,
    marker_owner,
    current_player,
    num_players,
    ring_owner,
    rings_in_hand,
    rings_on_board,
    rings_per_player,
    stack_has_action,
    stack_height,
    territory,
    territory_minimum,
)

FEATURE_NAMES = (
    "eliminated",  # rings credited / elimination threshold
    "territory",  # own collapsed cells / territory minimum
    "rings_in_hand",
    "stacks",  # controlled stacks
    "cap_total",  # sum of controlled cap heights
    "material",  # own rings on the board
    "markers",
    "mobility",  # controlled stacks that can move or capture
    "capture_threats",  # capture segments available against other seats' stacks
    "exposure",  # capture segments other seats have against own stacks
    "line_potential",  # runs of own markers one short of a line, or longer
    "buried",  # own rings under other players' caps
)
N_FEATURES = len(FEATURE_NAMES)


@njit(cache=True)
def _threats(S, G, threat):
    """threat[a, b] = directions in which seat a's stacks can capture a stack of seat b."""
    for c in range(G.ncells):
        a = controller(S, c)
        if a == 0:
            continue
        for d in range(G.nd):
            k = free_run(S, G.ray, G.rlen, c, d)
            t = capture_target(S, G.ray, G.rlen, c, d, stack_height(S, c), cap_height(S, c), k)
            if t >= 0:
                threat[a - 1, controller(S, t) - 1] += 1.0


@njit(cache=True)
def features(S, G, out):
    np_ = num_players(S)
    rpp = max(rings_per_player(S), 1)
    L = line_length(S)
    for p in range(np_):
        for f in range(out.shape[1]):
            out[p, f] = 0.0
    threat = np.zeros((4, 4))
    _threats(S, G, threat)
    half = G.nd // 2
    for c in range(G.ncells):
        q = controller(S, c)
        if q > 0:
            h = stack_height(S, c)
            out[q - 1, 3] += 1.0
            out[q - 1, 4] += cap_height(S, c)
            if stack_has_action(S, G, c, h, cap_height(S, c)):
                out[q - 1, 7] += 1.0
            for i in range(h - 1):
                owner = ring_owner(S, c, i)
                if owner != q:
                    out[owner - 1, 11] += 1.0
        m = marker_owner(S, c)
        if m > 0:
            out[m - 1, 6] += 1.0
            for d in range(half):
                od = d + half
                if G.rlen[c, od] > 0 and marker_owner(S, G.ray[c, od, 0]) == m:
                    continue
                run = 1
                while run <= G.rlen[c, d] and marker_owner(S, G.ray[c, d, run - 1]) == m:
                    run += 1
                if run >= L - 1:
                    out[m - 1, 10] += 1.0
    for p in range(np_):
        out[p, 0] = eliminated_rings(S, p + 1) / max(elimination_threshold(S), 1)
        out[p, 1] = territory(S, p + 1) / max(territory_minimum(S), 1)
        out[p, 2] = rings_in_hand(S, p + 1) / rpp
        out[p, 3] = out[p, 3] / 10.0
        out[p, 4] = out[p, 4] / rpp
        out[p, 5] = rings_on_board(S, p + 1) / rpp
        out[p, 6] = out[p, 6] / 20.0
        out[p, 7] = out[p, 7] / 10.0
        tp = 0.0
        ex = 0.0
        for q in range(np_):
            if q != p:
                tp += threat[p, q]
                ex += threat[q, p]
        out[p, 8] = tp / 10.0
        out[p, 9] = ex / 10.0
        out[p, 10] = out[p, 10] / 5.0
        out[p, 11] = out[p, 11] / rpp


@njit(cache=True)
def heuristic_values(S, G, w, scale, out_values, scratch):
    """Seat values in [-1, 1]: tanh(scale * (own score - mean of the others))."""
    features(S, G, scratch)
    np_ = num_players(S)
    scores = np.zeros(np_)
    for p in range(np_):
        s = 0.0
        for f in range(scratch.shape[1]):
            s += w[f] * scratch[p, f]
        scores[p] = s
    total = scores.sum()
    for p in range(np_):
        others = (total - scores[p]) / max(np_ - 1, 1)
        out_values[p] = np.tanh(scale * (scores[p] - others))


@njit(cache=True)
def child_values(S, G, rows, w, scale, settle, out, finished, scratch):
    """The heuristic value, for the player to act in ``S``, of the position each of
    ``rows`` leads to (after up to ``settle`` forced follow-ups of the same player, as
    the one-ply heuristic player sees it).  ``finished[i]`` is set when move ``i``
    ends the game; its ``out[i]`` is then left for the caller (terminal values need
    the final ranks)."""
    me = current_player(S)
    np_ = num_players(S)
    vals = np.zeros(np_)
    buf = np.empty((2, rows.shape[1]), dtype=rows.dtype)
    T = np.empty_like(S)
    for i in range(rows.shape[0]):
        T[:] = S
        apply_row(T, G, rows[i])
        for _ in range(settle):
            if is_finished(T) or current_player(T) != me:
                break
            if legal_rows(T, G, buf) != 1:
                break
            apply_row(T, G, buf[0])
        if is_finished(T):
            finished[i] = True
            out[i] = 0.0
            continue
        finished[i] = False
        heuristic_values(T, G, w, scale, vals, scratch)
        out[i] = vals[me - 1]
