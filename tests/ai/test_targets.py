"""Policy targets that carry signal: the heuristic's move prior, the Gumbel root's
completed and rescaled Q, PUCT's target pruning, and the signal figures."""

import math

import numpy as np
import pytest

from ringrift_ml.ai import Budget, HeuristicEvaluator, SearchConfig, SearchPlayer
from ringrift_ml.ai.base import immediate_win
from ringrift_ml.ai.heuristic import _settle
from ringrift_ml.ai.search import completed_q, pruned_visits
from ringrift_ml.ai.signal import kl, summarize, target_stats
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame

from .test_search import ONE_MOVE, TWO_MOVE


def _midgame(board="square8", players=2, plies=40, seed=0) -> FastGame:
    """The first decision with at least 4 legal moves from ply ``plies`` of a seeded random game."""
    rng = np.random.default_rng(seed)
    while True:
        g = FastGame(new_game(board, players))
        while not g.is_over:
            rows = g.legal()
            if g.ply >= plies and len(rows) >= 4:
                return g
            g.apply(rows[rng.integers(len(rows))])


class Flat:
    """Every position worth 0 to every seat, with a fixed non-uniform prior."""

    def values(self, game):
        return np.zeros(game.num_players)

    def priors(self, game, rows):
        p = np.arange(1, len(rows) + 1, dtype=float)
        return p / p.sum()


def test_the_winning_move_takes_most_of_the_improved_policy():
    g = FastGame(ONE_MOVE)
    win = immediate_win(g, g.legal())
    assert win is not None
    flat_prior = HeuristicEvaluator.for_board("square8", 2, prior_temperature=0)  # the target is Q's doing
    mass = {}
    for rescale in (True, False):
        player = SearchPlayer(flat_prior, SearchConfig(root="gumbel", rescale_q=rescale), shortcut=False)
        r = player.think(g, Budget(nodes=32), seed=3)
        assert r.chosen == win
        mass[rescale] = r.policy[win]
    assert mass[True] > 0.8  # the rescaled Q puts most of the target on the win ...
    assert mass[False] < 0.5  # ... where Q mapped linearly from [-1, 1] moved it far less


def test_the_heuristic_prior_ranks_the_children_and_matches_the_python_path():
    ev = HeuristicEvaluator.for_board("square8", 2)
    g = FastGame(ONE_MOVE)
    rows = g.legal()
    p = ev.priors(g, rows)
    assert p.shape == (len(rows),) and p.sum() == pytest.approx(1) and int(np.argmax(p)) == immediate_win(g, rows)
    for g in (_midgame(plies=p_) for p_ in (10, 30, 50)):
        rows = g.legal()
        me = g.current_player
        ref = []
        for row in rows:
            h = g.copy()
            h.apply(row)
            _settle(h, me)
            ref.append(ev.values(h)[me - 1])
        assert np.allclose(ev.child_values(g, rows), ref)
    assert HeuristicEvaluator.for_board("square8", 2, prior_temperature=0).priors(g, rows) is None
    with pytest.raises(ValueError, match="prior_temperature"):
        HeuristicEvaluator.for_board("square8", 2, prior_temperature=-1)


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_searches_with_an_informative_prior_agree_across_seeds(root):
    # Tactical positions (a win now, a win in two), searched beyond the shortcut.
    cfg = SearchConfig(root=root)
    player = SearchPlayer(HeuristicEvaluator.for_board("square8", 2), cfg, shortcut=False)
    uniform = SearchPlayer(HeuristicEvaluator.for_board("square8", 2, prior_temperature=0), cfg, shortcut=False)
    same_uniform = 0
    for state in (ONE_MOVE, TWO_MOVE):
        g = FastGame(state)
        a, b = (player.think(g, Budget(nodes=64), seed=s) for s in (1, 2))
        assert a.chosen == b.chosen and np.abs(a.policy - b.policy).max() < 0.1  # a function of the position
        a, b = (uniform.think(g, Budget(nodes=64), seed=s) for s in (1, 2))
        same_uniform += a.chosen == b.chosen
    if root == "puct":  # with a flat prior PUCT's seed breaks the ties (Gumbel's rescaled Q finds these wins anyway)
        assert same_uniform < 2


