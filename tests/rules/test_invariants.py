"""Rules invariants over random games on every board x player count (hypothesis).

After every move: rings are conserved per colour, every cell has one occupant at
most, stack heights / caps / controllers and the incremental hash agree with the
rings, every stack has an age of its own, and the progress measure S = markers +
collapsed + eliminated never falls and strictly rises on every board-changing
action.  Every game ends.  The same holds under the golden games' rules.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringrift_ml.rules import GameState, new_game
from ringrift_ml.rules._k_board import cap_of, rebuild_derived
from ringrift_ml.rules._layout import (
    AGE,
    CL,
    CP,
    CT,
    H,
    M_AGE_SEQ,
    M_HAND,
    M_HASH,
    M_ONB,
    M_TOTAL_ELIM,
    MK,
    MOVE_TYPE_NAMES,
    MT,
    RG,
)
from ringrift_ml.rules.fast import FastGame
from ringrift_ml.rules.options import GOLDEN_GAME_RULES

CONFIGS = [(b, n) for b in ("square8", "hex8", "square19", "hexagonal") for n in (2, 3, 4)]
# Actions that must strictly raise S: each leaves a departure marker or eliminates a
# ring (RR-CANON-R191).  Placements and collapses of markers leave S unchanged by
# design: a region made only of markers turns them into territory one for one.
STRICT = {
    "move_stack",
    "overtaking_capture",
    "continue_capture_segment",
    "eliminate_rings_from_stack",
    "forced_elimination",
}
# A recovery slide pays one ring (S rises) unless it takes the free option of an
# overlength line, which collapses markers instead: then the territory grows.


def progress(S, n):
    return int(np.count_nonzero(S[MK, :n]) + np.count_nonzero(S[CL, :n]) + S[MT, M_TOTAL_ELIM])


def check_state(S, spec, np_):
    n = spec.n_cells
    h = S[H, :n]
    assert not np.any((h > 0) & (S[MK, :n] > 0)), "stack and marker share a cell"
    assert not np.any((S[CL, :n] > 0) & ((h > 0) | (S[MK, :n] > 0))), "collapsed cell is occupied"
    counts = np.zeros(5, dtype=np.int64)
    for c in np.nonzero(h)[0]:
        hh, bits = int(h[c]), int(S[RG, c])
        rings = [((bits >> (2 * i)) & 3) + 1 for i in range(hh)]
        assert S[CT, c] == rings[-1], f"controller of cell {c}"
        assert S[CP, c] == cap_of(bits, hh), f"cap height of cell {c}"
        for r in rings:
            counts[r] += 1
    rpp = spec.rings_per_player
    on_board_total = 0
    for p in range(1, np_ + 1):
        assert S[MT, M_ONB + p - 1] == counts[p], f"rings of colour {p} on the board"
        assert S[MT, M_HAND + p - 1] + counts[p] <= rpp, f"supply of colour {p}"
        on_board_total += counts[p] + S[MT, M_HAND + p - 1]
    assert on_board_total + S[MT, M_TOTAL_ELIM] == rpp * np_, "rings conserved overall"
    ages = S[AGE, :n]
    assert np.all((ages > 0) == (h > 0)), "a stack without an age, or an age without a stack"
    stacked = ages[h > 0]
    assert len(np.unique(stacked)) == len(stacked), "two stacks of the same age"
    assert np.all(stacked <= S[MT, M_AGE_SEQ]), "an age beyond the last one handed out"
    fresh = S.copy()
    rebuild_derived(fresh, spec.geo)
    assert fresh[MT, M_HASH] == S[MT, M_HASH], "incremental hash drifted"


def play_checked(board, players, seed, max_moves=20_000, rules_options=None):
    rng = np.random.default_rng(seed)
    g = FastGame(new_game(board, players, rules_options=rules_options))
    spec = g.spec
    prev_supply = [spec.rings_per_player] * players
    s_prev = progress(g.S, spec.n_cells)
    c_prev = 0
    moves = 0
    while not g.S[MT, 3]:
        rows = g.legal()
        assert len(rows) > 0, "an active game always has a legal move"
        row = rows[rng.integers(len(rows))]
        name = MOVE_TYPE_NAMES[int(row[0])]
        g.push(row)
        moves += 1
        check_state(g.S, spec, players)
        s_now = progress(g.S, spec.n_cells)
        assert s_now >= s_prev, f"progress fell after {name}"
        c_now = int(np.count_nonzero(g.S[CL, : spec.n_cells]))
        if name in STRICT:
            assert s_now > s_prev, f"progress did not rise after {name}"
        if name == "recovery_slide":
            assert s_now > s_prev or c_now > c_prev, "a recovery slide changed nothing lasting"
        assert c_now >= c_prev, f"collapsed cells reappeared after {name}"
        s_prev, c_prev = s_now, c_now
        for p in range(1, players + 1):
            supply = int(g.S[MT, M_HAND + p - 1] + g.S[MT, M_ONB + p - 1])
            assert supply <= prev_supply[p - 1], f"colour {p} regained rings"
            prev_supply[p - 1] = supply
        assert moves < max_moves, "game did not end"
    final = g.state()
    assert final.winner is not None and final.ranks[final.winner] == 1
    return final, moves


@pytest.mark.parametrize("board,players", CONFIGS)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_invariants_random_games(board, players, seed):
    play_checked(board, players, seed)


@pytest.mark.parametrize("board,players", CONFIGS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_invariants_random_games_golden_rules(board, players, seed):
    """The golden games' rules keep every invariant too, and their games end."""
    final, _ = play_checked(board, players, seed, rules_options=GOLDEN_GAME_RULES)
    assert final.rules_options["territoryRepresentation"] == "rings"


@pytest.mark.slow
@pytest.mark.parametrize("board,players", CONFIGS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_invariants_many_random_games(board, players, seed):
    play_checked(board, players, seed)


@pytest.mark.parametrize("board,players", CONFIGS)
def test_json_round_trip_mid_game(board, players):
    rng = np.random.default_rng(3)
    g = FastGame(new_game(board, players))
    for _ in range(int(rng.integers(20, 120))):
        if g.S[MT, 3]:
            break
        rows = g.legal()
        g.push(rows[rng.integers(len(rows))])
        state = g.state()
        again = GameState.from_json(state.to_json())
        # Everything survives except the raw stack-age stamps, which a reload renumbers
        # 1..k in the same order (GameState equality compares that order).
        assert again == state
        assert np.array_equal(again.S[:MT], state.S[:MT])
        assert np.array_equal(again.S[MT, :63], state.S[MT, :63])
