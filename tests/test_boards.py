"""Per-board work sizes: one table of measured game costs, quick-job sizes derived
from it, every one of them a valid configuration of the step it sizes."""

import pytest

from ringrift_ml.boards import BIG, GAME_COST, game_cost, is_big, quick_config
from ringrift_ml.rules import BOARD_TYPES


def test_every_partition_has_a_cost_and_valid_quick_sizes():
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.ratings import RoundRobinConfig
    from ringrift_ml.tuning import ConfirmConfig, TuneConfig

    assert set(GAME_COST) == {(b, n) for b in BOARD_TYPES for n in (2, 3, 4)}
    for (board, n), cost in GAME_COST.items():
        q = quick_config(board, n)
        loop = dict(q["loop"])
        train = tuple(sorted(loop.pop("train", {}).items()))
        cfg = LoopConfig(board=board, players=n, train=train, **loop)  # validates every field
        TuneConfig(board=board, players=n, **q["tune"])
        ConfirmConfig(**q["confirm"])
        RoundRobinConfig(**q["elo"])
        assert cfg.gate_min_games <= cfg.gate_max_games and cost > 0


def test_big_boards_get_a_fraction_of_the_work():
    small, big = quick_config("square8", 2), quick_config("hexagonal", 4)
    assert not is_big("hex8", 3) and is_big("square19", 2) and game_cost("square19", 2) > BIG
    for step, key in [("loop", "games"), ("loop", "simulations"), ("loop", "gate_max_games"),
                      ("loop", "ladder_games"), ("tune", "popsize"), ("confirm", "max_games")]:
        assert big[step][key] < small[step][key], (step, key)
    # The games a big partition's quick run plays, in square8-game units at 16
    # simulations, stay within a small multiple of a small one's, though each of its
    # games costs 30-120 times as much (with full sizes: 120 times).
    def units(board, n):
        q = quick_config(board, n)["loop"]
        return game_cost(board, n) * (q["games"] + q["gate_max_games"]) * q["simulations"] / 16
    assert all(units(b, n) < 8 * units("square8", 2) for b, n in GAME_COST)


def test_an_unknown_partition_is_named():
    with pytest.raises(ValueError, match="partition square9|2"):
        game_cost("square9", 2)
    with pytest.raises(ValueError, match="hex8|5"):
        quick_config("hex8", 5)


def test_loop_defaults_are_valid_and_scale_with_the_board():
    from ringrift_ml.boards import loop_defaults
    from ringrift_ml.loop import LoopConfig

    base = LoopConfig(board="square8", players=2)
    for board, n in GAME_COST:
        over = dict(loop_defaults(board, n))
        train = tuple(sorted(over.pop("train", {}).items()))
        cfg = LoopConfig(board=board, players=n, train=train, **over)
        if not is_big(board, n):
            assert cfg == LoopConfig(board=board, players=n)  # the proof runs' configuration
            continue
        # A big partition's selfplay per generation, in square8 games at 64 simulations,
        # stays within a small multiple of a small one's.
        assert game_cost(board, n) * cfg.games * cfg.simulations / 64 < 30 * base.games
        assert cfg.gate_max_games < base.gate_max_games and cfg.simulations < base.simulations
        # Few results a generation: half the value target is the search's, per position.
        assert cfg.train_config(seed=0).value_target_mix == 0.5
    # hexagonal 2p's bootstrap searches less than its gate (more games for the CPU).
    from ringrift_ml.ai.factory import parse_player
    from ringrift_ml.loop.run import gate_bootstrap_spec

    hexa = LoopConfig(board="hexagonal", players=2, **{k: v for k, v in loop_defaults("hexagonal", 2).items()
                                                         if k != "train"})
    assert parse_player(hexa.bootstrap).budget < hexa.simulations
    assert gate_bootstrap_spec(hexa) == f"mcts:{hexa.simulations}"
    assert hexa.games > LoopConfig(board="square19", players=2, **{
        k: v for k, v in loop_defaults("square19", 2).items() if k != "train"}).games
