"""The target-signal benchmark runs end to end on a tiny setting and refuses bad input
(its figures are measurements, printed, never asserted here); the MLP baseline of
``train_eval.py`` still trains."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_target_signal_prints_one_line_per_spec_and_noise(capsys):
    bench = _load("target_signal")
    assert bench.main(["--specs", "mcts:8,gumbel:8", "--source", "heuristic", "--source-games", "2",
                       "--positions", "3", "--seeds", "3", "--noise", "both", "--no-progress"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["spec"], x["noise"]) for x in lines] == [("mcts:8", "off"), ("mcts:8", "on"), ("gumbel:8", "off"),
                                                        ("gumbel:8", "on")]
    for x in lines:
        assert x["positions"] == 3 and 0 <= x["best_agree"] <= 1 and x["entropy"] >= 0 and x["kl_prior"] >= 0


@pytest.mark.parametrize("args,why", [(["--seeds", "2"], "--seeds"), (["--specs", "chess:3"], "unknown engine"),
                                      (["--set", "c_pucct=2"], "--set"), (["--specs", "heuristic"], "does not search")])
def test_target_signal_names_bad_input(args, why, capsys):
    bench = _load("target_signal")
    base = ["--source", "heuristic", "--source-games", "1", "--positions", "2", "--no-progress"]
    assert bench.main(base + args) == 2
    assert why in capsys.readouterr().err


def test_mlp_baseline_learns_on_a_few_games():
    """The previous model, kept for ``train_eval.py --variants mlp``: its samples follow
    the games and a few epochs lower its loss."""
    from ringrift_ml.rules.boards import board_spec
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    mlp = _load("mlp_baseline")
    n_cells = board_spec("hex8").n_cells
    recs = run_selfplay(SelfplayConfig(board="hex8", players=("mcts:8", "random"), games=4, seed=2), progress=False)
    data = mlp.Samples.of_records(recs)
    assert len(data) == len(data.value) == len(data.offsets) - 1 and set(data.game) == {0, 1, 2, 3}
    assert data.features.shape[1] == mlp.feature_size(n_cells)
    policy_sums = np.add.reduceat(data.policy, data.offsets[:-1])
    assert np.allclose(policy_sums, 1, atol=1e-5) and set(np.unique(data.value)) <= {-1.0, 1.0}
    net, history = mlp.train(data, n_cells, mlp.TrainConfig(epochs=3, hidden=32, batch_size=32))
    assert len(history) == 4 and history[-1]["train_loss"] < history[0]["train_loss"]
    held = np.arange(len(data))[data.game == 0]
    b = data.batch(held)
    logits, _ = net(b["features"], b["moves"], b["mask"])
    assert torch.isinf(logits[~b["mask"]]).all()  # masked entries never get probability
    assert mlp.value_logits(net, data, held).shape == (len(held),)


def test_learnability_value_probe_finds_a_linear_outcome_and_not_noise():
    """The ridge reference: an outcome that is the sign of one global is fitted far below
    predicting 0 on held-out positions; an outcome independent of the inputs is not."""
    from types import SimpleNamespace

    bench = _load("learnability")
    rng = np.random.default_rng(0)
    n = 2000
    glob = rng.normal(size=(n, 5)).astype(np.float32)
    planes = rng.integers(0, 3, size=(n, 4, 10)).astype(np.uint8)
    value = np.zeros((n, 4), dtype=np.float32)
    train, held = np.arange(0, 1500), np.arange(1500, n)
    value[:, 0] = np.clip(glob[:, 2] * 0.5, -1, 1)
    assert bench.value_probe(SimpleNamespace(globals=glob, planes=planes, value=value), train, held) < 0.05
    value[:, 0] = rng.choice([-1.0, 1.0], size=n)
    assert bench.value_probe(SimpleNamespace(globals=glob, planes=planes, value=value), train, held) > 0.95
    search = np.full((n, 4), np.nan, dtype=np.float32)
    assert np.isnan(bench.value_search_mse(SimpleNamespace(search_value=search, value=value), held))
    search[held[:10], 0] = value[held[:10], 0]
    assert bench.value_search_mse(SimpleNamespace(search_value=search, value=value), held) == 0.0
