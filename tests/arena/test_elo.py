"""Elo by maximum likelihood, pairwise scoring of multiplayer games, and SPRT."""

import numpy as np
import pytest

from ringrift_ml.arena import SPRT, PairRecord, fit_elo, pairwise_from_ranks


def _simulate(true, games, rng):
    names = sorted(true)
    recs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
            pts = rng.binomial(games, p)
            recs.append(PairRecord(a, b, float(pts), games))
    return recs


def test_fit_recovers_known_ratings_within_error():
    true = {"random": 0.0, "heuristic": 300.0, "mcts": 550.0}
    elo, se = fit_elo(_simulate(true, 400, np.random.default_rng(0)), anchor="random")
    assert elo["random"] == 0.0 and se["random"] == 0.0
    for name in ("heuristic", "mcts"):
        assert abs(elo[name] - true[name]) < 3 * se[name] + 5, (name, elo, se)
        assert 0 < se[name] < 60


def test_more_games_shrink_the_error():
    true = {"a": 0.0, "b": 100.0}
    _, se_small = fit_elo(_simulate(true, 50, np.random.default_rng(1)), anchor="a")
    _, se_big = fit_elo(_simulate(true, 2000, np.random.default_rng(1)), anchor="a")
    assert se_big["b"] < se_small["b"] / 3


def test_perfect_record_stays_finite():
    elo, se = fit_elo([PairRecord("a", "b", 10.0, 10)], anchor="b")
    assert 200 < elo["a"] < 2000 and np.isfinite(se["a"])


def test_pairwise_from_ranks_with_ties():
    recs = pairwise_from_ranks(["x", "y", "z"], {1: 1, 2: 2, 3: 2})
    pts = {(r.a, r.b): r.points for r in recs}
    assert pts == {("x", "y"): 1.0, ("x", "z"): 1.0, ("y", "z"): 0.5}


def test_bad_records_rejected():
    with pytest.raises(ValueError, match="points"):
        fit_elo([PairRecord("a", "b", 5.0, 3)], anchor="a")


def test_sprt_decides_and_validates():
    rng = np.random.default_rng(2)
    test = SPRT(elo0=0, elo1=50)
    strong = list(rng.choice([1.0, 0.0], size=2000, p=[0.7, 0.3]))
    equal = list(rng.choice([1.0, 0.0], size=2000, p=[0.5, 0.5]))

    def first_decision(scores):
        for n in range(2, len(scores)):
            d = test.decide(scores[:n])
            if d:
                return d, n
        return None, len(scores)

    assert first_decision(strong)[0] == "H1"
    assert first_decision(equal)[0] == "H0"
    with pytest.raises(ValueError):
        SPRT(elo0=10, elo1=5)


def test_sequential_match_stops_early_against_a_much_weaker_player():
    from ringrift_ml.ai import Budget, HeuristicEvaluator, HeuristicPlayer, RandomPlayer
    from ringrift_ml.arena import sequential_match

    strong = HeuristicPlayer(HeuristicEvaluator.for_board("hex8", 2))
    out = sequential_match(strong, RandomPlayer(), Budget(nodes=100_000), Budget(nodes=1), "hex8",
                           SPRT(elo0=0, elo1=100), max_games=200, progress=False)
    assert out["decision"] == "H1" and out["games"] < 200 and out["score"] > 0.6


@pytest.mark.parametrize("players,opponent,reverse,elo1,decision", [
    (2, "random", False, 200, "H1"), (2, "random", True, 200, "H0"), (3, "random", False, 200, "H1"),
    (2, "same", False, 35, None)])
def test_sequential_match_in_process_counts_what_the_chunked_path_counts(players, opponent, reverse, elo1,
                                                                         decision):
    """The in-process path (a finished game replaced at once, play stopped when the test
    decides) counts the same games in the same order, with the same decision, as the
    chunked path a runner gets: H1 and H0 decided with games still in flight, and the
    horizon reached undecided."""
    from ringrift_ml.ai import Budget, HeuristicEvaluator, HeuristicPlayer, RandomPlayer
    from ringrift_ml.ai.games import play_games
    from ringrift_ml.arena import sequential_match

    strong = (HeuristicPlayer(HeuristicEvaluator.for_board("hex8", players), name="heuristic"), Budget(nodes=100_000))
    other = ((RandomPlayer(), Budget(nodes=1)) if opponent == "random" else
             (HeuristicPlayer(HeuristicEvaluator.for_board("hex8", players), name="same"), Budget(nodes=100_000)))
    (a, ab), (b, bb) = (other, strong) if reverse else (strong, other)
    outs, seen = [], []
    for runner in (None, play_games):
        kept: list = []
        outs.append(sequential_match(a, b, ab, bb, "hex8", SPRT(0, elo1), max_games=30, min_games=4, seed=5,
                                     progress=False, concurrency=3, random_opening=2, num_players=players,
                                     on_played=lambda pg, seat: kept.append((pg.job.seed, seat, len(pg.moves))),
                                     runner=runner))
        seen.append(kept)
    games = outs[0]["games"]
    assert outs[0]["decision"] == decision and (games < 30 if decision else games == 30)
    assert outs[0] == outs[1] and seen[0] == seen[1] and len(seen[0]) == games
    assert [s for s, _, _ in seen[0]] == list(range(5, 5 + games))  # in game order


