"""The training loop: exact resume after a kill, best-epoch keeping, determinism,
schedules and the checks on what it is given."""

import json
import math

import numpy as np
import pytest
import torch

from ringrift_ml.nn.checkpoint import load_net, read_net
from ringrift_ml.train.checkpoint import state_exists
from ringrift_ml.train.config import TrainConfig
from ringrift_ml.train.loop import MODEL_FILE, STATE_FILE, epoch_order, fit, lr_at, resume_conflict

from .conftest import CONFIG_IDS, CONFIGS, samples_for, states_equal


class Killed(Exception):
    pass


def _quick(**kw) -> TrainConfig:
    base = dict(preset="tiny", epochs=3, batch_size=8, warmup_steps=2, checkpoint_every=4, holdout=0.34,
                tensorboard=False, early_stopping=0, seed=3)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("board,n", CONFIGS, ids=CONFIG_IDS)
def test_resume_after_a_kill_ends_with_the_same_weights(tmp_path, board, n):
    data = samples_for(board, n)
    # Every feature that carries state across steps is on: EMA, SWA, hard mining,
    # augmentation (where the samples have symmetry tables), warm restarts.
    cfg = _quick(swa=True, swa_start=0.3, hard_mining=True, schedule="restarts", restart_epochs=1)
    whole = fit(data, cfg, tmp_path / "whole")
    steps = whole.steps
    assert steps >= 9

    kill_at = steps // 2 + 1  # not on a checkpoint step: work after the last checkpoint is lost and redone
    assert kill_at % cfg.checkpoint_every

    def killer(step):
        if step == kill_at:
            raise Killed

    with pytest.raises(Killed):
        fit(data, cfg, tmp_path / "cut", on_step=killer)
    assert state_exists(tmp_path / "cut" / STATE_FILE) and not (tmp_path / "cut" / MODEL_FILE).exists()
    assert len(list((tmp_path / "cut").glob("train_state.*.pt"))) == 1  # older states removed
    resumed = fit(data, cfg, tmp_path / "cut", resume=True)

    a, meta_a = read_net(whole.model_path)
    b, meta_b = read_net(resumed.model_path)
    assert states_equal(a, b), "resumed run ended with other weights"
    assert meta_a["best_epoch"] == meta_b["best_epoch"]
    assert [h["heldout"]["loss"] for h in whole.history] == [h["heldout"]["loss"] for h in resumed.history]
    assert resumed.steps == steps


def test_saved_model_is_the_best_heldout_evaluation(tmp_path, square8_data):
    # A high learning rate without decay overfits a few games: later epochs get worse.
    cfg = _quick(epochs=6, lr=0.05, schedule="constant", ema=False, augment=False, swa=True, swa_start=0.5)
    res = fit(square8_data, cfg, tmp_path)
    losses = [h["heldout"]["loss"] for h in res.history]
    _, meta = read_net(res.model_path)
    best = int(np.argmin(losses))
    want = res.history[best]
    assert meta["best_epoch"] == (want["epoch"] if want["kind"] != "swa" else "swa")
    # The saved network, evaluated again, scores what the history says it scored.
    assert math.isclose(meta["heldout"]["loss"], min(losses), rel_tol=1e-5)
    assert {h["kind"] for h in res.history} == {"weights", "swa"}


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, square8_data):
    cfg = _quick(epochs=1)
    a = fit(square8_data, cfg, tmp_path / "a")
    b = fit(square8_data, cfg, tmp_path / "b")
    c = fit(square8_data, _quick(epochs=1, seed=4), tmp_path / "c")
    sa, sb, sc = (read_net(r.model_path)[0] for r in (a, b, c))
    assert states_equal(sa, sb)
    assert not states_equal(sa, sc)


def test_early_stopping_stops_and_keeps_the_best(tmp_path, square8_data):
    cfg = _quick(epochs=30, lr=0.05, schedule="constant", ema=False, early_stopping=2)
    res = fit(square8_data, cfg, tmp_path)
    assert res.stopped_early and len(res.history) < 30
    losses = [h["heldout"]["loss"] for h in res.history]
    # It stopped exactly two evaluations after the best one.
    assert len(losses) - 1 - int(np.argmin(losses)) == 2


def test_resume_refuses_other_data_or_config(tmp_path, square8_data):
    cfg = _quick(epochs=1)
    fit(square8_data, cfg, tmp_path)
    with pytest.raises(ValueError, match="another training config"):
        fit(square8_data, _quick(epochs=2), tmp_path, resume=True)
    other = samples_for("square8", 3)
    with pytest.raises(ValueError, match="other samples"):
        fit(other, cfg, tmp_path, resume=True)
    # A state saved before an option existed resumes when the option is at its default
    # (and is refused when it is not).
    from ringrift_ml.train.checkpoint import load_state, save_state
    from ringrift_ml.train.loop import STATE_FILE

    tensors, info = load_state(tmp_path / STATE_FILE)
    del info["train_config"]["value_trunk_grad"]
    save_state(tmp_path / STATE_FILE, tensors, info)
    assert fit(square8_data, cfg, tmp_path, resume=True).model_path is not None
    with pytest.raises(ValueError, match="another training config"):
        fit(square8_data, _quick(epochs=1, value_trunk_grad=0.5), tmp_path, resume=True)
    # The thread count is how fast, not what, a run trains: a rerun with more continues.
    assert resume_conflict(tmp_path, _quick(epochs=1, threads=2), square8_data) is None
    assert resume_conflict(tmp_path, _quick(epochs=2, threads=2), square8_data)[0].endswith("another training config")


