"""What users touch: the command line, the lake replay window, the Dagster config,
Prometheus metrics and inference."""

import dataclasses
import json
import socket
import urllib.request

import numpy as np
import pytest

from ringrift_ml.cli import main as cli
from ringrift_ml.train.dataset import from_lake, from_npz, save_npz

from .conftest import samples_for


def test_train_and_model_info_from_the_command_line(tmp_path, capsys):
    npz = save_npz(samples_for("hex8", 2), tmp_path / "s.npz", {"sample_set": "t"})
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "tiny", "epochs": 2, "batch_size": 16, "holdout": 0.34}))
    out = tmp_path / "run"
    assert cli(["train", "--samples", str(npz), "--out", str(out), "--config", str(cfg), "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["model"] == str(out / "model.pt") and res["steps"] > 0
    assert {"policy_ce", "policy_ce_uniform", "value_mse", "value_mse_zero", "value_ece"} <= set(res["heldout"])
    # a second run into the same folder must say --resume
    assert cli(["train", "--samples", str(npz), "--out", str(out), "--config", str(cfg), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli(["train", "--samples", str(npz), "--out", str(out), "--config", str(cfg), "--resume",
                "--no-progress"]) == 0
    capsys.readouterr()
    assert cli(["model", "info", str(out / "model.pt")]) == 0
    text = capsys.readouterr().out
    assert "ringnet hex8: 2 blocks x 16 channels" in text and "spatial-v1-" in text and "held-out" in text
    assert cli(["model", "info", str(out / "model.pt"), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["net_config"]["board"] == "hex8" and meta["data"]["npz"] == str(npz)


def test_command_line_refuses_bad_input(tmp_path, capsys):
    assert cli(["train", "--samples", "square8|9", "--out", str(tmp_path)]) == 2
    assert "partition players: expected one of (2, 3, 4), got 9" in capsys.readouterr().err
    assert cli(["train", "--samples", "x.parquet", "--out", str(tmp_path)]) == 2
    assert "expected a lake partition" in capsys.readouterr().err
    assert cli(["train", "--samples", str(tmp_path / "none.npz"), "--out", str(tmp_path)]) == 2
    assert "no such NPZ" in capsys.readouterr().err
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"epochs": 0}))
    npz = save_npz(samples_for("square8", 2), tmp_path / "s.npz", {})
    assert cli(["train", "--samples", str(npz), "--out", str(tmp_path / "r"), "--config", str(bad)]) == 2
    assert "epochs = 0 is out of range" in capsys.readouterr().err
    # A flag overrides the file: the same check names the flag's value.
    assert cli(["train", "--samples", str(npz), "--out", str(tmp_path / "r"), "--epochs", "0"]) == 2
    assert "epochs = 0 is out of range" in capsys.readouterr().err
    (tmp_path / "m.pt").write_bytes(b"junk")
    assert cli(["model", "info", str(tmp_path / "m.pt")]) == 2
    assert "metadata file m.json is missing" in capsys.readouterr().err


def test_npz_round_trip_and_identity_check(tmp_path):
    d = samples_for("square8", 2)
    p = save_npz(d, tmp_path / "s.npz", {})
    e = from_npz(p)
    assert np.array_equal(d.planes, e.planes) and np.array_equal(d.sym_legal, e.sym_legal)
    z = dict(np.load(p))
    schema = json.loads(str(z["schema"]))
    schema["features"] = "spatial-v0-aaaaaaaaaaaa"
    z["schema"] = np.array(json.dumps(schema))
    np.savez(tmp_path / "other.npz", **z)
    with pytest.raises(ValueError, match="spatial-v0-aaaaaaaaaaaa"):
        from_npz(tmp_path / "other.npz")


def _write_set(store, board, n, records, run_id):
    from ringrift_ml.lake.lineage import write_sample_set
    from ringrift_ml.lake.records import games_table
    from ringrift_ml.lake.samples import build_samples

    rows = games_table(records).to_pylist()
    table, stats = build_samples(rows)
    used = sorted({(r["game_id"], r["entry_id"]) for r in rows})
    return write_sample_set(store, board=board, players=n, games_snapshot=1, games=used, samples=table,
                            config={"features": stats["features"], "run": run_id}, run_id=run_id,
                            code_version="test")[0]


def test_replay_window_from_the_lake(tmp_path):
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    store = LakeStore.open(tmp_path)
    recs = run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=4, seed=3),
                        progress=False)
    a = _write_set(store, "square8", 2, recs[:2], "a")
    b = _write_set(store, "square8", 2, recs[1:4], "b")  # game 2 is in both sets
    d = from_lake(store, "square8", 2, batch_rows=7)  # small batches: the streaming path
    assert d.source["sample_sets"] == [b, a] and d.source["games"] == 4
    assert len(np.unique(d.game)) == 4  # the shared game once
    assert d.n_symmetries == 8 and np.allclose(d.weight, 1.0)
    per_set = {s: len(from_lake(store, "square8", 2, sample_set_id=s)) for s in (a, b)}
    assert len(d) < per_set[a] + per_set[b]  # the shared game's positions count once
    w = from_lake(store, "square8", 2, recency=0.5)
    assert set(np.round(w.weight, 3)) == {1.0, 0.5}
    assert len(from_lake(store, "square8", 2, window=1)) == per_set[b]
    # A window in positions: the newest sets until they hold that many.
    assert from_lake(store, "square8", 2, window_positions=per_set[b]).source["sample_sets"] == [b]
    assert from_lake(store, "square8", 2, window_positions=per_set[b] + 1).source["sample_sets"] == [b, a]
    assert from_lake(store, "square8", 2, window_positions=1, window=0).source["sample_sets"] == [b]
    assert from_lake(store, "square8", 2, upto=a).source["sample_sets"] == [a]
    with pytest.raises(ValueError, match="no sample sets"):
        from_lake(store, "hex8", 2)


def test_the_window_is_read_a_range_of_games_at_a_time_in_one_order(tmp_path, monkeypatch):
    """``from_lake`` sorts a range of games at a time (one sort of a big board's window
    did not fit in memory): whatever the range size, the same positions in the order
    (sample set, game, ply), the shared game once, legal indices kept as int32 and the
    data's digest that of the same indices as int64."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay
    from ringrift_ml.train import dataset
    from ringrift_ml.train.loop import data_fingerprint

    store = LakeStore.open(tmp_path)
    recs = run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=5, seed=4),
                        progress=False)
    a = _write_set(store, "square8", 2, recs[:3], "a")
    b = _write_set(store, "square8", 2, recs[2:], "b")
    whole = from_lake(store, "square8", 2)
    monkeypatch.setattr(dataset, "RANGE_ROWS", 1)  # one game per read
    ranged = from_lake(store, "square8", 2, batch_rows=5)
    assert whole.legal.dtype == np.int32 and whole.sym_legal.dtype == np.int32
    for k in ("planes", "legal", "offsets", "policy", "played", "value", "game", "sym_legal"):
        assert np.array_equal(getattr(whole, k), getattr(ranged, k)), k
    assert data_fingerprint(whole) == data_fingerprint(dataclasses.replace(whole, legal=whole.legal.astype(np.int64)))
    # The order: the sets by id, each set's games by id, the shared game from the newest set.
    rows = store.query("SELECT sample_set_id, game_id, ply FROM lake.samples ORDER BY ALL").to_pylist()
    in_b = {r["game_id"] for r in rows if r["sample_set_id"] == b}
    want = [r["game_id"] for r in rows if r["sample_set_id"] == b or r["game_id"] not in in_b]
    assert len(in_b & {r["game_id"] for r in rows if r["sample_set_id"] == a}) == 1
    assert [whole.game_ids[i] for i in whole.game] == want
    assert dataset._game_ranges([("a", 3), ("b", 2), ("c", 4), ("d", 1)], {"a", "c", "d"}, 5) == [("a", "a"), ("c", "d")]
    assert dataset._game_ranges([("a", 9)], {"a"}, 5) == [("a", "a")] and dataset._game_ranges([("a", 1)], set(), 5) == []


def test_the_loops_reuse_ratio_sets_the_candidates_training_steps():
    from ringrift_ml.loop import LoopConfig

    cfg = LoopConfig(board="square8", players=2, reuse=4.0)
    t = cfg.train_config(seed=1, window_positions=10_000)
    assert t.max_steps == round(4.0 * 10_000 * (1 - t.holdout) / t.batch_size)
    big = LoopConfig(board="square8", players=2, reuse=2.0, train=(("batch_size", 256), ("holdout", 0.5)))
    assert big.train_config(seed=1, window_positions=10_000).max_steps == round(2.0 * 5_000 / 256)
    assert LoopConfig(board="square8", players=2).train_config(seed=1, window_positions=10_000).max_steps == 0
    fixed = LoopConfig(board="square8", players=2, reuse=4.0, train=(("max_steps", 7),))
    assert fixed.train_config(seed=1, window_positions=10_000).max_steps == 7  # an explicit budget wins
    with pytest.raises(ValueError, match="reuse"):
        LoopConfig(board="square8", players=2, reuse=-1.0)
    # train_share's budget caps the steps too; the smaller cap wins, an explicit one wins over both.
    assert cfg.train_config(seed=1, window_positions=10_000, budget_positions=2_560).max_steps == 2_560 // t.batch_size
    assert cfg.train_config(seed=1, window_positions=10_000, budget_positions=1e9).max_steps == t.max_steps
    assert fixed.train_config(seed=1, window_positions=10_000, budget_positions=10.0).max_steps == 7
    assert cfg.train_config(seed=1, window_positions=10_000, budget_positions=0.0).max_steps == 1
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="train_share"):
            LoopConfig(board="square8", players=2, train_share=bad)


def test_dagster_loop_settings_are_derived_from_the_loop_config():
    from ringrift_assets.configs import LoopSettings, loop_config
    from ringrift_ml.lake.layout import Partition
    from ringrift_ml.loop import LoopConfig

    want = [f.name for f in dataclasses.fields(LoopConfig) if f.name not in ("board", "players")]
    fields = LoopSettings.model_fields
    assert list(fields) == want
    for f in dataclasses.fields(LoopConfig):
        if f.name in fields and f.name not in ("train", "warm_train", "bootstrap"):
            assert fields[f.name].default == f.default, f.name
    assert "horizon" in fields["gate_max_games"].description
    kw = {"games": 7, "simulations": 8, "train": '{"epochs": 3}'}
    part = Partition("hex8", 3)
    cfg = LoopSettings(**kw).config(part)
    assert cfg == loop_config(part, LoopSettings(**kw)) and cfg.games == 7
    assert cfg.bootstrap == "mcts:8" and dict(cfg.train) == {"epochs": 3} and cfg.partition == "hex8|3"
    with pytest.raises(ValueError, match="train"):
        LoopSettings(train="[1]").config(part)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_metrics_are_served(tmp_path):
    from ringrift_ml.train.monitor import Monitor

    port = _free_port()
    m = Monitor(tmp_path, tensorboard=True, port=port, labels={"board": "square8"})
    try:
        m.step(10, 0.001, 2.5, 64)
        held = {"loss": 3.0, "policy_loss": 2.0, "value_loss": 0.9, "ownership_loss": 0.5, "score_loss": 0.1,
                "value_ece": 0.04, "value_mce": 0.1}
        m.epoch(0, {"loss": 2.5, "policy": 2.0}, held, 12.0, 100.0)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        m.close()
    for name in ("ringrift_training_loss", "ringrift_training_epochs_total", "ringrift_training_samples_total",
                 "ringrift_calibration_ece", "ringrift_calibration_mce",
                 "ringrift_training_epoch_duration_seconds_bucket"):
        assert name in text, name
    assert 'ringrift_training_loss{board="square8",split="heldout",term="loss"} 3.0' in text
    assert 'ringrift_training_samples_total{board="square8"} 64.0' in text
    assert list((tmp_path / "tensorboard").iterdir())


def test_inference_symmetry_average_and_seat_values(tmp_path):
    import torch

    from ringrift_ml.nn.infer import NetRunner
    from ringrift_ml.nn.net import RingNet, net_config
    from ringrift_ml.rules import new_game
    from ringrift_ml.rules.fast import FastGame

    torch.manual_seed(0)
    net = RingNet(net_config("square8", "tiny"))
    g = FastGame(new_game("square8", 3))
    rng = np.random.default_rng(1)
    for _ in range(20):
        rows = g.legal()
        g.apply(rows[rng.integers(len(rows))])
    rows = g.legal()
    plain = NetRunner(net)([(g, rows)])[0]
    sym = NetRunner(net, symmetries=True)([(g, rows)])[0]
    for p, v in (plain, sym):
        assert p.shape == (len(rows),) and abs(p.sum() - 1) < 1e-5 and v.shape == (3,)
    assert not np.allclose(plain[0], sym[0])  # an untrained net is not symmetric; the average differs
    # the averaged policy is itself symmetric: the same under any transformed position
    from ringrift_ml.rules.symmetry import rules_symmetries, transform_state

    h = rules_symmetries("square8")[3]
    t = FastGame(transform_state(g.state(), h))
    p2, v2 = NetRunner(net, symmetries=True)([(t, t.legal())])[0]
    assert np.allclose(np.sort(p2), np.sort(sym[0]), atol=1e-5) and np.allclose(v2, sym[1], atol=1e-5)


def test_policy_player_specs(tmp_path):
    from ringrift_ml.arena.match import play_game
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config
    from ringrift_ml.selfplay import make_player, parse_spec

    path = save_net(RingNet(net_config("hex8", "tiny")), tmp_path / "m.pt", {}, {})
    assert parse_spec(f"policy:{path}") == ("policy", 1)
    with pytest.raises(ValueError, match="expected policy:<model>"):
        parse_spec("policy:")
    with pytest.raises(ValueError, match="plays hex8, not square8"):
        make_player(f"policy:{path}", "square8", 2)
    with pytest.raises(ValueError, match="no such checkpoint file"):
        make_player(f"policy:{tmp_path / 'none.pt'}", "hex8", 2)
    (tmp_path / "bare.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="metadata file"):
        make_player(f"policy:{tmp_path / 'bare.pt'}", "hex8", 2)
    p, b = make_player(f"policy:{path}", "hex8", 2)
    r, rb = make_player("random", "hex8", 2)
    res = play_game([p, r], [b, rb], "hex8", seed=1)
    assert res.moves > 0


def test_dagster_tuning_config_is_derived_from_the_tune_config():
    from ringrift_assets.weights import HeuristicWeightsConfig
    from ringrift_ml.tuning import ConfirmConfig, TuneConfig

    fields = HeuristicWeightsConfig.model_fields
    tune_fields = [f.name for f in dataclasses.fields(TuneConfig) if f.name not in ("board", "players")]
    assert list(fields)[:len(tune_fields)] == tune_fields
    assert set(fields) - set(tune_fields) == {"confirm_max_games", "confirm_min_games", "confirm_elo1"}
    for f in dataclasses.fields(TuneConfig):
        if f.name in fields:
            want = list(f.default) if isinstance(f.default, tuple) else f.default
            assert fields[f.name].default == want, f.name
    for f in dataclasses.fields(ConfirmConfig):
        assert fields[f"confirm_{f.name}"].default == f.default and fields[f"confirm_{f.name}"].description
    assert "Initial step size" in fields["sigma0"].description
    cfg = HeuristicWeightsConfig(opponents=["random"], sigma0=0.3, confirm_elo1=50.0)
    assert cfg.tune_config("hex8", 3) == TuneConfig(board="hex8", players=3, sigma0=0.3, opponents=("random",))
    assert cfg.confirm_config() == ConfirmConfig(elo1=50.0)


def test_a_loops_training_takes_the_idle_workers_cores(monkeypatch):
    """While the candidate trains, the loop's local workers idle: training takes their
    cores (at most the machine's) unless the train config names its threads; on a
    cluster the actors are elsewhere and training keeps one thread."""
    import ringrift_ml.loop.config as config
    from ringrift_ml.loop import LoopConfig

    monkeypatch.setattr(config.os, "cpu_count", lambda: 2)
    base = dict(board="square8", players=2)
    assert LoopConfig(**base).train_config(seed=1).threads == 1
    assert LoopConfig(**base, workers=2).train_config(seed=1).threads == 2
    assert LoopConfig(**base, workers=8).train_config(seed=1).threads == 2
    assert LoopConfig(**base, workers=2, ray_address="local").train_config(seed=1).threads == 2
    assert LoopConfig(**base, workers=2, ray_address="head:6379").train_config(seed=1).threads == 1
    assert LoopConfig(**base, workers=2, train=(("threads", 1),)).train_config(seed=1).threads == 1
