"""Compiled NNUE inference: feature codes, the accumulator (full refresh and incremental
update) and the head, in float and in quantised integers.  It sits with the players'
other compiled evaluator (the heuristic's features) so that the compiled alpha-beta
(``_k_alphabeta``) can call either; the NNUE's file, feature-set identity, evaluator
class, players and training live in :mod:`ringrift_ml.nnue`.

One accumulator row per perspective (seat ``p`` at row ``p - 1``): ``b1`` plus the first
layer's rows of the perspective's active features.  :func:`update` compares every
cell's code with the code the accumulator last saw and applies only the differences
(one row subtracted and one added per changed cell and perspective), so the cost of
moving from one position to a nearby one (a search's next leaf) is the cells that
differ, not the features that are active.  :func:`refresh` rebuilds it from nothing;
the tests check that both agree.

Quantisation (after the usual NNUE scheme): the accumulator and the first layer are
int16 in units of ``1 / QA``; the head's inputs are clipped to ``[0, QA]`` (the float
network's clipped ReLU on ``[0, 1]``), its weights int8, each output's column in
units of ``1 / d`` with its own power of two ``d`` (at least ``QB``: the largest that
keeps the column within int8, so a column of small weights keeps its resolution), its
biases int32 in units of ``1 / (QA * d)``; each hidden output's sum is divided by its
``d`` back to units of ``1 / QA`` and clipped.  The output is ``tanh`` of the last sum
over ``QA * d`` of the output weights.
Search runs the head on the lane layout (:func:`lane_layout`): the same integers summed
in float32 vector lanes, exact by construction and checked against
:func:`head_quantised`.
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
    marker_owner,
    num_players,
    phase_index,
    rings_in_hand,
    rings_on_board,
    rings_per_player,
    stack_height,
    territory,
    territory_minimum,
)
from ..rules.view import PHASE_NAMES

# The feature layout (``ringrift_ml.nnue.features`` names it and hashes it).
HEIGHT_BUCKETS = 5
CAP_BUCKETS = 3
SEATS = 4
STACK_CODES = SEATS * HEIGHT_BUCKETS * CAP_BUCKETS  # 60
MARKER_BASE = STACK_CODES
COLLAPSED_BASE = MARKER_BASE + SEATS
CODES = COLLAPSED_BASE + SEATS  # 68 per cell
SEAT_GLOBALS = ("present", "hand", "eliminated", "territory", "on_board")
MOVER_BASE = SEATS * len(SEAT_GLOBALS)
PHASE_BASE = MOVER_BASE + SEATS
PLAYERS_BASE = PHASE_BASE + len(PHASE_NAMES)
N_GLOBALS = PLAYERS_BASE + 3

QA = 127
QB = 64
"""The smallest head divisor: the scale of a column whose largest weight needs it (the
training clamps every head weight to ``127 / QB``)."""
QB_MAX = 1 << 14
"""The largest head divisor (a column of weights below ``127 / QB_MAX``, or of none)."""


@njit(cache=True, inline="always")
def _relative(q, p, n):
    """Seat ``q`` relative to seat ``p`` of ``n``, ``(q - p) mod n`` for seats in 1..n,
    without a division: a leaf computes it for every cell and perspective, and the
    division was a tenth of a leaf's time."""
    d = q - p
    return d + n if d < 0 else d


@njit(cache=True, inline="always")
def cell_code(S, c, p, n):
    """The code of cell ``c`` seen from seat ``p`` of ``n`` (-1: an empty cell)."""
    q = controller(S, c)
    if q > 0:
        h = min(stack_height(S, c), HEIGHT_BUCKETS) - 1
        k = min(cap_height(S, c), CAP_BUCKETS) - 1
        return _relative(q, p, n) * (HEIGHT_BUCKETS * CAP_BUCKETS) + h * CAP_BUCKETS + k
    m = marker_owner(S, c)
    if m > 0:
        return MARKER_BASE + _relative(m, p, n)
    o = collapsed_owner(S, c)
    if o > 0:
        return COLLAPSED_BASE + _relative(o, p, n)
    return -1