def test_learning_rate_schedules():
    cfg = TrainConfig(lr=1.0, warmup_steps=10, schedule="cosine")
    lrs = [lr_at(s, cfg, 110, 10) for s in range(110)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0) and lrs[-1] < 0.01
    assert all(x >= y for x, y in zip(lrs[10:], lrs[11:]))
    r = TrainConfig(lr=1.0, warmup_steps=0, schedule="restarts", restart_epochs=2)
    lrs = [lr_at(s, r, 100, 10) for s in range(60)]
    assert lrs[0] == 1.0 and lrs[20] == 1.0 and lrs[40] == 1.0 and lrs[19] < 0.01
    assert lr_at(55, TrainConfig(lr=0.3, warmup_steps=0, schedule="constant"), 100, 10) == 0.3


def test_epoch_order_weights_hard_mining_and_symmetries(square8_data):
    d = square8_data
    train, _ = d.split(0.34, 3)
    cfg = _quick(hard_mining=True, hard_fraction=0.25)
    order, syms = epoch_order(d, train, cfg, 0, None)
    assert sorted(order) == sorted(train)  # epoch 0: a permutation
    assert syms is not None and syms.max() < d.n_symmetries and len(set(syms)) > 1
    loss = np.zeros(len(train))
    loss[:3] = [5.0, 4.0, 3.0]
    order1, _ = epoch_order(d, train, cfg, 1, loss)
    k = int(0.25 * len(train))
    counts = {i: int((order1 == i).sum()) for i in train[:3]}
    assert len(order1) == len(train) and all(c >= 1 for c in counts.values())
    assert len(np.unique(order1)) <= len(train) - 0 and k >= 3
    # recency weights: a sample with weight 0-ish is (almost) never drawn
    d2 = type(d)(**{**d.__dict__, "weight": np.where(np.isin(np.arange(len(d)), train[: len(train) // 2]), 1.0,
                                                      1e-9)})
    o2, _ = epoch_order(d2, train, _quick(), 0, None)
    assert np.isin(o2, train[: len(train) // 2]).mean() > 0.99


def test_config_validation_and_file_round_trip(tmp_path):
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['learning_rate'\]"):
        TrainConfig.from_dict({"learning_rate": 1})
    with pytest.raises(ValueError, match="epochs = '3' is not"):
        TrainConfig.from_dict({"epochs": "3"})
    with pytest.raises(ValueError, match="preset"):
        TrainConfig(preset="huge")
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"epochs": 3, "swa": True, "lr": 0.01}))
    c = TrainConfig.from_file(p)
    assert (c.epochs, c.swa, c.lr) == (3, True, 0.01)
    p.write_text("{bad")
    with pytest.raises(ValueError, match="cannot read it as JSON"):
        TrainConfig.from_file(p)


def test_checkpoint_refuses_another_encoding_and_tampering(tmp_path, square8_data):
    res = fit(square8_data, _quick(epochs=1), tmp_path)
    net, meta = load_net(res.model_path)
    assert meta["features"].startswith("spatial-v1-")
    side = res.model_path.with_suffix(".json")
    doc = json.loads(side.read_text())
    doc["features"] = "spatial-v0-000000000000"
    side.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="reads features 'spatial-v0-000000000000'"):
        read_net(res.model_path)
    doc["features"] = meta["features"]
    side.write_text(json.dumps(doc))
    res.model_path.write_bytes(res.model_path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="sha256"):
        read_net(res.model_path)


def test_training_beats_the_trivial_baseline(tmp_path):
    """On a few hundred positions of heuristic play the network must learn something:
    held-out top-1 above uniform's and loss below uniform policy + value 0."""
    data = samples_for("square8", 2, games=16, per_game=60, player="heuristic")
    cfg = TrainConfig(preset="tiny", epochs=8, batch_size=32, seed=1, holdout=0.25)
    res = fit(data, cfg, tmp_path)
    b = res.best
    assert b["top1"] > b["top1_uniform"]
    assert b["core_loss"] < b["baseline_loss"]
    # the files a user looks at
    assert list((tmp_path / "tensorboard").iterdir())
    assert torch.load(res.model_path, weights_only=True)


