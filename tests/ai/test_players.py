"""Players: interfaces, determinism, and tiny positions with known best moves."""

import json

import numpy as np
import pytest

from ringrift_ml.ai import (
    Budget,
    HeuristicEvaluator,
    HeuristicPlayer,
    MCTSConfig,
    MCTSPlayer,
    RandomPlayer,
    choose_move,
    load_weights,
    play_forced,
)
from ringrift_ml.ai.mcts import GumbelConfig, GumbelPlayer, visit_policy
from ringrift_ml.ai.descent import DescentPlayer
from ringrift_ml.ai.minimax import MinimaxConfig, MinimaxPlayer
from ringrift_ml.rules import GameState, apply_move, new_game
from ringrift_ml.rules.fast import FastGame

from ..positions import position


def _state(stacks, markers=None, elim1=0, hand=(0, 0), player=1):
    return position("square8", stacks, markers, player=player, hands=hand, eliminated=(elim1, 0))


EVAL = HeuristicEvaluator.for_board("square8", 2)
ENGINES = {
    "heuristic": (HeuristicPlayer(EVAL), Budget(nodes=10_000)),
    "mcts": (MCTSPlayer(EVAL), Budget(nodes=300)),
    "minimax": (MinimaxPlayer(EVAL), Budget(nodes=3_000)),
    "gumbel": (GumbelPlayer(EVAL), Budget(nodes=400)),
    "descent": (DescentPlayer(EVAL), Budget(nodes=2_000)),
}


def test_budget_validation():
    with pytest.raises(ValueError, match="budget"):
        Budget()
    with pytest.raises(ValueError, match="nodes"):
        Budget(nodes=0)
    with pytest.raises(ValueError, match="seconds"):
        Budget(seconds=-1)


def test_random_player_is_deterministic_and_legal():
    g = FastGame(new_game("hex8", 3))
    rows = g.legal()
    a = RandomPlayer().choose_row(g, Budget(nodes=1), seed=5)
    b = RandomPlayer().choose_row(g, Budget(nodes=1), seed=5)
    assert np.array_equal(a, b) and any(np.array_equal(a, r) for r in rows)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_takes_the_winning_elimination(engine):
    # Player 1 needs one more eliminated ring (threshold 18): only landing on the
    # marker at 0,5 eliminates one; every other move leaves the game going.
    s = _state({"0,0": [1], "7,7": [2, 2]}, markers={"0,5": 2}, elim1=17)
    player, budget = ENGINES[engine]
    move = choose_move(player, s, budget, seed=1)
    after = apply_move(s, move)
    assert after.is_over and after.winner == 1, str(move)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_takes_the_winning_capture(engine):
    # Capturing 1,1 and landing on the marker at 3,3 eliminates the 18th ring.
    s = _state({"0,0": [1], "1,1": [2], "6,0": [2, 2]}, markers={"3,3": 2}, elim1=17)
    player, budget = ENGINES[engine]
    move = choose_move(player, s, budget, seed=2)
    after = apply_move(s, move)
    while not after.is_over and after.current_player == 1:
        from ringrift_ml.rules import legal_moves

        after = apply_move(after, legal_moves(after)[0])
    assert after.winner == 1, str(move)


@pytest.mark.parametrize("engine", ["mcts", "minimax", "descent"])
def test_search_avoids_handing_over_a_win(engine):
    # Player 2 is one ring from victory; the player-1 stack at 3,3 can be captured
    # (cap 1 vs cap 2) only if player 1 leaves it where a landing on 3,6's marker
    # follows.  MCTS must prefer moves after which player 2 cannot win at once.
    s = _state({"3,0": [1], "3,2": [2, 2], "7,7": [1]}, markers={"3,5": 1}, elim1=0)
    s = GameState.from_json({**s.to_json(), "players": [
        {"playerNumber": 1, "ringsInHand": 0, "eliminatedRings": 0, "territorySpaces": 0},
        {"playerNumber": 2, "ringsInHand": 0, "eliminatedRings": 17, "territorySpaces": 0},
    ]})
    from ringrift_ml.rules import legal_moves

    player = {"mcts": MCTSPlayer(EVAL), "minimax": MinimaxPlayer(EVAL), "descent": DescentPlayer(EVAL)}[engine]
    move = choose_move(player, s, Budget(nodes=600 if engine == "mcts" else 5_000), seed=3)
    after = apply_move(s, move)
    # After player 1's turn, player 2 must not have an immediately winning move.
    while not after.is_over and after.current_player == 1:
        after = apply_move(after, legal_moves(after)[0])
    assert not after.is_over
    for reply in legal_moves(after):
        nxt = apply_move(after, reply)
        assert not (nxt.is_over and nxt.winner == 2), f"{move} lets player 2 win with {reply}"


def test_mcts_is_deterministic_and_counts_visits():
    g = FastGame(new_game("square8", 2))
    search = MCTSPlayer(EVAL, MCTSConfig())
    r1 = search.think(g, Budget(nodes=200), seed=4)
    r2 = search.think(g, Budget(nodes=200), seed=4)
    v1 = r1.visits
    assert np.array_equal(v1, r2.visits) and np.array_equal(r1.rows, r2.rows) and r1.chosen == r2.chosen
    assert r1.simulations == r2.simulations == 200 and v1.sum() == 200 and r1.full
    assert np.allclose(r1.policy, v1 / 200) and r1.chosen == int(np.argmax(v1))
    pol = visit_policy(v1, 1.0)
    assert abs(pol.sum() - 1) < 1e-12 and pol.argmax() == v1.argmax()
    with pytest.raises(ValueError, match="c_puct"):
        MCTSConfig(c_puct=0)


