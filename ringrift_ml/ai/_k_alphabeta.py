"""Compiled alpha-beta: the search of :class:`ringrift_ml.ai.minimax.MinimaxPlayer`
in numba, for the evaluators with compiled kernels (the heuristic, the NNUE).

The same algorithm, node for node, as the Python search it replaces when the budget
counts nodes: iterative deepening over the root moves in the order given, forced moves
played through without depth, terminal positions valued by final rank times
``WIN``, leaves by the evaluator for the root player, a transposition table keyed by
the position hash (depth, value, bound, best move; the oldest entry dropped when
full), captures searched first below the root, the table's best move before them.
Each node works on its own copy of the state array, so nothing is undone, and the
recursion of the Python search is an explicit stack of frames (numba's on-disk cache
of a recursive function crashes when it is loaded again).

The leaf is chosen by ``kind`` (:data:`HEURISTIC`, :data:`NNUE_QUANTISED`,
:data:`NNUE_FLOAT`) and reads its arrays from ``hargs`` (the heuristic's) or ``nargs``
(the NNUE's); the other tuple is a placeholder of the right types
(:data:`NO_HEURISTIC`, :data:`NO_NNUE`).  One signature per NNUE number type, no
function-typed argument: numba caches the compiled search on disk, as it does the
rules' kernels (a search that took its leaf as a function argument compiled anew in
every process, half a minute each).  The tests check that it chooses the move, reaches
the depth and counts the nodes of the Python search on the same positions.
"""

import time

import numpy as np
from numba import njit, objmode, types
from numba.typed import Dict

from ..rules.kernels import (
    ROW_WIDTH,
    apply_row,
    current_player,
    final_rank,
    is_capture_row,
    is_finished,
    legal_rows,
    num_players,
    state_hash,
)
from ._k_features import N_FEATURES, heuristic_values
from .base import rank_value
from ._k_nnue import evaluate_seat_float, evaluate_seat_quantised

WIN = 1_000.0
EXACT, LOWER, UPPER = 0, 1, 2
BUF_ROWS = 512
"""Move rows per search level held in the preallocated buffers (a position with more
legal moves gets a buffer of its own)."""

HEURISTIC, NNUE_QUANTISED, NNUE_FLOAT = 0, 1, 2
NO_HEURISTIC = (np.zeros(N_FEATURES), 1.0, np.zeros(4), np.zeros((4, N_FEATURES)))
"""The heuristic's arguments when another evaluator leads (never read)."""
NO_NNUE = (np.int64(0), np.int64(0), np.zeros((1, 1), np.int16), np.zeros((4, 1), np.int16), np.zeros((4, 1), np.int64),
           np.zeros((1, 1), np.int8), np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros((1, 1), np.int8),
           np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros(1, np.int8), np.int32(0), np.int64(1),
           np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32))
"""The NNUE's arguments when another evaluator leads (never read): the quantised path's
types, so that such a search shares the NNUE search's compiled code."""

_TT_VALUE = types.Tuple((types.int64, types.float64, types.int64, types.int64))
CLOCK_EVERY = 256
"""Nodes between two looks at the clock under a time budget (a look leaves compiled
code for ``time.perf_counter_ns``, a few microseconds; 256 nodes take 1-3 ms)."""


@njit(cache=True)
def now_ns():
    """``time.perf_counter_ns()`` from compiled code."""
    with objmode(t="int64"):
        t = time.perf_counter_ns()
    return t


@njit(cache=True)
def _leaf(S, G, me, kind, hargs, nargs):
    """The evaluator's value of ``S`` for seat ``me``."""
    if kind == HEURISTIC:
        w, scale, out, scratch = hargs
        heuristic_values(S, G, w, scale, out, scratch)
        return out[me - 1]
    ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2 = nargs
    if kind == NNUE_QUANTISED:
        return evaluate_seat_quantised(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od,
                                       g, x, h1, h2, me)
    return evaluate_seat_float(S, ncells, pair, W1, acc, codes, L1w, L1b, L1s, L2w, L2b, L2s, Ow, Ob, Od, g, x, h1, h2,
                               me)


@njit(cache=True)
def terminal_value(S, me):
    """Seat ``me``'s value of a finished game (``base.rank_value`` of its final rank)."""
    n = num_players(S)
    if n == 1:
        return 1.0
    return rank_value(final_rank(S, me), n)


@njit(cache=True)
def _legal(S, G, bufs, p):
    """The legal rows of ``S`` into frame ``p``'s buffer, grown (all frames kept) when
    they do not fit; returns ``(count, buffers)``."""
    n = legal_rows(S, G, bufs[p])
    if n > bufs.shape[1]:
        grown = np.empty((bufs.shape[0], 2 * n, ROW_WIDTH), dtype=np.int64)
        grown[:, :bufs.shape[1]] = bufs
        bufs = grown
        legal_rows(S, G, bufs[p])
    return n, bufs


@njit(cache=True)
def _order_into(bufs, p, n, first, out):
    """Captures first, then the rest, each in move order; ``first`` leads (-1: none)."""
    k = 0
    if 0 <= first < n:
        out[0] = first
        k = 1
    for want in (True, False):
        for i in range(n):
            if i != first and is_capture_row(bufs[p, i]) == want:
                out[k] = i
                k += 1


_ENTER, _NEXT, _RETURN = 0, 1, 2


