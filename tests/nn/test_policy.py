"""Every legal decision has its own policy index, on all 12 configurations."""

import numpy as np
import pytest

from ringrift_ml.nn.policy import GLOBAL_MOVES, decode, layout_for, move_indices
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame

CONFIGS = [(b, n) for b in ("square8", "hex8", "square19", "hexagonal") for n in (2, 3, 4)]
# Long games on the big boards: look at every k-th position to bound the time.
STRIDE = {"square8": 1, "hex8": 1, "square19": 5, "hexagonal": 7}
GAMES = {"square8": 6, "hex8": 6, "square19": 1, "hexagonal": 1}


def _positions(board, n, games, seed=0):
    rng = np.random.default_rng(seed)
    for gi in range(games):
        g = FastGame(new_game(board, n))
        ply = 0
        while not g.is_over and ply < 3000:
            rows = g.legal()
            if ply % STRIDE[board] == 0:
                yield g, rows
            g.apply(rows[rng.integers(len(rows))])
            ply += 1


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_no_two_decisions_share_an_index(board, n):
    lay = layout_for(board)
    checked = kinds = 0
    seen_types = set()
    for g, rows in _positions(board, n, GAMES[board], seed=n):
        idx = move_indices(board, g.S, rows)
        assert idx.min() >= 0 and idx.max() < lay.size
        by_index: dict = {}
        for r, i in zip(rows, idx):
            key = g.move(r).key(lay.grid.is_hex)
            by_index.setdefault(int(i), set()).add(key)
            seen_types.add(g.move(r).type)
        for i, keys in by_index.items():
            assert len(keys) == 1, (board, n, i, keys)
        # ... and one decision, one index.
        keys_to_idx: dict = {}
        for r, i in zip(rows, idx):
            keys_to_idx.setdefault(g.move(r).key(lay.grid.is_hex), set()).add(int(i))
        assert all(len(v) == 1 for v in keys_to_idx.values())
        # The best index decodes to a legal move.
        logits = np.random.default_rng(checked).normal(size=lay.size)
        best = decode(board, g.S, rows, logits)
        assert 0 <= best < len(rows) and idx[best] == idx[np.argmax(logits[idx])]
        checked += 1
        kinds += len(rows)
    assert checked > 50
    assert {"place_ring", "move_stack", "no_line_action"} <= seen_types


def test_layout_sizes_depend_on_the_grid_only():
    sq8, sq19, hx8, hx = (layout_for(b) for b in ("square8", "square19", "hex8", "hexagonal"))
    assert sq8.channels == sq19.channels and hx8.channels == hx.channels
    assert sq8.size == sq8.n_channels * 64 + len(GLOBAL_MOVES)
    assert hx8.size == hx8.n_channels * 81 + len(GLOBAL_MOVES)


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_array_lookups_agree_with_the_row_by_row_indexing(board, n):
    # move_indices indexes the common move types with array lookups; the row-by-row
    # path is the reference.  Random playouts reach every move type, recovery included.
    from ringrift_ml.nn.policy import _slow_indices

    seen = 0
    for g, rows in _positions(board, n, max(1, GAMES[board] // 2), seed=100 + n):
        assert np.array_equal(move_indices(board, g.S, rows), _slow_indices(board, g.S, rows, rows))
        seen += 1
    assert seen > 20


@pytest.mark.parametrize("board", ["square8", "hexagonal"])
def test_ring_counts_match_the_serialized_stacks(board):
    from ringrift_ml.rules.view import StateView

    for g, _ in _positions(board, 3, 1, seed=9):
        st = g.state()
        counts = StateView(st.S, st.spec.n_cells).ring_counts()
        want = np.zeros_like(counts)
        for key, stack in st.to_json()["board"]["stacks"].items():
            for p in stack["rings"]:
                want[p - 1, st.spec.cell_of_key(key)] += 1
        assert np.array_equal(counts, want)