def test_play_games_stops_when_asked():
    from ringrift_ml.ai import Budget, RandomPlayer
    from ringrift_ml.ai.games import GameJob, play_games

    jobs = [GameJob("square8", [RandomPlayer(), RandomPlayer()], [Budget(nodes=1)] * 2, seed=i) for i in range(6)]
    done: list = []
    out = play_games(jobs, concurrency=2, on_done=done.append, stop=lambda: len(done) >= 1)
    # Two games in flight: the first to end stops play, the other is abandoned (or ends
    # in the same round); the four never started stay None.
    assert 1 <= len(done) <= 2 and sum(x is not None for x in out) == len(done) and out[2:] == [None] * 4


def test_llr_path_is_the_statistic_after_each_game():
    rng = np.random.default_rng(3)
    scores = rng.choice([0.0, 0.5, 1.0], size=(3, 30))
    test = SPRT(elo0=0, elo1=35)
    path = test.llr_path(scores)
    for row, p in zip(scores, path):
        assert [test.llr(list(row[:k])) for k in range(1, 31)] == pytest.approx(list(p))


def test_gate_operating_characteristic():
    test = SPRT(elo0=0, elo1=35)
    oc = {(d, rule): test.operating_characteristic(d, 40, 200, rule, trials=3000, seed=1)
          for d in (-35, 0, 35, 70) for rule in ("reject", "llr")}
    for rule in ("reject", "llr"):
        passes = [oc[d, rule]["pass"] for d in (-35, 0, 35, 70)]
        assert passes == sorted(passes) and passes[-1] > passes[0]  # stronger passes more often
    for d in (-35, 0, 35, 70):
        # Same simulated games: the truncated rule passes whatever the strict one does, and more.
        assert oc[d, "llr"]["pass"] >= oc[d, "reject"]["pass"]
        assert oc[d, "llr"]["pass_early"] == oc[d, "reject"]["pass_early"]
        assert 40 <= oc[d, "llr"]["mean_games"] <= 200
    assert oc[0, "reject"]["pass"] <= 0.05  # the test's alpha bounds false passes of an equal player
    assert oc[35, "llr"]["pass"] > 2 * oc[35, "reject"]["pass"]  # 200 games are too few for the strict rule
    assert [test.at_horizon(v, rule) for v, rule in ((0.3, "llr"), (-0.1, "llr"), (0.0, "llr"), (5.0, "reject"))] \
        == ["H1", "H0", "H0", "H0"]
    with pytest.raises(ValueError, match="truncation"):
        test.operating_characteristic(0, 40, 200, "coin")
    with pytest.raises(ValueError, match="min_games"):
        test.operating_characteristic(0, 300, 200)
    with pytest.raises(ValueError, match="impossible"):
        test.operating_characteristic(400, 40, 200, draw_rate=0.9)


def test_head_to_head_hands_over_every_game_in_order_with_its_seat():
    from ringrift_ml.ai.factory import make_engine_player
    from ringrift_ml.arena import head_to_head

    a, ab = make_engine_player("heuristic", "square8", 3)
    b, bb = make_engine_player("random", "square8", 3)
    seen = []
    out = head_to_head(a, b, ab, bb, "square8", 4, seed=5, concurrency=3, progress=False, details=True,
                       num_players=3, on_played=lambda pg, seat: seen.append((pg, seat)))
    assert [s for _, s in seen] == [g["a_seat"] for g in out["games_played"]] == [1, 2, 3, 1]
    assert [pg.job.seed for pg, _ in seen] == [g["seed"] for g in out["games_played"]]
    assert all(pg.job.players[s - 1] is a for pg, s in seen)
    assert [len(pg.moves) for pg, _ in seen] == [g["moves"] for g in out["games_played"]]
    # every game falls in exactly one count: first, exactly half, last or a finish between
    scores = [g["score"] for g in out["games_played"]]
    assert out["wins"] + out["draws"] + out["losses"] + out["middle"] == 4
    assert out["middle"] == sum(x not in (0.0, 0.5, 1.0) for x in scores)


def test_head_to_head_counts_every_four_player_finish_once():
    """Second and third places of a 4-player game score 2/3 and 1/3 pairwise: neither a
    win, a draw nor a loss, so they have their own count and the counts add up."""
    from ringrift_ml.ai.factory import make_engine_player
    from ringrift_ml.arena import head_to_head

    a, ab = make_engine_player("random", "square8", 4)
    b, bb = make_engine_player("random", "square8", 4)
    out = head_to_head(a, b, ab, bb, "square8", 8, seed=3, progress=False, details=True, num_players=4)
    scores = [g["score"] for g in out["games_played"]]
    assert out["middle"] == sum(x not in (0.0, 0.5, 1.0) for x in scores) > 0
    assert out["wins"] + out["draws"] + out["losses"] + out["middle"] == 8
    assert out["wins"] == scores.count(1.0) and out["losses"] == scores.count(0.0)