@njit(cache=True)
def active_features(S, ncells, p, out):
    """The active feature indices of perspective ``p`` into ``out``; returns their count."""
    n = num_players(S)
    k = 0
    for c in range(ncells):
        code = cell_code(S, c, p, n)
        if code >= 0:
            out[k] = c * CODES + code
            k += 1
    return k


@njit(cache=True, inline="always")
def globals_into(S, p, out):
    """The dense inputs of perspective ``p`` (``features.GLOBAL_NAMES``), about [0, 1]."""
    n = num_players(S)
    out[:] = 0.0
    rpp = max(rings_per_player(S), 1)
    thr = max(elimination_threshold(S), 1)
    tmin = max(territory_minimum(S), 1)
    for r in range(n):
        q = (p - 1 + r) % n + 1
        b = r * 5
        out[b] = 1.0
        out[b + 1] = rings_in_hand(S, q) / rpp
        out[b + 2] = eliminated_rings(S, q) / thr
        out[b + 3] = territory(S, q) / tmin
        out[b + 4] = rings_on_board(S, q) / rpp
    out[MOVER_BASE + (current_player(S) - p) % n] = 1.0
    out[PHASE_BASE + phase_index(S)] = 1.0
    out[PLAYERS_BASE + n - 2] = 1.0


@njit(cache=True)
def refresh(S, ncells, W1, b1, acc, codes):
    """Rebuild every perspective's accumulator row and remembered codes from nothing."""
    n = num_players(S)
    hidden = b1.shape[0]
    for p in range(1, n + 1):
        for j in range(hidden):
            acc[p - 1, j] = b1[j]
        for c in range(ncells):
            code = cell_code(S, c, p, n)
            codes[p - 1, c] = code
            if code >= 0:
                f = c * CODES + code
                for j in range(hidden):
                    acc[p - 1, j] += W1[f, j]


@njit(cache=True)
def update(S, ncells, W1, acc, codes):
    """Bring the accumulator from the position it last saw to ``S`` (same game, same
    player count): only cells whose code changed are touched.  Returns how many
    (cell, perspective) pairs changed."""
    changed = 0
    for p in range(1, num_players(S) + 1):
        changed += update_seat(S, ncells, W1, acc, codes, p)
    return changed


@njit(cache=True, inline="always")
def update_seat(S, ncells, W1, acc, codes, p):
    """:func:`update` for perspective ``p`` alone: what a leaf that asks one seat's value
    needs.  Each perspective's row keeps its own remembered codes, so the rows of the
    other perspectives stay valid for the positions they last saw and catch up when
    asked (alpha-beta asks the root seat at every leaf: half the work in two-player
    games, a quarter in four).  Inlined (as are the globals) into the leaf that calls it:
    the call alone, a dozen arrays passed, was a tenth of a leaf's time."""
    n = num_players(S)
    hidden = W1.shape[1]
    changed = 0
    for c in range(ncells):
        code = cell_code(S, c, p, n)
        old = codes[p - 1, c]
        if code == old:
            continue
        changed += 1
        if old >= 0:
            f = c * CODES + old
            for j in range(hidden):
                acc[p - 1, j] -= W1[f, j]
        if code >= 0:
            f = c * CODES + code
            for j in range(hidden):
                acc[p - 1, j] += W1[f, j]
        codes[p - 1, c] = code
    return changed


@njit(cache=True, inline="always")
def _head_inputs(hidden, pair):
    """How many of the head's inputs come from the accumulator row: all of it, or half
    with ``pair`` (each the product of an element of the first half and its partner in
    the second)."""
    return hidden // 2 if pair else hidden