def test_rescaling_leaves_the_prior_when_all_q_are_equal():
    q = completed_q(np.array([3, 0, 5, 1]), np.array([0.6, 0.0, 1.0, 0.2]), np.full(4, 0.25), 0.2)
    assert np.allclose(q, 0)  # every completed Q is 0.2: nothing to rescale
    q = completed_q(np.array([2, 0, 2]), np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.2, 0.3]), 0.0)
    # mixed value for the unvisited action: (0 + 4 * (0.5 * 0.5 + 0.3 * -0.5) / 0.8) / 5 = 0.1
    assert np.allclose(q, [1.0, 0.6, 0.0])
    # A whole search whose evaluations are all equal: the improved policy is the prior.
    g = _midgame(plies=30)
    player = SearchPlayer(Flat(), SearchConfig(root="gumbel"), shortcut=False)
    r = player.think(g, Budget(nodes=48), seed=0, explore=True)
    assert np.allclose(r.policy, Flat().priors(g, g.legal()))
    assert np.allclose(r.prior, r.policy) and target_stats(r.policy, r.prior)["kl_prior"] == pytest.approx(0, abs=1e-9)


def test_target_pruning_drops_the_visits_noise_forced():
    # The most visited child keeps its visits; a child whose Q shows it is worse keeps only
    # what its clean prior justifies; one whose Q matches the best keeps all.
    visits = np.array([40.0, 20.0, 12.0, 2.0])
    q = np.array([0.2, 0.2, -0.6, -0.5])
    prior = np.array([0.4, 0.3, 0.05, 0.02])
    out = pruned_visits(visits, q * visits, prior, c_puct=1.5)
    assert out[0] == 40 and out[1] == 20 and out[2] == 0 and out[3] == 0
    assert np.array_equal(pruned_visits(np.zeros(3), np.zeros(3), np.full(3, 1 / 3), 1.5), np.zeros(3))
    # In a search: with noise the recorded target is the pruned visits, the visits are kept.
    g = _midgame(plies=30)
    player = SearchPlayer(HeuristicEvaluator.for_board("square8", 2), SearchConfig(root="puct"))
    r = player.think(g, Budget(nodes=64), seed=5, explore=True)
    raw = r.visits / r.visits.sum()
    assert r.policy[np.argmax(r.visits)] >= raw.max()
    assert np.count_nonzero(r.policy) <= np.count_nonzero(raw)
    off = SearchPlayer(HeuristicEvaluator.for_board("square8", 2), SearchConfig(root="puct", prune_target=False))
    assert np.allclose(off.think(g, Budget(nodes=64), seed=5, explore=True).policy, raw)


def test_signal_figures():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    st = target_stats(p, np.full(4, 0.25))
    assert st["entropy"] == pytest.approx(math.log(2))
    assert st["kl_uniform"] == pytest.approx(math.log(4) - math.log(2)) == pytest.approx(st["kl_prior"])
    assert target_stats(p)["kl_prior"] is None
    assert kl(p, np.array([0.5, 0.5, 0, 0])) == 0
    with pytest.raises(ValueError, match="shapes"):
        kl(p, np.ones(3) / 3)
    recs = [{"search": [None, {"full": True, "entropy": 1.0, "kl_prior": 0.5, "kl_uniform": 2.0},
                        {"full": False, "entropy": 9.0}]},
            {"search": [{"full": True, "entropy": 3.0, "kl_prior": None, "kl_uniform": 0.0}]}, {"search": None}]
    assert summarize(recs) == {"targets": 2, "entropy": 2.0, "kl_prior": 0.5, "kl_uniform": 1.0}
