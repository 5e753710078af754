"""The previous model's flat encoding and samples (kept as the benchmark baseline,
``benchmarks/train_eval.py --variants mlp``)."""

import json

import numpy as np
import pytest

from ringrift_ml import encoding, samples
from ringrift_ml.rules import apply_move, legal_moves, new_game
from ringrift_ml.rules._layout import CT, MOVE_TYPE_NAMES
from ringrift_ml.selfplay import SelfplayConfig, run_selfplay


@pytest.fixture(scope="module")
def searched_games():
    return run_selfplay(SelfplayConfig(board="square8", players=("mcts:16", "random"), games=2, seed=21),
                        progress=False)


def test_encoding_is_relative_to_the_mover():
    rng = np.random.default_rng(0)
    s = new_game("square8", 3)
    while not (s.current_player != 1 and (s.S[CT, :64] == 1).any()):
        ms = legal_moves(s)
        s = apply_move(s, ms[rng.integers(len(ms))])
    v = encoding.encode_state(s.S, 64)
    assert v.shape == (encoding.feature_size(64),) and v.dtype == np.float32
    planes = v[: encoding.PLANES * 64].reshape(encoding.PLANES, 64)
    slot_of_p1 = (1 - s.current_player) % 3
    height = planes[slot_of_p1 * encoding.PLANES_PER_SLOT]
    assert np.array_equal(height > 0, s.S[CT, :64] == 1)
    g = v[encoding.PLANES * 64:]
    assert g[list(encoding.PHASE_NAMES).index(s.current_phase)] == 1
    # Slot 3 is absent in a 3-player game.
    o = len(encoding.PHASE_NAMES)
    assert [g[o + 4 * k] for k in range(4)] == [1, 1, 1, 0]
    assert len(encoding.feature_names(64)) == v.shape[0]


def test_outcome_from_ranks():
    ranks = {"1": 2, "2": 1, "3": 3}
    assert [encoding.outcome_for(ranks, 2, 3, p) for p in (1, 2, 3)] == [0.0, 1.0, -1.0]
    assert encoding.outcome_for(None, 1, 2, 2) == -1.0
    with pytest.raises(ValueError, match="neither"):
        encoding.outcome_for(None, None, 2, 1)


def test_game_samples_match_the_game(searched_games):
    rec = searched_games[0]
    out = samples.game_samples(rec)
    assert out, "a whole game has decisions"
    assert [o["move_number"] for o in out] == list(range(len(out)))
    for o in out:
        moves = o["legal_moves"].reshape(-1, 3)
        assert len(moves) == len(o["policy"]) > 1
        assert abs(o["policy"].sum() - 1) < 1e-5
        played = rec["moves"][o["ply"]]
        assert MOVE_TYPE_NAMES[moves[o["played"], 0]] == played["type"]
        assert o["player"] == played["player"]
        assert o["value"] == encoding.outcome_for(rec["ranks"], rec["winner"], 2, o["player"])
    # MCTS seat positions carry the visit distribution; the random seat's are one-hot.
    searched = [o for o in out if o["has_search_policy"]]
    assert searched and all(o["player"] == 1 for o in searched)
    assert any((o["policy"] > 0).sum() > 1 for o in searched)
    assert all(o["policy"][o["played"]] == 1 for o in out if not o["has_search_policy"])


def test_a_record_with_an_illegal_move_names_game_and_ply(searched_games):
    rec = json.loads(json.dumps(searched_games[1]))
    rec["moves"][3] = rec["moves"][0]
    with pytest.raises(samples.SampleError, match=rf"game {rec['gameId']}, ply 3"):
        samples.game_samples(rec)