@njit(cache=True, inline="always")
def _input_f(acc_row, i, n, pair):
    """The head's float input ``i``: the accumulator element clipped to [0, 1], or with
    ``pair`` the product of the clipped elements ``i`` and ``n + i``."""
    a = min(max(acc_row[i], 0.0), 1.0)
    if not pair:
        return a
    return a * min(max(acc_row[n + i], 0.0), 1.0)


@njit(cache=True, inline="always")
def _input_q(acc_row, i, n, pair):
    """The head's quantised input ``i`` (units of ``1 / QA``, in [0, QA]): the clipped
    accumulator element, or with ``pair`` the product of the clipped elements ``i`` and
    ``n + i`` brought back to units of ``1 / QA`` (rounded down)."""
    a = np.int32(acc_row[i])
    a = 0 if a < 0 else (QA if a > QA else a)
    if not pair:
        return a
    b = np.int32(acc_row[n + i])
    b = 0 if b < 0 else (QA if b > QA else b)
    return (a * b) // QA


@njit(cache=True)
def head_float(acc_row, pair, g, L1w, L1b, L2w, L2b, Ow, Ob, x, h1, h2):
    """The float head of one perspective: ``tanh`` of the output for the accumulator row
    (clipped to [0, 1]; with ``pair``, its first half times its second half) and the
    globals ``g``."""
    hidden = _head_inputs(acc_row.shape[0], pair)
    for i in range(hidden):
        x[i] = _input_f(acc_row, i, hidden, pair)
    for i in range(g.shape[0]):
        x[hidden + i] = g[i]
    for j in range(h1.shape[0]):
        h1[j] = L1b[j]
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            for j in range(h1.shape[0]):
                h1[j] += xi * L1w[i, j]
    for j in range(h2.shape[0]):
        h2[j] = L2b[j]
    for i in range(h1.shape[0]):
        v = min(max(h1[i], 0.0), 1.0)
        if v != 0.0:
            for j in range(h2.shape[0]):
                h2[j] += v * L2w[i, j]
    out = Ob
    for i in range(h2.shape[0]):
        out += min(max(h2[i], 0.0), 1.0) * Ow[i]
    return np.tanh(out)


@njit(cache=True)
def head_quantised(acc_row, pair, g, L1w, L1b, L1d, L2w, L2b, L2d, Ow, Ob, Od, x, h1, h2):
    """The integer head of one perspective (int16 accumulator, int8 weights, int32
    sums; ``L1d``, ``L2d`` each output's divisor, ``Od`` the output's); ``tanh`` of the
    dequantised output."""
    hidden = _head_inputs(acc_row.shape[0], pair)
    for i in range(hidden):
        x[i] = _input_q(acc_row, i, hidden, pair)
    for i in range(g.shape[0]):
        v = int(g[i] * QA + 0.5)
        x[hidden + i] = 0 if v < 0 else (QA if v > QA else v)
    for j in range(h1.shape[0]):
        h1[j] = L1b[j]
    for i in range(x.shape[0]):
        xi = np.int32(x[i])
        if xi != 0:
            for j in range(h1.shape[0]):
                h1[j] += xi * np.int32(L1w[i, j])
    for j in range(h2.shape[0]):
        h2[j] = L2b[j]
    for i in range(h1.shape[0]):
        v = h1[i] // L1d[i]
        v = 0 if v < 0 else (QA if v > QA else v)
        if v != 0:
            for j in range(h2.shape[0]):
                h2[j] += np.int32(v) * np.int32(L2w[i, j])
    out = np.int64(Ob)
    for i in range(h2.shape[0]):
        v = h2[i] // L2d[i]
        v = 0 if v < 0 else (QA if v > QA else v)
        out += np.int64(v) * np.int64(Ow[i])
    return np.tanh(out / (QA * Od))


