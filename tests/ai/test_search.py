"""The search core: known best moves beyond the immediate-win shortcut, the
SearchResult contract, determinism, and batched evaluation equal to unbatched."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from ringrift_ml.ai import (
    Budget,
    HeuristicEvaluator,
    SearchConfig,
    SearchPlayer,
    SearchResult,
    make_engine_player,
    run_search,
    run_searches,
    search_steps,
)
from ringrift_ml.ai.base import immediate_win
from ringrift_ml.ai.games import GameJob, play_games
from ringrift_ml.nn.players import make_player
from ringrift_ml.rules import BOARD_TYPES, GameState, apply_move, new_game
from ringrift_ml.rules.fast import FastGame

from ..positions import position

EVAL = HeuristicEvaluator.for_board("square8", 2)


def _wins_by_next_turn(x: FastGame, me: int, opp_turns: int) -> bool:
    """Whether ``me`` wins whatever the others do, before they start a second turn."""
    if x.is_over:
        return x.winner == me
    rows = x.legal()
    mover = x.current_player
    results = []
    for r in rows:
        y = x.copy()
        y.apply(r)
        turns = opp_turns + (mover == me and not y.is_over and y.current_player != me)
        if turns > 1:
            ok = False
        else:
            ok = _wins_by_next_turn(y, me, turns)
        if mover == me and ok:
            return True
        if mover != me and not ok:
            return False
        results.append(ok)
    return mover != me


def forced_wins(state: GameState) -> tuple:
    """The engine as oracle: root moves after which the mover wins by the end of
    its next turn whatever the opponent does (every decision enumerated)."""
    g = FastGame(state)
    me = g.current_player
    rows = g.legal()
    wins = []
    for i, r in enumerate(rows):
        h = g.copy()
        h.apply(r)
        turns = int(not h.is_over and h.current_player != me)
        if _wins_by_next_turn(h, me, turns):
            wins.append(i)
    return rows, wins


# Player 1 is one ring short of victory: moving the stack at 3,2 onto its marker at 3,0
# eliminates a ring and wins; none of the other 16 moves wins.
ONE_MOVE = position("square8", {"3,2": [1, 1], "7,7": [2, 2], "0,7": [2]}, markers={"3,0": 1}, hands=(0, 0),
                    eliminated=(17, 0))

# Player 1 is two rings short of victory: no move wins at once, and only 5 of the 33
# moves (all of the stack at 3,3) win by the end of player 1's next turn whatever
# player 2 does (the oracle below enumerates every decision).
TWO_MOVE = position("square8", {"0,0": [1], "3,3": [1, 1], "7,7": [2, 2], "6,1": [2, 2]},
                    hands=(0, 0), eliminated=(16, 0))


def test_two_move_combination_is_beyond_the_shortcut():
    g = FastGame(TWO_MOVE)
    rows, wins = forced_wins(TWO_MOVE)
    assert immediate_win(g, rows) is None
    assert 1 <= len(wins) <= len(rows) // 6  # a needle, not most moves


@pytest.mark.parametrize("root,sims,seeds,extra", [
    ("puct", 3000, (0, 1), {}),
    ("gumbel", 500, (0, 1, 2), {"max_considered": 64}),
    ("gumbel", 400, (0, 1), {}),
    ("puct", 3000, (0,), {"leaves_per_eval": 4}),
])
def test_search_finds_the_two_move_combination(root, sims, seeds, extra):
    rows, wins = forced_wins(TWO_MOVE)
    player = SearchPlayer(EVAL, SearchConfig(root=root, **extra), shortcut=False)
    for seed in seeds:
        r = player.think(FastGame(TWO_MOVE), Budget(nodes=sims), seed)
        assert r.chosen in wins, (seed, str(FastGame(TWO_MOVE).move(r.row)))


def _opponent_wins_at_once(x: FastGame, me: int) -> bool:
    """After ``me`` moved: can ``me``'s own remaining decisions not avoid, or the
    opponent's first real decision of the next turn produce, a loss?"""
    if x.is_over:
        return x.winner not in (me, None)
    if x.current_player == me:
        return all(_opponent_wins_at_once(_after(x, r), me) for r in x.legal())
    while not x.is_over and len(x.legal()) == 1:  # the opponent's bookkeeping (no placement)
        x = _after(x, x.legal()[0])
    return x.is_over and x.winner != me or (not x.is_over and immediate_win(x, x.legal()) is not None)


