"""The encoding commutes with the board's symmetries, and the symmetry tables of the
samples send every decision to its image, on all 12 configurations."""

import numpy as np
import pytest

from ringrift_ml.nn.augment import sym_legal_indices, symmetry_perms
from ringrift_ml.nn.features import encode
from ringrift_ml.nn.policy import move_indices
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame
from ringrift_ml.rules.symmetry import rules_symmetries, transform_move, transform_state

CONFIGS = [(b, n) for b in ("square8", "hex8", "square19", "hexagonal") for n in (2, 3, 4)]
EVERY = {"square8": 9, "hex8": 9, "square19": 60, "hexagonal": 120}


def _states(board, n, seed, every=None):
    rng = np.random.default_rng(seed)
    g = FastGame(new_game(board, n))
    ply = 0
    while not g.is_over:
        rows = g.legal()
        if ply % (every or EVERY[board]) == 0:
            yield g.state(), rows
        g.apply(rows[rng.integers(len(rows))])
        ply += 1


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_encoding_and_policy_indices_commute_with_every_symmetry(board, n):
    group = rules_symmetries(board)
    perms = symmetry_perms(board)
    assert len(group) == {"square8": 8, "square19": 8, "hexagonal": 12, "hex8": 4}[board]
    n_cells = new_game(board, n).spec.n_cells
    checked = 0
    for state, rows in _states(board, n, seed=11 * n):
        planes, glob = encode(state.S, n_cells)
        idx = move_indices(board, state.S, rows)
        legal, inverse = np.unique(idx, return_inverse=True)
        table = sym_legal_indices(state, rows, legal, inverse)
        fg = FastGame(state)
        for k, g in enumerate(group):
            t = transform_state(state, g)
            tp, tg = encode(t.S, n_cells)
            moved = np.empty_like(planes)
            moved[:, perms[k]] = planes
            assert np.array_equal(tp, moved), (board, n, g.name)
            assert np.array_equal(tg, glob)
            # the table's entry for each decision is the index of g(decision) in g(state)
            t_rows = FastGame(t).legal()
            t_idx = move_indices(board, t.S, t_rows)
            tf = FastGame(t)
            by_key = {tf.move(r).key(state.spec.is_hex): int(i) for r, i in zip(t_rows, t_idx)}
            for j, row in enumerate(rows):
                key = transform_move(fg.move(row), g, state.spec).key(state.spec.is_hex)
                assert by_key[key] == table[k, inverse[j]]
            assert sorted(set(t_idx.tolist())) == sorted(table[k].tolist())
        checked += 1
    assert checked >= 5


def _uncarried(board, legal):
    from ringrift_ml.nn.augment import index_perms

    return bool((index_perms(board)[0][legal] < 0).any())


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_the_index_table_agrees_with_the_engine(board, n):
    """The table path (placements, movements, captures, eliminations, cell-free
    decisions) and the engine path (lines, regions, recovery) give what the engine
    alone gives, on positions with decisions of both kinds."""
    from ringrift_ml.nn.augment import engine_sym_legal_indices

    with_engine, plain = 0, 0
    for seed in range(3):
        for state, rows in _states(board, n, seed=100 + seed, every=1):
            idx = move_indices(board, state.S, rows)
            legal, inverse = np.unique(idx, return_inverse=True)
            mixed = _uncarried(board, legal)
            if not mixed and (plain >= 6 or board in ("square19", "hexagonal") and plain >= 2):
                continue
            fast = sym_legal_indices(state, rows, legal, inverse)
            assert np.array_equal(fast, engine_sym_legal_indices(state, rows, legal, inverse)), (board, n)
            with_engine += mixed
            plain += not mixed
        if with_engine >= 3:
            break
    assert with_engine >= 1 and plain >= 2


@pytest.mark.parametrize("board", ["square8", "hex8", "square19", "hexagonal"])
def test_the_index_table_permutes_the_carried_indices(board):
    from ringrift_ml.nn.augment import index_perms

    tab = index_perms(board)
    carried = np.flatnonzero(tab[0] >= 0)
    assert np.array_equal(tab[0][carried], carried)  # the identity
    for k in range(len(tab)):
        image = tab[k][carried]
        assert (image >= 0).all()
        assert np.array_equal(np.sort(image), carried), k  # a bijection of the carried indices
    assert (tab[:, np.flatnonzero(tab[0] < 0)] == -1).all()