def test_sigkill_during_training_then_resume_from_the_command_line(tmp_path):
    """A real kill -9 of ``ringrift train`` mid-run; ``--resume`` ends where an
    uninterrupted run ends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ringrift_ml.train.dataset import save_npz

    npz = save_npz(samples_for("square8", 2), tmp_path / "s.npz", {})
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "tiny", "epochs": 12, "batch_size": 8, "checkpoint_every": 3,
                               "tensorboard": False, "holdout": 0.34, "seed": 5, "early_stopping": 0}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def cmd(out, *extra):
        return [sys.executable, "-m", "ringrift_ml.cli", "train", "--samples", str(npz), "--out", str(out),
                "--config", str(cfg), "--no-progress", *extra]

    subprocess.run(cmd(tmp_path / "whole"), env=env, check=True, capture_output=True, timeout=300)
    p = subprocess.Popen(cmd(tmp_path / "cut"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "cut" / "train_state.json"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if state.is_file():
            try:
                if json.loads(state.read_text())["global_step"] >= 6:
                    break
            except (ValueError, KeyError):
                pass  # being replaced: read again
        time.sleep(0.02)
    assert p.poll() is None, "the run finished before it could be killed"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not (tmp_path / "cut" / MODEL_FILE).exists()
    subprocess.run(cmd(tmp_path / "cut", "--resume"), env=env, check=True, capture_output=True, timeout=300)
    a, _ = read_net(tmp_path / "whole" / MODEL_FILE)
    b, _ = read_net(tmp_path / "cut" / MODEL_FILE)
    assert states_equal(a, b)


def test_value_target_mix_learns_the_search_value_and_evaluates_against_the_outcome(tmp_path):
    """Every mover wins, every search said it loses: with ``value_target_mix=1`` the
    value head follows the searches, with 0 the outcomes; held-out value figures are
    against the outcome either way."""
    import dataclasses

    from ringrift_ml.train.evaluate import predict

    base = samples_for("square8", 2, player="mcts:8")
    has = ~np.isnan(base.search_value[:, 0])
    assert has.any() and np.isnan(base.search_value[~has]).all()
    value = np.zeros_like(base.value)
    value[:, 0], value[:, 1] = 1.0, -1.0
    q = np.full_like(base.search_value, np.nan)
    q[has, 0], q[has, 1], q[has, 2:] = -1.0, 1.0, 0.0
    data = dataclasses.replace(base, value=value, search_value=q)
    b = data.batch(np.arange(len(data)))
    assert b["has_search_value"].numpy().tolist() == has.tolist()
    assert np.allclose(b["search_value"].numpy()[~has], value[~has])  # no search: the outcome
    mean_v = {}
    for mix in (0.0, 1.0):
        cfg = _quick(epochs=4, lr=0.02, holdout=0.2, value_target_mix=mix, value_weight=2.0, augment=False)
        res = fit(data, cfg, tmp_path / str(mix))
        net, meta = load_net(res.model_path)
        idx = np.flatnonzero(has)
        with torch.no_grad():
            mean_v[mix] = float(np.mean([o["value"][:, 0].mean().item() for _, _, o in predict(net, data, idx)]))
        # Held out: predicting the outcome (always +1) is the target, not the search's -1.
        mse = meta["heldout"]["value_mse"]
        assert (mse < 1.0) if mix == 0 else (mse > 1.0)
    assert mean_v[0.0] > 0.3 and mean_v[1.0] < -0.3
    with pytest.raises(ValueError, match="value_target_mix"):
        TrainConfig(value_target_mix=1.5)


def test_cpu_per_step_times_real_steps_and_writes_nothing(tmp_path, square8_data, monkeypatch):
    """A positive CPU figure per step, from steps after the warm-up (the clock read at
    the steps' marks: here a fake clock of 0.5 s a step, 3 s of start-up); nothing is
    left behind; bad step counts say why."""
    import os

    from ringrift_ml.train import loop as train_loop
    from ringrift_ml.train.config import TrainConfig

    cfg = TrainConfig(preset="tiny", batch_size=16, epochs=1, tensorboard=False)
    monkeypatch.chdir(tmp_path)
    assert train_loop.cpu_per_step(square8_data, cfg, steps=3, warmup=2) > 0
    assert not list(tmp_path.iterdir())
    ticks = iter(range(100))

    class Clock:  # os.times() as the marks read it: start-up then 0.5 s per step
        def __init__(self):
            n = next(ticks)
            self.user, self.system = (3.0 if n else 0.0) + 0.5 * n, 0.0

    monkeypatch.setattr(os, "times", Clock)
    assert train_loop.cpu_per_step(square8_data, cfg, steps=4, warmup=2) == pytest.approx(0.5)
    monkeypatch.undo()
    for bad in ({"steps": 0}, {"warmup": 0}):
        with pytest.raises(ValueError, match="steps and warmup must be >= 1"):
            train_loop.cpu_per_step(square8_data, cfg, **bad)