def _after(x: FastGame, row) -> FastGame:
    y = x.copy()
    y.apply(row)
    return y


# Player 2 is one ring short of victory and lands on any marker it reaches: moving the
# stack at 3,0 leaves a marker there that the stack at 3,2 reaches; the moves of 7,7
# are safe.
AVOID = position("square8", {"3,0": [1], "3,2": [2, 2], "7,7": [1]}, hands=(0, 0), eliminated=(0, 17))


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_search_avoids_a_loss_two_moves_ahead(root):
    g = FastGame(AVOID)
    rows = g.legal()
    losing = [i for i, r in enumerate(rows) if _opponent_wins_at_once(_after(g, r), 1)]
    assert immediate_win(g, rows) is None and 0 < len(losing) < len(rows)
    for seed in (0, 1):
        r = SearchPlayer(EVAL, SearchConfig(root=root)).think(g, Budget(nodes=2000), seed)
        assert r.chosen not in losing, str(g.move(r.row))


def _three_player_win():
    """A 3-player position where landing on the marker at 0,5 wins for player 1."""
    s = position("square8", {"0,0": [1], "7,7": [2, 2], "7,0": [3, 3]}, markers={"0,5": 2},
                 hands=(0, 0, 0))
    t = FastGame(s).view().elimination_threshold
    return position("square8", {"0,0": [1], "7,7": [2, 2], "7,0": [3, 3]}, markers={"0,5": 2},
                    hands=(0, 0, 0), eliminated=(t - 1, 0, 0))


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_three_player_search_backs_up_each_seats_value(root):
    s = _three_player_win()
    player = SearchPlayer(EVAL3 := HeuristicEvaluator.for_board("square8", 3), SearchConfig(root=root),
                          shortcut=False)
    r = player.think(FastGame(s), Budget(nodes=300), seed=0)
    after = apply_move(s, FastGame(s).move(r.row))
    assert after.is_over and after.winner == 1
    assert r.values.shape == (3,) and r.values[0] > 0.5
    assert EVAL3 is player.evaluator


def _random_position(board: str, n: int, seed: int) -> FastGame:
    rng = np.random.default_rng(seed)
    g = FastGame(new_game(board, n))
    for _ in range(int(rng.integers(0, 60))):
        rows = g.legal()
        if g.is_over:
            break
        g.apply(rows[rng.integers(len(rows))])
    while not g.is_over and len(g.legal()) == 1:
        g.apply(g.legal()[0])
    return g


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    out = tmp_path_factory.mktemp("nets")
    torch.manual_seed(0)
    return {b: str(save_net(RingNet(net_config(b, "tiny")), out / f"{b}.pt", {}, {})) for b in BOARD_TYPES}


SPECS = ["random", "heuristic", "mcts:24", "gumbel:24", "minimax:200", "descent:200", "nn:{m}:16",
         "nn-puct:{m}:16", "policy:{m}"]