def test_heuristic_values_and_weights(tmp_path):
    g = FastGame(new_game("hexagonal", 4))
    v = EVAL.values(g)
    assert v.shape == (4,) and np.all(np.abs(v) <= 1)
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps({"default": {"version": "v1", "weights": {"charisma": 1.0}}}))
    with pytest.raises(ValueError, match="charisma"):
        load_weights("square8", 2, bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_weights("square8", 2, tmp_path / "missing.json")
    with pytest.raises(ValueError, match="weights"):
        HeuristicEvaluator(np.zeros(3))


def test_minimax_deepens_and_is_deterministic():
    g = FastGame(new_game("square8", 3))
    for _ in range(3):
        g.apply(g.legal()[0])
    play_forced(g)
    assert len(g.legal()) > 1
    p = MinimaxPlayer(EVAL, MinimaxConfig(max_depth=3))
    a = p.choose_row(g, Budget(nodes=20_000), seed=1)
    depth = p.last_depth
    b = MinimaxPlayer(EVAL, MinimaxConfig(max_depth=3)).choose_row(g, Budget(nodes=20_000), seed=1)
    assert np.array_equal(a, b) and 1 <= depth <= 3
    with pytest.raises(ValueError):
        MinimaxConfig(max_depth=0)


@pytest.mark.parametrize("board,n,evaluator,nodes", [("square8", 2, "heuristic", 400), ("hex8", 3, "heuristic", 400),
                                                     ("square8", 4, "heuristic", 400), ("square8", 2, "nnue", 400),
                                                     ("hex8", 3, "nnue-pairwise", 400),
                                                     ("hexagonal", 2, "heuristic", 60)])
def test_compiled_alpha_beta_is_the_python_search_node_for_node(board, n, evaluator, nodes):
    """The compiled search (``ai._k_alphabeta``) chooses the move, completes the depth and
    counts the nodes of the Python search on the same positions, budgets and seeds (on
    the hexagonal board positions have more legal moves than its buffers first hold);
    under a time budget it stops at the clock."""
    if evaluator.startswith("nnue"):
        from ringrift_ml.nnue.evaluator import NNUEEvaluator

        from ..nnue.test_nnue import random_weights

        pairwise = evaluator.endswith("pairwise")
        # One per search: the accumulator is state.
        make = lambda: NNUEEvaluator(random_weights(board, pairwise=pairwise))  # noqa: E731
    else:
        make = lambda: HeuristicEvaluator.for_board(board, n)  # noqa: E731
    fast = MinimaxPlayer(make())
    slow = MinimaxPlayer(make(), MinimaxConfig(compiled=False))
    from ringrift_ml.ai.games import random_positions

    for k, g in enumerate(random_positions(board, n, 8, seed=11)):
        before = g.S.copy()
        a = fast.choose_row(g, Budget(nodes=nodes), seed=k)
        b = slow.choose_row(g, Budget(nodes=nodes), seed=k)
        assert np.array_equal(a, b) and (fast.last_depth, fast.last_nodes) == (slow.last_depth, slow.last_nodes)
        assert np.array_equal(g.S, before)  # the root is left as it was
    assert fast.last_nodes == nodes and fast.last_depth >= 1
    # A time budget: the compiled search stops at the clock (looked at every CLOCK_EVERY
    # nodes) with a complete depth; without the clock it would deepen to max_depth.
    from ringrift_ml.ai._k_alphabeta import CLOCK_EVERY

    deep = MinimaxPlayer(make(), MinimaxConfig(max_depth=40))
    deep.choose_row(g, Budget(seconds=0.05), seed=0)
    assert deep.last_nodes > 0 and deep.last_nodes % CLOCK_EVERY == 0 and 1 <= deep.last_depth < 40
    # Both limits: whichever comes first.
    deep.choose_row(g, Budget(nodes=nodes, seconds=60.0), seed=0)
    assert deep.last_nodes == nodes


def test_gumbel_policy_and_determinism():
    g = FastGame(new_game("hex8", 2))
    s = GumbelPlayer(EVAL, GumbelConfig(max_considered=8))
    for explore in (False, True):
        r = s.think(g, Budget(nodes=64), seed=9, explore=explore)
        r2 = s.think(g, Budget(nodes=64), seed=9, explore=explore)
        assert r.chosen == r2.chosen and np.allclose(r.policy, r2.policy)
        assert abs(r.policy.sum() - 1) < 1e-9 and r.policy.shape == (len(r.rows),)
        assert r.visits.sum() == 64 == r.simulations and (r.visits > 0).sum() <= 8
    with pytest.raises(ValueError, match="nodes"):
        s.think(g, Budget(seconds=1.0), seed=1)


def test_descent_is_deterministic():
    g = FastGame(new_game("square8", 2))
    a = DescentPlayer(EVAL).choose_row(g, Budget(nodes=1_500), seed=4)
    b = DescentPlayer(EVAL).choose_row(g, Budget(nodes=1_500), seed=4)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_completes_the_winning_line(engine):
    # Three markers of player 1 on row 0; moving the stack at 3,0 off the row leaves a
    # fourth marker: the line collapses and paying for it eliminates the 18th ring.
    # Moves west pass over the markers and collapse them instead.
    s = _state({"3,0": [1, 1], "7,7": [2, 2]}, markers={"0,0": 1, "1,0": 1, "2,0": 1}, elim1=17)
    player, budget = ENGINES[engine]
    seed = 0
    while not s.is_over and s.current_player == 1:
        s = apply_move(s, choose_move(player, s, budget, seed=seed))
        seed += 1
    assert s.is_over and s.winner == 1, f"{engine} did not complete the line"