# The lane layout of the quantised head.  Its weights are int8 and its inputs clipped to
# [0, QA], so every product is an integer of magnitude at most 128 * 127 and every partial
# sum of a layer with up to EXACT_INPUTS inputs stays below 2**24 in magnitude: an
# integer float32 holds it exactly, in any order of summation.  The head therefore sums
# in float32 lanes (what the vector units multiply and add fastest) and gets the integer
# path's sums bit for bit; :func:`head_quantised` is the reference the tests hold it to.
# Each output is a dot product over its contiguous row of the transposed int8 weights
# (widened to float32 in the loop: float32 rows, four times the cache, measured no
# faster), four outputs per pass over the inputs (each input read once per four
# outputs; eight per pass measured slower, one per pass a tenth slower per leaf); rows are
# padded with zeros to a multiple of LANE_INPUTS inputs so that the compiled loop runs
# whole vector iterations and no scalar remainder, and outputs to a multiple of
# LANE_OUTPUTS (padded outputs have zero weights and bias: they add nothing).
EXACT_INPUTS = (1 << 24) // (128 * QA)  # 1,032
LANE_INPUTS = 64
LANE_OUTPUTS = 4


@njit(cache=True, fastmath=True)
def _layer_lanes(xf, WT, b, sh, h):
    """``h[j] = clip((sum_i xf[i] * WT[j, i] + b[j]) >> sh[j], 0, QA)`` (the divisor
    ``2 ** sh[j]``, a shift: a division by a number known only at run time was a
    division instruction per output) for every (padded)
    output ``j``; returns nothing.  ``fastmath`` lets the sums reassociate into vector
    lanes, harmless here because every partial sum is an exact integer."""
    n_in = WT.shape[1]
    for j in range(0, WT.shape[0], LANE_OUTPUTS):
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        s3 = np.float32(0.0)
        for i in range(n_in):
            xi = xf[i]
            s0 += xi * np.float32(WT[j, i])
            s1 += xi * np.float32(WT[j + 1, i])
            s2 += xi * np.float32(WT[j + 2, i])
            s3 += xi * np.float32(WT[j + 3, i])
        _emit(s0, b, sh, h, j)
        _emit(s1, b, sh, h, j + 1)
        _emit(s2, b, sh, h, j + 2)
        _emit(s3, b, sh, h, j + 3)


@njit(cache=True, inline="always")
def _emit(s, b, sh, h, j):
    """Output ``j`` of a layer from its sum ``s``: bias, back to units of ``1 / QA`` (an
    arithmetic shift: the floor of the division, as in :func:`head_quantised`), clipped."""
    v = (np.int32(s) + b[j]) >> sh[j]
    h[j] = 0 if v < 0 else (QA if v > QA else v)


@njit(cache=True, inline="always")
def head_quantised_lanes(acc_row, pair, g, WT1, L1b, L1s, WT2, L2b, L2s, Ow, Ob, Od, xf, h1f, h2f):
    """:func:`head_quantised` on the lane layout (:func:`lane_layout`): the same value,
    bit for bit."""
    hidden = _head_inputs(acc_row.shape[0], pair)
    for i in range(hidden):
        xf[i] = np.float32(_input_q(acc_row, i, hidden, pair))
    for i in range(g.shape[0]):
        v = int(g[i] * QA + 0.5)
        xf[hidden + i] = np.float32(0 if v < 0 else (QA if v > QA else v))
    _layer_lanes(xf, WT1, L1b, L1s, h1f)
    _layer_lanes(h1f, WT2, L2b, L2s, h2f)
    out = np.int64(Ob)
    for i in range(Ow.shape[0]):
        out += np.int64(h2f[i]) * np.int64(Ow[i])
    return np.tanh(out / (QA * Od))