@pytest.mark.parametrize("board", ["square8", "hex8"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_every_player_returns_a_search_result(board, n, tiny_models):
    for k, spec in enumerate(SPECS):
        g = _random_position(board, n, seed=k + 10 * n)
        if g.is_over:
            continue
        player, budget = make_player(spec.format(m=tiny_models[board]), board, n)
        before = g.S.copy()
        r = player.think(g, budget, seed=3)
        assert np.array_equal(g.S, before), spec  # the game is not modified
        assert isinstance(r, SearchResult)
        assert np.array_equal(r.rows, g.legal()) and r.values.shape == (n,)
        assert abs(r.policy.sum() - 1) < 1e-9 and np.all(r.policy >= 0)
        searched = spec.split(":")[0] in ("mcts", "gumbel", "nn", "nn-puct") and len(r.rows) > 1
        if searched and r.simulations:
            assert r.full and r.visits.sum() == r.simulations
        else:
            assert r.policy[r.chosen] == 1.0  # one-hot for players that do not search


def test_big_boards_search_with_a_network(tiny_models):
    for board, n in (("square19", 3), ("hexagonal", 4)):
        g = _random_position(board, n, seed=5)
        player, budget = make_player(f"nn:{tiny_models[board]}:8", board, n)
        r = player.think(g, budget, seed=1)
        assert r.simulations == 8 and abs(r.policy.sum() - 1) < 1e-9


@pytest.mark.parametrize("root", ["puct", "gumbel"])
@pytest.mark.parametrize("explore", [False, True])
def test_search_is_deterministic_under_a_seed(root, explore, tiny_models):
    g = _random_position("hex8", 2, seed=4)
    player, _ = make_player(f"nn{'-puct' if root == 'puct' else ''}:{tiny_models['hex8']}:32", "hex8", 2)
    a = player.think(g, Budget(nodes=32), seed=7, temperature=1.0, explore=explore)
    player.evaluator.clear()
    b = player.think(g, Budget(nodes=32), seed=7, temperature=1.0, explore=explore)
    assert a.chosen == b.chosen and np.array_equal(a.visits, b.visits) and np.array_equal(a.policy, b.policy)


def _steps(player, games, seeds, sims):
    return [search_steps(g, Budget(nodes=sims), s, player.config, 0.0, True) for g, s in zip(games, seeds)]


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_batched_and_unbatched_search_agree(root, tiny_models):
    games = [_random_position("square8", 2, seed=s) for s in range(6)]
    games = [g for g in games if not g.is_over]
    seeds = list(range(len(games)))
    for spec in (f"{'mcts' if root == 'puct' else 'gumbel'}:40",
                 f"nn{'-puct' if root == 'puct' else ''}:{tiny_models['square8']}:40"):
        player, _ = make_player(spec, "square8", 2)
        one = [run_search(st, player.evaluator) for st in _steps(player, games, seeds, 40)]
        batches = []
        if hasattr(player.evaluator, "clear"):
            player.evaluator.clear()
        many = run_searches([(st, player.evaluator) for st in _steps(player, games, seeds, 40)], batches.append)
        assert max(batches) == len(games)  # the leaves of all searches went in one call
        for a, b in zip(one, many):
            assert a.chosen == b.chosen and np.array_equal(a.visits, b.visits), spec
            assert np.allclose(a.policy, b.policy) and np.allclose(a.values, b.values)


def test_virtual_loss_gathers_several_leaves_per_request():
    g = _random_position("square8", 2, seed=2)
    sizes = []
    steps = search_steps(g, Budget(nodes=64), 0, SearchConfig(leaves_per_eval=8))
    r = run_searches([(steps, EVAL)], sizes.append)[0]
    assert max(sizes) > 1 and 56 <= r.simulations <= 64 and r.visits.sum() == r.simulations


def test_selfplay_games_do_not_depend_on_batching(tiny_models):
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    spec = f"nn:{tiny_models['hex8']}:8"
    base = dict(board="hex8", players=(spec, "mcts:8"), games=3, seed=11, full_search_prob=0.6)
    one = run_selfplay(SelfplayConfig(**base, batch_games=1), progress=False)
    many = run_selfplay(SelfplayConfig(**base, batch_games=3), progress=False)
    assert [r["gameId"] for r in one] == [r["gameId"] for r in many]
    assert [r["search"] for r in one] == [r["search"] for r in many]


def test_playout_cap_randomization_marks_targets(tiny_models):
    from ringrift_ml.nn.samples import game_samples
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    spec = f"nn:{tiny_models['square8']}:16"
    rec = run_selfplay(SelfplayConfig(board="square8", players=(spec, spec), games=1, seed=3,
                                      full_search_prob=0.5, fast_fraction=0.25), progress=False)[0]
    entries = [(s, p) for s, p in zip(rec["search"], rec["policy"]) if s is not None]
    full = [s for s, _ in entries if s["full"]]
    fast = [s for s, _ in entries if not s["full"]]
    assert full and fast
    # A full search spends its budget (a move that wins on the spot is played without one).
    assert all(s["simulations"] in (0, 16) for s in full) and all(s["simulations"] in (0, 4) for s in fast)
    assert any(s["simulations"] == 4 for s in fast)
    assert all((p is not None) == s["full"] for s, p in entries)  # only full searches are targets
    assert all(len(s["values"]) == 2 and all(-1 <= v <= 1 for v in s["values"]) for s, _ in entries)
    samples = game_samples(rec, symmetries=False)
    assert len(samples) == len(full) and all(x["has_search_policy"] for x in samples)
    assert rec["generatorConfig"]["models"][spec]  # the network's content hash names the games


def test_evaluation_cache_answers_repeated_positions(tiny_models):
    from ringrift_ml.nn.players import network_evaluator

    ev = network_evaluator(tiny_models["hex8"])
    ev.clear()
    g = _random_position("hex8", 2, seed=8)
    items = [(g, g.legal())] * 3
    h0, m0 = ev.hits, ev.misses
    first = ev.evaluate(items)
    again = ev.evaluate(items[:1])
    assert ev.misses - m0 == 1 and ev.hits - h0 == 1  # duplicates in a batch are evaluated once
    assert np.array_equal(first[0][0], again[0][0]) and np.array_equal(first[2][1], again[0][1])


def test_search_result_contract():
    rows = FastGame(new_game("square8", 2)).legal()
    with pytest.raises(ValueError, match="distribution"):
        SearchResult(rows, 0, np.full(len(rows), 0.5), np.zeros(2), np.zeros(len(rows)))
    with pytest.raises(ValueError, match="chosen"):
        SearchResult.one_hot(rows, len(rows), 2)
    r = SearchResult.one_hot(rows, 3, 2)
    assert np.array_equal(r.row, rows[3]) and not r.full
    with pytest.raises(ValueError):
        r.policy[0] = 1.0  # results are read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.chosen = 1


def test_game_driver_plays_many_games_like_one():
    p, b = make_player("mcts:16", "hex8", 2)
    h, hb = make_player("heuristic", "hex8", 2)
    jobs = [GameJob("hex8", [p, h], [b, hb], seed=s, random_opening=2) for s in range(4)]
    alone = [play_games([j])[0] for j in jobs]
    together = play_games(jobs, concurrency=4)
    for a, t in zip(alone, together):
        assert len(a.moves) == len(t.moves) and all(np.array_equal(x, y) for x, y in zip(a.moves, t.moves))
        assert a.game.is_over and a.results[0] is None  # the random opening is no decision of a player


def test_a_job_with_a_prefix_continues_the_game_where_it_stood():
    """A continuation (``GameJob.prefix``) starts from the prefix's position: its first
    moves are the prefix, its decisions are numbered on from the prefix's choices (the
    temperature schedule sees them), and a prefix past the game's end is refused."""
    p, b = make_player("mcts:8", "square8", 2)
    whole = play_games([GameJob("square8", [p, p], [b, b], seed=3, random_opening=4)])[0]
    k = 30
    choices = 0
    g = FastGame(new_game("square8", 2))
    for row in whole.moves[:k]:
        choices += len(g.legal()) > 1
        g.apply(row)
    seen = []
    temp = lambda d: seen.append(d) or 0.0  # noqa: E731
    cont = play_games([GameJob("square8", [p, p], [b, b], seed=4, prefix=tuple(whole.moves[:k]), temperature=temp)])[0]
    assert all(np.array_equal(x, y) for x, y in zip(cont.moves[:k], whole.moves[:k]))
    assert cont.results[:k] == [None] * k and cont.game.is_over and len(cont.moves) > k
    assert seen[0] == choices and seen == sorted(seen)
    # A random opening already played by the prefix is not played again.
    again = play_games([GameJob("square8", [p, p], [b, b], seed=4, prefix=tuple(whole.moves[:k]), random_opening=4,
                                temperature=temp)])[0]
    assert len(again.moves) == len(cont.moves) and all(np.array_equal(x, y) for x, y in zip(again.moves, cont.moves))
    with pytest.raises(ValueError, match="prefix goes on after the game ended"):
        play_games([GameJob("square8", [p, p], [b, b], seed=4, prefix=tuple(whole.moves) + (whole.moves[-1],))])


def test_player_specs_name_model_and_simulations(tiny_models, tmp_path):
    from ringrift_ml.ai import parse_player

    m = tiny_models["square8"]
    assert parse_player(f"nn:{m}:32") == parse_player(f"nn:{m}:32")
    p = parse_player(f"nn:{m}:32")
    assert (p.engine, p.model, p.budget) == ("nn", m, 32)
    assert parse_player(f"nn:{m}").budget == 64 and parse_player(f"nn-puct:{m}:8").engine == "nn-puct"
    assert parse_player("mcts:12").model is None
    for bad, why in ((f"nn:{m}:0", "positive"), ("nn:", "expected nn:<model>"), ("alphabeta:3", "unknown engine"),
                     ("mcts:x", "integer")):
        with pytest.raises(ValueError, match=why):
            parse_player(bad)
    with pytest.raises(ValueError, match="no such checkpoint"):
        make_player(f"nn:{tmp_path / 'missing.pt'}:8", "square8", 2)
    with pytest.raises(ValueError, match="plays square8, not hex8"):
        make_player(f"nn:{m}:8", "hex8", 2)
    with pytest.raises(ValueError, match="device 'tpu'"):
        make_player(f"nn:{m}:8", "square8", 2, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            make_player(f"nn:{m}:8", "square8", 2, device="cuda")
    a, budget = make_player(f"nn:{m}:8", "square8", 2)
    b, _ = make_player(f"nn-puct:{m}:8", "square8", 2)
    assert budget.nodes == 8 and a.config.root == "gumbel" and b.config.root == "puct"
    assert a.evaluator is b.evaluator  # one network (and cache) per file per process


def test_time_budgets_for_the_one_at_a_time_searches(tiny_models):
    """``minimax:0.2s`` / ``...:150ms``: a clock per decision for the engines of
    TIMED_ENGINES; every other engine refuses one, naming what its budget counts."""
    from ringrift_ml.ai import parse_player
    from ringrift_ml.ai.factory import TIMED_ENGINES

    assert parse_player("minimax:0.2s").seconds == 0.2 and parse_player("descent:150ms").seconds == 0.15
    assert parse_player("minimax:0.2s").as_budget() == Budget(seconds=0.2)
    assert parse_player("minimax:300").as_budget() == Budget(nodes=300) and parse_player("minimax:300").seconds is None
    p = parse_player("minimax-nnue:dir/f.nnue.npz:0.05s")
    assert (p.model, p.seconds, p.budget_text) == ("dir/f.nnue.npz", 0.05, "0.05s")
    for bad, why in (("mcts:0.2s", "mcts counts simulations"), (f"nn:{tiny_models['square8']}:1s", "nn counts"),
                     ("heuristic:1s", "heuristic counts nothing"), ("minimax:0s", "must be a positive"),
                     ("minimax:-5ms", "must be a positive"), ("minimax:infs", "must be a positive"),
                     ("minimax:2x", "integer")):
        with pytest.raises(ValueError, match=why):
            parse_player(bad)
    assert set(TIMED_ENGINES) == {"minimax", "descent", "minimax-nnue", "descent-nnue"}
    player, budget = make_engine_player("minimax:0.05s", "square8", 2)
    assert budget == Budget(seconds=0.05)


def test_engine_players_need_no_network_and_refuse_network_specs(tiny_models):
    """ai makes every engine without a network (and never imports the network code);
    nn.players.make_player makes the same players for those specs."""
    for spec in ("random", "heuristic", "mcts:24", "gumbel:24", "minimax:200", "descent:200"):
        a, ab = make_engine_player(spec, "hex8", 2, dirichlet_alpha=0.5)
        b, bb = make_player(spec, "hex8", 2, dirichlet_alpha=0.5)
        assert type(a) is type(b) and ab == bb, spec
        if hasattr(a, "config"):
            assert a.config == b.config, spec
    for spec in (f"nn:{tiny_models['hex8']}:8", f"policy:{tiny_models['hex8']}"):
        with pytest.raises(ValueError, match="network player; build it with ringrift_ml.nn.players.make_player"):
            make_engine_player(spec, "hex8", 2)


def test_arena_cli_plays_a_network_with_intervals(tiny_models, capsys):
    import json

    from ringrift_ml.cli import main

    m = tiny_models["square8"]
    assert main(["arena", "--board", "square8", "--players", f"nn:{m}:8,policy:{m}", "--games", "4",
                 "--concurrency", "4", "--random-opening", "2", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a"] == f"nn:{m}:8" and out["games"] == 4 and out["distinct_games"] >= 2
    lo, hi = out["ci95"]
    assert 0 <= lo <= out["score"] <= hi <= 1
    assert main(["arena", "--board", "hex8", "--players", f"nn:{m}:8,random", "--no-progress"]) == 2
    assert "plays square8" in capsys.readouterr().err


def _python_immediate_win(game: FastGame, rows) -> int:
    """The reference: every move applied to a copy, then the mover's forced follow-ups."""
    me = game.current_player
    for i, r in enumerate(rows):
        g = game.copy()
        g.apply(r)
        for _ in range(16):
            if g.is_over or g.current_player != me:
                break
            nxt = g.legal()
            if len(nxt) != 1:
                break
            g.apply(nxt[0])
        if g.is_over and g.winner == me:
            return i
    return None


@pytest.mark.parametrize("board,players", [("square8", 2), ("square8", 4), ("hex8", 3), ("square19", 2)])
def test_compiled_immediate_win_agrees_with_the_python_reference(board, players):
    """``immediate_win`` (compiled) names the same move as the plain loop on the last
    positions of random games, where winning moves are common, and on a constructed one."""
    from ringrift_ml.rules import new_game

    rng = np.random.default_rng(7)
    checked = wins = 0
    for game_no in range(6 if board != "square19" else 2):
        g = FastGame(new_game(board, players))
        history = []
        while not g.is_over and len(history) < 3000:
            rows = g.legal()
            history.append(g.copy())
            g.apply(rows[rng.integers(len(rows))])
        for h in history[-12:]:
            rows = h.legal()
            expect = _python_immediate_win(h, rows)
            assert immediate_win(h, rows) == expect
            checked += 1
            wins += expect is not None
    g = FastGame(ONE_MOVE)
    assert immediate_win(g, g.legal()) == _python_immediate_win(g, g.legal()) is not None
    assert checked >= 24 and wins >= 1


def test_compiled_puct_choice_equals_the_numpy_rule():
    """``puct_best`` finds exactly the maximisers of the PUCT formula as numpy
    computes it, ties included (whole-number visits, as in the tree)."""
    from ringrift_ml.ai._k_search import puct_best

    rng = np.random.default_rng(5)
    ties = np.empty(64, dtype=np.int64)
    for trial in range(300):
        k = int(rng.integers(1, 40))
        N = rng.integers(0, 6, k).astype(np.float64) * (rng.random(k) < 0.7)
        W = np.round(rng.uniform(-1, 1, k) * N, 1)
        P = np.full(k, 1.0 / k) if trial % 3 == 0 else rng.dirichlet(np.ones(k))
        c = float(rng.choice([0.5, 1.25, 2.0]))
        sq = math.sqrt(N.sum() + 1.0)
        u = np.where(N > 0, W / np.maximum(N, 1), 0.0) + c * P * sq / (1.0 + N)
        expect = np.flatnonzero(u == u.max())
        n = puct_best(N, W, P, c, ties)
        assert list(ties[:n]) == list(expect)
