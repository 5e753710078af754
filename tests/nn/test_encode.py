"""The compiled encoder and index helpers give exactly what plain numpy code gives."""

import numpy as np
import pytest

from ringrift_ml.nn._k_encode import unique_inverse
from ringrift_ml.nn.features import GLOBALS, PLANES, SLOTS, encode, slot_of_players
from ringrift_ml.rules.view import PHASE_NAMES, StateView

from .test_policy import CONFIGS, _positions


def reference_encode(S, n_cells):
    """The encoding written with numpy over the rules' named reads."""
    v = StateView(S, n_cells)
    n, mover = v.num_players, v.current_player
    slot = slot_of_players(n, mover)
    planes = np.zeros((len(PLANES), n_cells), dtype=np.uint8)
    ctrl, heights, caps = v.controllers, v.stack_heights, v.cap_heights
    marks, coll = v.marker_owners, v.collapsed_owners
    rings = v.ring_counts()
    k = 5
    for p in range(1, n + 1):
        b = slot[p] * k
        mine = ctrl == p
        planes[b + 0] = np.where(mine, heights, 0)
        planes[b + 1] = np.where(mine, caps, 0)
        planes[b + 2] = rings[p - 1]
        planes[b + 3] = marks == p
        planes[b + 4] = coll == p
    base = SLOTS * k
    if 0 <= v.must_act_cell < n_cells:
        planes[base, v.must_act_cell] = 1
    planes[base + 1] = (heights == 0) & (marks == 0) & (coll == 0)
    planes[base + 2] = 1
    g = np.zeros(len(GLOBALS), dtype=np.float32)
    g[v.phase_index] = 1.0
    o = len(PHASE_NAMES)
    g[o + min(v.pending_index, 2)] = 1.0
    o += 3
    rpp = max(1, v.rings_per_player)
    for p in range(1, n + 1):
        b = o + slot[p] * 5
        g[b] = 1.0
        g[b + 1] = v.rings_in_hand(p) / rpp
        g[b + 2] = v.eliminated_rings(p) / max(1, v.elimination_threshold)
        g[b + 3] = v.territory(p) / max(1, v.territory_minimum)
        g[b + 4] = v.rings_on_board(p) / rpp
    o += SLOTS * 5
    g[o + n - 2] = 1.0
    o += 3
    g[o] = 1.0 if v.swap_available else 0.0
    g[o + 1] = v.lps_streak / max(1, v.lps_rounds_required)
    o += 2
    if v.lps_leader:
        g[o + slot[v.lps_leader]] = 1.0
    return planes, g


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_compiled_encoding_equals_the_numpy_reference(board, n):
    seen = stacked = 0
    for g, _ in _positions(board, n, 2, seed=3):
        cells = g.spec.n_cells
        planes, glob = encode(g.S, cells)
        ref_planes, ref_glob = reference_encode(g.S, cells)
        assert planes.dtype == np.uint8 and glob.dtype == np.float32
        assert np.array_equal(planes, ref_planes) and np.array_equal(glob, ref_glob)
        seen += 1
        stacked += int(planes[2].max() > 1)  # the mover's rings: tall stacks were seen
    assert seen > 20 and stacked > 0


def test_unique_inverse_is_numpy_unique():
    rng = np.random.default_rng(0)
    for size in (0, 1, 2, 7, 50, 300):
        idx = rng.integers(0, max(1, size // 3), size=size).astype(np.int64)
        values, inverse = unique_inverse(idx)
        ref_values, ref_inverse = np.unique(idx, return_inverse=True)
        assert np.array_equal(values, ref_values) and np.array_equal(inverse, ref_inverse)
        assert np.array_equal(values[inverse], idx)