def _padded(n: int, m: int) -> int:
    return -(-n // m) * m


def lane_layout(L1wq, L1bq, L1dq, L2wq, L2bq, L2dq, Owq) -> tuple:
    """``(WT1, L1b, L1s, WT2, L2b, L2s, Ow, xf, h1f, h2f)``: the quantised head's int8
    weights transposed and padded into rows for :func:`head_quantised_lanes`, its biases,
    divisors (as shifts, ``log2`` of each) and output weights padded to match (a padded
    output: no weights, no bias, divisor 1), and the float32 buffers it works in.
    ``ValueError`` if a layer has more inputs than float32 sums exactly."""
    n_in, l1 = L1wq.shape
    l2 = L2wq.shape[1]
    if max(n_in, l1) > EXACT_INPUTS:
        raise ValueError(f"nnue: the quantised head sums exactly up to {EXACT_INPUTS} inputs per layer; "
                         f"this one has {n_in} (accumulator and globals) and {l1} (first hidden layer)")
    for name, d in (("L1", L1dq), ("L2", L2dq)):
        d = np.asarray(d)
        if np.any(d < 1) or np.any(d & (d - 1)):
            raise ValueError(f"nnue: the {name} divisors must be powers of two, got {sorted(set(d.tolist()))}")
    p1, p2 = _padded(l1, LANE_OUTPUTS), _padded(l2, LANE_OUTPUTS)
    WT1 = np.zeros((p1, _padded(n_in, LANE_INPUTS)), dtype=np.int8)
    WT1[:l1, :n_in] = L1wq.T
    WT2 = np.zeros((p2, _padded(p1, LANE_INPUTS)), dtype=np.int8)
    WT2[:l2, :l1] = L2wq.T
    b1, b2 = np.zeros(p1, dtype=np.int32), np.zeros(p2, dtype=np.int32)
    b1[:l1], b2[:l2] = L1bq, L2bq
    d1, d2 = np.zeros(p1, dtype=np.int32), np.zeros(p2, dtype=np.int32)
    d1[:l1] = np.log2(np.asarray(L1dq, dtype=np.float64)).round()
    d2[:l2] = np.log2(np.asarray(L2dq, dtype=np.float64)).round()
    Ow = np.zeros(p2, dtype=np.int8)
    Ow[:l2] = Owq
    return (WT1, b1, d1, WT2, b2, d2, Ow, np.zeros(WT1.shape[1], dtype=np.float32),
            np.zeros(WT2.shape[1], dtype=np.float32), np.zeros(p2, dtype=np.float32))


@njit(cache=True)
def evaluate_float(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2, out):
    """Every seat's value of ``S`` (float path; the shifts and the divisor, there for the quantised
    path's signature, are not read): the accumulator brought up to date, then each
    perspective's head."""
    update(S, ncells, W1, acc, codes)
    for p in range(1, num_players(S) + 1):
        globals_into(S, p, g)
        out[p - 1] = head_float(acc[p - 1], pair, g, L1w, L1b, L2w, L2b, Ow, Ob, x, h1, h2)


@njit(cache=True)
def evaluate_quantised(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2, out):
    """Every seat's value of ``S`` (quantised path; the head's arrays in the lane layout,
    :func:`lane_layout`, with its buffers as ``x``, ``h1``, ``h2``)."""
    update(S, ncells, W1, acc, codes)
    for p in range(1, num_players(S) + 1):
        globals_into(S, p, g)
        out[p - 1] = head_quantised_lanes(acc[p - 1], pair, g, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, x, h1, h2)


@njit(cache=True, inline="always")
def evaluate_seat_quantised(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2,
                            p):
    """Seat ``p``'s value of ``S`` alone (quantised): what a two-sided search needs at a leaf."""
    update_seat(S, ncells, W1, acc, codes, p)
    globals_into(S, p, g)
    return head_quantised_lanes(acc[p - 1], pair, g, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, x, h1, h2)


@njit(cache=True)
def evaluate_seat_float(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2, p):
    """Seat ``p``'s value of ``S`` alone (float path)."""
    update_seat(S, ncells, W1, acc, codes, p)
    globals_into(S, p, g)
    return head_float(acc[p - 1], pair, g, L1w, L1b, L2w, L2b, Ow, Ob, x, h1, h2)
