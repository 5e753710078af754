"""Compiled position features for the heuristic evaluator.

``features(S, G, out)`` fills ``out[p - 1, :]`` with the features of seat ``p``,
each scaled to roughly ``[0, 1]``.  The order is ``FEATURE_NAMES``; weight vectors
are stored against these names so that adding a feature never reorders old ones.
"""

import numpy as np
from numba import njit

from ..rules._k_moves import capture_target, free_run, stack_has_action
from ..rules._layout import (
    CP,
    CT,
    H,
    M_ELIM,
    M_HAND,
    M_LINELEN,
    M_NP,
    M_ONB,
    M_RPP,
    M_TERR,
    M_TMIN,
    M_VTHRESH,
    MK,
    MT,
)
from ..rules._layout import RG as RG_ROW

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
        a = S[CT, c]
        if a == 0:
            continue
        for d in range(G.nd):
            k = free_run(S, G.ray, G.rlen, c, d)
            t = capture_target(S, G.ray, G.rlen, c, d, S[H, c], S[CP, c], k)
            if t >= 0:
                threat[a - 1, S[CT, t] - 1] += 1.0


@njit(cache=True)
def features(S, G, out):
    np_ = S[MT, M_NP]
    rpp = max(S[MT, M_RPP], 1)
    L = S[MT, M_LINELEN]
    for p in range(np_):
        for f in range(out.shape[1]):
            out[p, f] = 0.0
    threat = np.zeros((4, 4))
    _threats(S, G, threat)
    half = G.nd // 2
    for c in range(G.ncells):
        q = S[CT, c]
        if q > 0:
            out[q - 1, 3] += 1.0
            out[q - 1, 4] += S[CP, c]
            if stack_has_action(S, G, c, S[H, c], S[CP, c]):
                out[q - 1, 7] += 1.0
            bits = S[RG_ROW, c]
            for i in range(S[H, c] - 1):
                owner = ((bits >> (2 * i)) & 3) + 1
                if owner != q:
                    out[owner - 1, 11] += 1.0
        m = S[MK, c]
        if m > 0:
            out[m - 1, 6] += 1.0
            for d in range(half):
                od = d + half
                if G.rlen[c, od] > 0 and S[MK, G.ray[c, od, 0]] == m:
                    continue
                run = 1
                while run <= G.rlen[c, d] and S[MK, G.ray[c, d, run - 1]] == m:
                    run += 1
                if run >= L - 1:
                    out[m - 1, 10] += 1.0
    for p in range(np_):
        out[p, 0] = S[MT, M_ELIM + p] / max(S[MT, M_VTHRESH], 1)
        out[p, 1] = S[MT, M_TERR + p] / max(S[MT, M_TMIN], 1)
        out[p, 2] = S[MT, M_HAND + p] / rpp
        out[p, 3] = out[p, 3] / 10.0
        out[p, 4] = out[p, 4] / rpp
        out[p, 5] = S[MT, M_ONB + p] / rpp
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
    np_ = S[MT, M_NP]
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
