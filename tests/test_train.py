"""Policy/value training and value-head calibration (CPU, tiny sizes)."""

import numpy as np
import pytest
import torch

from ringrift_ml import samples
from ringrift_ml.lake.records import games_table
from ringrift_ml.rules.boards import board_spec
from ringrift_ml.selfplay import SelfplayConfig, run_selfplay
from ringrift_ml.train.calibration import calibration_report, reliability_png, value_logits
from ringrift_ml.train.data import Samples
from ringrift_ml.train.train import TrainConfig, load_model, save_model, train


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    recs = run_selfplay(SelfplayConfig(board="hex8", players=("heuristic", "random"), games=6, seed=2),
                        progress=False)
    games = games_table(recs)
    table, _ = samples.build_samples(games.to_pylist())
    path = tmp_path_factory.mktemp("npz") / "hex8_2p.npz"
    return samples.export_npz(table, path, "hex8", 2, board_spec("hex8").n_cells, {})


def test_split_keeps_games_whole(npz):
    d = Samples.load(npz)
    tr, held = d.split(0.3, seed=1)
    assert len(tr) + len(held) == len(d) and len(held) > 0
    assert not set(d.game[tr]) & set(d.game[held])


def test_training_lowers_the_loss_and_round_trips(npz, tmp_path):
    d = Samples.load(npz)
    cfg = TrainConfig(epochs=4, hidden=64, batch_size=64)
    net, hist, held = train(d, cfg)
    assert len(hist) == 5 and hist[-1]["train_loss"] < hist[0]["train_loss"]
    path = save_model(net, tmp_path / "m.pt", cfg, {"board": "hex8"})
    net2, meta = load_model(path)
    assert meta["board"] == "hex8" and meta["train_config"]["epochs"] == 4
    b = d.batch(held[:8])
    with torch.no_grad():
        a1, v1 = net.eval()(b["features"], b["moves"], b["mask"])
        a2, v2 = net2(b["features"], b["moves"], b["mask"])
    assert torch.equal(a1, a2) and torch.equal(v1, v2)
    # Masked entries never get probability.
    assert torch.isinf(a1[~b["mask"]]).all()
    z = value_logits(net, d, held)
    rep = calibration_report(z, d.value[held])
    assert rep["n"] == len(held) and 0 <= rep["ece"] <= rep["mce"] <= 1
    assert reliability_png(rep, tmp_path / "r.png", "t").read_bytes()[:4] == b"\x89PNG"


def test_calibration_of_known_predictors():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, 20000)
    p = 1 / (1 + np.exp(-2 * z))
    outcome = np.where(rng.random(len(z)) < p, 1.0, -1.0)  # outcomes drawn from the prediction
    good = calibration_report(z, outcome)
    assert good["ece"] < 0.02 and abs(good["temperature"] - 1) < 0.1
    over = calibration_report(3 * z, outcome)  # three times too sure
    assert over["ece"] > 0.1 and over["overconfidence"] > 0.05
    assert abs(over["temperature"] - 3) < 0.3 and not over["temperature_at_bound"]
    wild = calibration_report(1000 * z, outcome)
    assert wild["temperature_at_bound"]
    with pytest.raises(ValueError, match="no held-out"):
        calibration_report(np.zeros(0), np.zeros(0))


def test_bad_inputs_are_named(tmp_path, npz):
    with pytest.raises(ValueError, match="not a samples NPZ"):
        Samples.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="holdout"):
        TrainConfig(holdout=1.5)


def test_neural_player_plays_legal_games(npz):
    from ringrift_ml.ai.base import Budget
    from ringrift_ml.arena.match import play_game
    from ringrift_ml.ai.simple import RandomPlayer
    from ringrift_ml.train.player import NeuralPolicyPlayer

    d = Samples.load(npz)
    net, _, _ = train(d, TrainConfig(epochs=1, hidden=32))
    me = NeuralPolicyPlayer(net)
    res = play_game([me, RandomPlayer()], [Budget(nodes=1)] * 2, "hex8", seed=4)
    assert res.winner_seat in (1, 2) and res.moves > 0
    with pytest.raises(ValueError, match="cells"):
        play_game([me, RandomPlayer()], [Budget(nodes=1)] * 2, "square8", seed=4)