@njit(cache=True)
def _value(child, G, me, depth, alpha, ctx, kind, hargs, nargs, tt, tt_size, counters):
    """The root player's value of ``child`` (a root move played), searched ``depth``
    decisions deep with the window ``(alpha, +inf)``, and the move and order buffers
    (grown if a position needed more room).  ``counters``: nodes visited, the node
    budget, set when the budget ran out (the value is then meaningless), the deadline
    in ``perf_counter_ns`` (0: none)."""
    St, bufs, order, D, A, B, A0, B0, best, best_i, cur, pos, nrows, keys, maxing = ctx
    p = 1
    St[1] = child
    D[1] = depth
    A[1] = alpha
    B[1] = np.inf
    mode = _ENTER
    ret = 0.0
    while True:
        if mode == _ENTER:
            if counters[0] >= counters[1] or (counters[3] != 0 and counters[0] % CLOCK_EVERY == 0
                                              and now_ns() >= counters[3]):
                counters[2] = 1
                return 0.0, bufs, order
            counters[0] += 1
            S = St[p]
            n = 0
            while True:  # forced moves are played through
                if is_finished(S):
                    break
                n, bufs = _legal(S, G, bufs, p)
                if n != 1:
                    break
                apply_row(S, G, bufs[p, 0])
            if is_finished(S):
                ret = terminal_value(S, me) * WIN
                mode = _RETURN
                continue
            if D[p] <= 0:
                ret = _leaf(S, G, me, kind, hargs, nargs)
                mode = _RETURN
                continue
            key = state_hash(S)
            first = -1
            if key in tt:
                h_depth, h_val, h_flag, h_move = tt[key]
                if h_depth >= D[p] and (h_flag == EXACT or (h_flag == LOWER and h_val >= B[p])
                                        or (h_flag == UPPER and h_val <= A[p])):
                    ret = h_val
                    mode = _RETURN
                    continue
                first = h_move
            if order.shape[1] < n:
                grown = np.empty((order.shape[0], 2 * n), dtype=np.int64)
                grown[:, :order.shape[1]] = order
                order = grown
            _order_into(bufs, p, n, first, order[p])
            keys[p] = key
            nrows[p] = n
            maxing[p] = current_player(S) == me
            A0[p] = A[p]
            B0[p] = B[p]
            best[p] = -np.inf if maxing[p] else np.inf
            best_i[p] = order[p, 0]
            pos[p] = 0
            mode = _NEXT
        elif mode == _NEXT:
            i = order[p, pos[p]]
            cur[p] = i
            St[p + 1] = St[p]
            apply_row(St[p + 1], G, bufs[p, i])
            D[p + 1] = D[p] - 1
            A[p + 1] = A[p]
            B[p + 1] = B[p]
            p += 1
            mode = _ENTER
        else:  # _RETURN: ``ret`` is frame p's value
            if p == 1:
                return ret, bufs, order
            p -= 1
            v = ret
            if maxing[p]:
                if v > best[p]:
                    best[p] = v
                    best_i[p] = cur[p]
                A[p] = max(A[p], v)
            else:
                if v < best[p]:
                    best[p] = v
                    best_i[p] = cur[p]
                B[p] = min(B[p], v)
            pos[p] += 1
            if A[p] < B[p] and pos[p] < nrows[p]:
                mode = _NEXT
                continue
            flag = EXACT
            if best[p] <= A0[p]:
                flag = UPPER
            elif best[p] >= B0[p]:
                flag = LOWER
            if len(tt) >= tt_size:
                for old in tt:  # the oldest entry (the table keeps insertion order)
                    tt.pop(old)
                    break
            tt[keys[p]] = (D[p], best[p], flag, best_i[p])
            ret = best[p]
            # mode stays _RETURN: frame p is done


@njit(cache=True)
def search(S, G, rows, order, max_depth, nodes, tt_size, kind, hargs, nargs, deadline_ns):
    """Iterative deepening from the root ``S`` over ``rows`` in ``order`` (the root
    player is the one to act) until ``nodes`` node visits, ``max_depth``, or the
    clock (``perf_counter_ns``) passes ``deadline_ns`` (0: no deadline; looked at
    every :data:`CLOCK_EVERY` nodes, as the Python search looks at every node).  Returns
    ``(index of the chosen row, depth completed, nodes visited)``."""
    me = current_player(S)
    tt = Dict.empty(key_type=types.int64, value_type=_TT_VALUE)
    frames = max_depth + 2
    ctx = (np.empty((frames,) + S.shape, dtype=S.dtype), np.empty((frames, BUF_ROWS, ROW_WIDTH), dtype=np.int64),
           np.empty((frames, BUF_ROWS), dtype=np.int64), np.zeros(frames, np.int64), np.zeros(frames),
           np.zeros(frames), np.zeros(frames), np.zeros(frames), np.zeros(frames), np.zeros(frames, np.int64),
           np.zeros(frames, np.int64), np.zeros(frames, np.int64), np.zeros(frames, np.int64),
           np.zeros(frames, np.int64), np.zeros(frames, np.bool_))
    counters = np.zeros(4, dtype=np.int64)
    counters[1] = nodes
    counters[3] = deadline_ns
    order = order.copy()
    best = order[0]
    done = 0
    child = np.empty_like(S)
    for depth in range(1, max_depth + 1):
        alpha = -np.inf
        best_v, best_i = -np.inf, order[0]
        for i in order:
            child[:] = S
            apply_row(child, G, rows[i])
            v, bufs, grown = _value(child, G, me, depth - 1, alpha, ctx, kind, hargs, nargs, tt, tt_size, counters)
            ctx = (ctx[0], bufs, grown) + ctx[3:]
            if counters[2]:
                break
            if v > best_v:
                best_v, best_i = v, i
            alpha = max(alpha, v)
        if counters[2]:
            break
        best = best_i
        done = depth
        # Search the previous best first at the next depth.
        k = 1
        reordered = np.empty_like(order)
        reordered[0] = best
        for i in order:
            if i != best:
                reordered[k] = i
                k += 1
        order = reordered
    return best, done, counters[0]
