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


def test_learnability_lambda_returns_bootstrap_from_the_search_in_the_movers_view():
    """TD(lambda) returns over one game of three positions: lam 1 is the outcome, lam 0
    each position's own search value, and in between the recursion, each position in its
    mover's view; a position without a search value passes the return after it on."""
    from types import SimpleNamespace

    bench = _load("learnability")
    # Player 1 wins.  Movers 1, 2, 1; search values (mover's view) 0.2, -0.4, nan; then a
    # second game of one position, player 2 to move, who loses.
    value = np.array([[1, -1, 0, 0], [-1, 1, 0, 0], [1, -1, 0, 0], [-1, 1, 0, 0]], dtype=np.float32)
    search = np.array([[0.2, -0.2, 0, 0], [-0.4, 0.4, 0, 0], [np.nan] * 4, [0.6, -0.6, 0, 0]], dtype=np.float32)
    data = SimpleNamespace(value=value, search_value=search, game=np.array([0, 0, 0, 1]))
    mover = np.array([1, 2, 1, 2])
    assert np.allclose(bench.lambda_returns(data, mover, 1.0), value[:, 0])
    assert np.allclose(bench.lambda_returns(data, mover, 0.0), [0.2, -0.4, 1.0, 0.6])
    # lam 0.5, player 1's view backwards: 1 (no search at ply 2), 0.5*0.4 + 0.5*1 = 0.7,
    # 0.5*0.2 + 0.5*0.7 = 0.45; the mover of ply 1 is player 2: -0.7.
    assert np.allclose(bench.lambda_returns(data, mover, 0.5), [0.45, -0.7, 1.0, 0.5 * 0.6 + 0.5 * -1.0])
    with pytest.raises(ValueError, match="search's root values"):
        bench.lambda_returns(SimpleNamespace(value=value, search_value=None, game=data.game), mover, 0.5)


@pytest.mark.parametrize("args", [["--probe-lambdas", "0.9,x"], ["--probe-lambdas", "1.5"],
                                  ["--probe-lambdas", "0.5", "--num-players", "3"]])
def test_learnability_names_bad_probe_lambdas_before_playing(tmp_path, args, capsys):
    bench = _load("learnability")
    assert bench.main(args + ["--games", "2", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--probe-lambdas" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing played or written


def test_loop_runs_reports_each_seed_and_the_median(tmp_path, capsys, monkeypatch):
    """``loop_runs.py --no-run`` on roots that hold a registry and a ladder: one line per
    seed (an empty root counts zero generations), the summary's median and range, and
    the seeds' plot."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.lineage import record_row
    from tests.registry_rows import write_registry

    for s, share in ((1, 0.5), (3, 0.9)):
        store = LakeStore.open(tmp_path / f"seed{s}")
        rows = write_registry(store, [0, 1], cpu_seconds=1800.0)
        record_row(store, "model_registry", [{**rows[1], "generation": 2, "status": "rejected",
                                              "data_share": share, "heldout_top1": 0.4}], "g2")
        games = [{"board": "square8", "players": 2, "a": a, "b": b, "score": sc, "seed": k, "moves": 9,
                  "digest": f"{a}{b}{k}"}
                 for k in range(20) for a, b, sc in (("random", "heuristic", float(k < 2)),
                                                     ("g1", "heuristic", float(k < 14)), ("g1", "g0", float(k < 6)))]
        record_row(store, "ladder_games", games, "ladder")
    bench = _load("loop_runs")
    assert bench.main(["--seeds", "1,2,3", "--no-run", "--out", str(tmp_path)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    runs = {x["seed"]: x for x in lines if x["kind"] == "run"}
    assert runs[2] == {"bench": "loop_runs", "kind": "run", "partition": "square8|2", "seed": 2, "generations": 0}
    assert runs[1]["generations"] == 3 and runs[1]["promotions"] == 2 and runs[1]["best_generation"] == 1
    assert runs[1]["cpu_hours"] == 1.5 and runs[1]["last_heldout_top1"] == 0.4
    assert runs[1]["best_elo"] > runs[1]["heuristic_elo"] > 0
    # g1 won 6 of 20 against g0: the one promotion after g0 is rated below it.
    assert runs[1]["rated_promotions"] == 2 and runs[1]["promotions_below_predecessor"] == 1
    (inv,) = runs[1]["below_predecessor"]
    assert (inv["generation"], inv["predecessor"]) == (1, 0) and inv["elo_diff"] < 0
    # 20 games at 30%: the difference's standard error is that of one 20-game rung, about
    # 400 / ln 10 / sqrt(20 * 0.3 * 0.7) = 85 Elo, not the entrants' own errors.
    assert 70 < inv["diff_se"] < 100, inv
    (summary,) = [x for x in lines if x["kind"] == "summary"]
    assert summary["data_share_median"] == {"median": 0.7, "min": 0.5, "max": 0.9, "n": 2}
    assert summary["generations"]["n"] == 3 and summary["generations"]["median"] == 3
    assert "<svg" in (tmp_path / "runs.svg").read_text()

    # With --eval-games: each seed with a best is evaluated (its own seed, its best), the
    # seeds side by side with --parallel, and every result reaches its seed's line.
    import threading
    import time

    seen, inside = [], []

    def fake(root, part, games, seed):
        inside.append(1)
        time.sleep(0.3)
        seen.append((root.name, games, seed, len(inside), threading.get_ident()))
        inside.pop()
        return {"x vs y": {"score": seed / 20_000, "ci95": [0, 1], "games": games}}

    monkeypatch.setattr(bench, "evaluate", fake)
    assert bench.main(["--seeds", "1,2,3", "--no-run", "--eval-games", "6", "--parallel", "2",
                       "--out", str(tmp_path)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    runs = {x["seed"]: x for x in lines if x["kind"] == "run"}
    assert sorted(x[:3] for x in seen) == [("seed1", 6, 10_001), ("seed3", 6, 10_003)]  # seed 2 has no best
    assert max(x[3] for x in seen) == 2  # the two ran at once
    assert runs[1]["eval"] == {"x vs y": {"score": 10_001 / 20_000, "ci95": [0, 1], "games": 6}}
    assert "eval" not in runs[2] and runs[3]["eval"]["x vs y"]["score"] == 10_003 / 20_000


@pytest.mark.parametrize("args,why", [(["--seeds", "1,1"], "--seeds"), (["--partition", "square8|5"], "players"),
                                      (["--hours", "0"], "--hours")])
def test_loop_runs_names_bad_input(tmp_path, args, why, capsys):
    bench = _load("loop_runs")
    assert bench.main(args + ["--no-run", "--out", str(tmp_path)]) == 2
    assert why in capsys.readouterr().err


def test_loop_runs_does_not_restart_a_seed_whose_loop_ended(tmp_path, monkeypatch, capsys):
    """A seed whose loop exited by itself is finished for that budget (the registry's
    wall seconds leave the ladder out, so they alone would start it again); a larger
    budget runs it on."""
    import sys

    from ringrift_ml.partition import Partition

    bench = _load("loop_runs")
    started = []

    def command(part, seed, root, hours, generations, extra):
        started.append((seed, round(hours, 3)))
        return [sys.executable, "-c", "pass"]

    monkeypatch.setattr(bench, "_loop_command", command)
    part = Partition.parse("square8|2")
    bench.run_seeds(part, [1, 2], tmp_path, 2.0, 50, 2, [])
    assert sorted(started) == [(1, 2.0), (2, 2.0)] and (tmp_path / "seed1" / bench.FINISHED).is_file()
    capsys.readouterr()
    bench.run_seeds(part, [1, 2], tmp_path, 2.0, 50, 2, [])
    skips = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"skip"' in x]
    assert len(started) == 2 and [x["seed"] for x in skips] == [1, 2]
    bench.run_seeds(part, [1], tmp_path, 3.0, 50, 1, [])
    assert started[-1] == (1, 3.0)


def test_loop_runs_keeps_final_matches_per_best(tmp_path, monkeypatch):
    """The final matches are replayed only for a new best, other games or seed; a failed
    match is not kept."""
    bench = _load("loop_runs")
    calls = []

    def fake(root, part, games, seed):
        calls.append((games, seed))
        return {"a vs b": {"error": "boom"}} if games == 7 else {"a vs b": {"score": 0.5 + len(calls) / 100}}

    monkeypatch.setattr(bench, "evaluate", fake)
    first = bench.cached_evaluate(tmp_path, None, 10, 1, best_generation=3)
    assert bench.cached_evaluate(tmp_path, None, 10, 1, best_generation=3) == first and len(calls) == 1
    assert bench.cached_evaluate(tmp_path, None, 10, 1, best_generation=4) != first and len(calls) == 2
    bench.cached_evaluate(tmp_path, None, 12, 1, best_generation=4)
    assert len(calls) == 3
    bench.cached_evaluate(tmp_path, None, 7, 1, best_generation=4)
    bench.cached_evaluate(tmp_path, None, 7, 1, best_generation=4)
    assert len(calls) == 5


def test_nnue_bench_prints_every_kind_on_a_tiny_setting(capsys):
    bench = _load("nnue_bench")
    assert bench.main(["--positions", "4", "--children", "2", "--nodes", "60", "--searches", "2", "--depths", "2",
                       "--min-seconds", "0.05", "--seconds", "0.02"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    kinds = {x["kind"] for x in lines}
    assert kinds == {"eval", "ratio", "leaf", "search", "timed", "depth", "depth_speedup"}, kinds
    depth = [x for x in lines if x["kind"] == "depth"]
    assert {x["player"] for x in depth} == {"minimax", "minimax-nnue"} and all(x["nodes"] > 0 for x in depth)
    (leaf,) = [x for x in lines if x["kind"] == "leaf"]
    assert leaf["heuristic_evals_per_s"] > 0 and leaf["nnue_evals_per_s"] > 0
    timed = [x for x in lines if x["kind"] == "timed"]
    assert {x["player"] for x in timed} == {"minimax", "minimax-nnue"} and all(x["min_depth"] >= 1 for x in timed)
    # A chosen subset runs alone; an unknown kind is named.
    assert bench.main(["--positions", "4", "--children", "2", "--min-seconds", "0.05", "--kinds", "leaf"]) == 0
    assert {json.loads(x)["kind"] for x in capsys.readouterr().out.splitlines() if x.startswith("{")} == {"leaf"}
    assert bench.main(["--kinds", "leaf,speed"]) == 2
    assert "--kinds: unknown speed" in capsys.readouterr().err


def test_value_floor_is_the_outcomes_variance_given_the_position():
    """Outcomes fixed by the position have floor 0; fair coins have floor 1; the
    interval covers a known variance; one continuation per position is refused."""
    bench = _load("value_floor")
    assert bench.floor_stats(np.array([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]))["floor"] == 0.0
    rng = np.random.default_rng(0)
    coins = rng.choice([-1.0, 1.0], size=(4000, 8))
    st = bench.floor_stats(coins)
    assert st["floor_ci"][0] < 1.0 < st["floor_ci"][1] and abs(st["floor"] - 1.0) < 0.03
    # A position won 3 times in 4: variance 1 - 0.5^2 = 0.75.
    biased = np.where(rng.random((4000, 8)) < 0.75, 1.0, -1.0)
    st = bench.floor_stats(biased)
    assert st["floor_ci"][0] < 0.75 < st["floor_ci"][1]
    with pytest.raises(ValueError, match="at least 2 continuations"):
        bench.floor_stats(np.ones((3, 1)))


def test_value_floor_runs_on_a_few_games(tmp_path, capsys):
    bench = _load("value_floor")
    args = ["--player", "mcts:4", "--games", "2", "--positions", "3", "--continuations", "2", "--workers", "1",
            "--out", str(tmp_path), "--no-progress", "--verbose"]
    assert bench.main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    positions = [x for x in lines if x["kind"] == "position"]
    assert len(positions) == 3 and all(len(x["outcomes"]) == 2 and set(x["outcomes"]) <= {-1.0, 1.0}
                                       for x in positions)
    whole = next(x for x in lines if x["kind"] == "floor" and x["part"] == "all")
    assert whole["positions"] == 3 and 0 <= whole["floor"] <= 2 and 0 <= whole["zero_mse"] <= 1
    assert bench.main(args[:-1] + ["--positions", "100000"]) == 2
    assert "the games hold" in capsys.readouterr().err
    assert bench.main(args[:-1] + ["--continuations", "1"]) == 2
    assert "--continuations >= 2" in capsys.readouterr().err


def test_value_floor_continues_a_lake_run_with_its_recorded_config(tmp_path, capsys):
    """Games of one labelled selfplay run in the lake: the continuations use the recorded
    players and settings; a label with no games, mixed configs and a config this machine
    cannot reproduce are refused by name."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.selfplay import SelfplayConfig, TemperatureSchedule, run_selfplay

    bench = _load("value_floor")
    sp = SelfplayConfig(board="square8", players=("mcts:4", "mcts:4"), games=2, seed=5, label="floor-test",
                        temperature=TemperatureSchedule(opening_moves=6))
    recs = run_selfplay(sp, progress=False)
    store = LakeStore.open(tmp_path / "lake")
    write_generated(store, recs, run_id="floor-test")
    cfg = bench.config_of(recs)
    assert cfg.players == sp.players and cfg.temperature.opening_moves == 6 and cfg.label == "floor-test"
    args = ["--storage", str(tmp_path / "lake"), "--positions", "2", "--continuations", "2", "--workers", "1",
            "--no-progress"]
    assert bench.main(args + ["--label", "floor-test"]) == 0
    whole = json.loads(capsys.readouterr().out.splitlines()[0])
    assert whole["part"] == "all" and whole["positions"] == 2 and whole["games"] == 2 and whole["player"] == "mcts:4"
    assert bench.main(args + ["--label", "nothing"]) == 2
    assert "no finished games labelled 'nothing'" in capsys.readouterr().err
    other = json.loads(json.dumps(recs[1]))
    other["generatorConfig"]["dirichlet_alpha"] = 0.1
    with pytest.raises(ValueError, match="2 different generator configs"):
        bench.config_of([recs[0], other])
    other = json.loads(json.dumps(recs[0]))
    other["generatorConfig"]["generator_version"] = -1
    with pytest.raises(ValueError, match="generatorConfig.generator_version"):
        bench.config_of([other])


def test_weights_match_plays_every_game_of_each_pair_and_names_bad_input(tmp_path, capsys):
    """``weights_match.py``: each pair plays all its games (no early stop) through the
    confirming test's code; a vector against itself scores one half on average, a
    missing file or a malformed pair is one clear error."""
    from ringrift_ml.ai.heuristic import packaged_weights_path
    from ringrift_ml.tuning import save_tuned

    bench = _load("weights_match")
    result = {"board": "hex8", "players": 2, "generations": 1, "best_score": 0.5,
              "mean_weights": {"eliminated": -5.0}}  # rewards losing rings: a weak vector
    weak = save_tuned(result, tmp_path / "weak.json", version="weak", base=packaged_weights_path())
    assert bench.main(["--board", "hex8", "--games", "6", "--pairs", f"packaged:packaged,packaged:{weak}"]) == 0
    same, strong = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert same["games"] == strong["games"] == 6 and same["b"] == "packaged" and strong["b"] == str(weak)
    assert 0 < same["score"] < 1 and strong["score"] > 0.5 and strong["ci95"][0] <= strong["score"] <= strong["ci95"][1]
    assert bench.main(["--pairs", f"{tmp_path / 'none.json'}:packaged"]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert bench.main(["--pairs", "packaged"]) == 2
    assert "is not A:B" in capsys.readouterr().err


def test_retrain_gate_replays_a_generations_candidate_and_its_gate(tmp_path, capsys):
    """With no training overrides the retrained candidate is the loop's own and its gate's
    games are replayed: the same score over the games the gate played.  Other options train
    another candidate on the same window; bad input is named."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import LoopConfig, registry, run_loop

    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(board="square8", players=2, games=10, simulations=4, bootstrap="mcts:4", gate_min_games=2,
                     gate_max_games=4, batch_games=10, train=(("epochs", 3), ("preset", "tiny")), ladder_games=0,
                     gate_games_train=False)
    run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)
    row = registry(store, "square8", 2)[0]
    bench = _load("retrain_gate")
    base = ["--storage", str(tmp_path / "root"), "--partition", "square8|2", "--generation", "0"]
    assert bench.main(base + ["--games", str(row["gate_games"]), "--out", str(tmp_path / "same")]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["score"] == pytest.approx(row["gate_score"], abs=1e-4) and same["games"] == row["gate_games"]
    assert same["opponent"] == "mcts:4" and same["samples"] == row["window_positions"]
    assert bench.main(base + ["--train", '{"epochs": 1}', "--games", "2", "--out", str(tmp_path / "other")]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["epochs"] == 1 and other["train"] == {"epochs": 1} and other["wins"] + other["losses"] + other["draws"] == 2
    assert bench.main(base[:-1] + ["7", "--out", str(tmp_path / "x")]) == 2
    assert "no registry row" in capsys.readouterr().err
    assert bench.main(base + ["--train", '{"epochs": 0}', "--out", str(tmp_path / "y")]) == 2
    assert "epochs" in capsys.readouterr().err


def test_sample_and_window_benchmarks_read_a_lake_in_bounded_pieces(tmp_path, capsys):
    """``samples_bench`` reads the newest games by id, then whole; ``window_memory``
    loads a replay window and reports its memory; both name a bad partition."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.lake.merge import merge_partition
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.run import generation_samples
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    store = LakeStore.open(tmp_path)
    recs = run_selfplay(SelfplayConfig(board="square8", players=("mcts:4", "random"), games=3, seed=5), progress=False)
    write_generated(store, recs, run_id="bench")
    merge_partition(store, "square8", 2, run_id="bench")
    assert _load("samples_bench").main(["--storage", str(tmp_path), "--partitions", "square8|2", "--games", "2"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["partition"] == "square8|2" and line["games"] == 2 and line["samples"] > 0
    generation_samples(store, LoopConfig(board="square8", players=2), 0, log=lambda m: None)
    window = _load("window_memory")
    assert window.main(["--storage", str(tmp_path), "--partition", "square8|2"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["sample_sets"] == 1 and got["positions"] > 0 and got["peak_gb"] >= got["array_gb"]["planes"]
    with pytest.raises(SystemExit):
        window.main(["--storage", str(tmp_path), "--partition", "square8|5"])
    assert "--partition" in capsys.readouterr().err


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_nnue_arch_edge_features_follow_the_position_under_every_symmetry(board):
    """Every neighbouring pair once; the bag of a position's cells mapped by a symmetry
    is the bag of the position that symmetry makes (the augmentation is exact)."""
    from ringrift_ml import distill as D
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nnue.model import board_cells
    from ringrift_ml.rules.boards import board_spec

    arch = _load("nnue_arch")
    spec, n = board_spec(board), board_cells(board)
    E = arch.edges(board)
    step = [np.abs(spec.coords[a] - spec.coords[b]) for a, b in E]
    brute = sum(1 for a in range(n) for b in range(a + 1, n)
                if (np.abs(spec.coords[a] - spec.coords[b]).max() == 1 if not spec.is_hex
                    else np.abs(spec.coords[a] - spec.coords[b]).sum() == 2))
    assert len(E) == len({tuple(sorted(e)) for e in E.tolist()}) == brute and all(s.max() == 1 for s in step)
    states = D.played_positions(board, 2, 2, "heuristic", seed=3, log=lambda m: None)[10::7][:4]
    perms = symmetry_perms(board)
    for S in states:
        data = D.samples(board, [S], np.zeros((1, 2), np.float32), np.zeros(1, np.int64))
        dense, coarse = arch.dense_codes(data.feats, data.starts, n)
        images = D.symmetric_states(board, S)
        idata = D.samples(board, images, np.zeros((len(images), 2), np.float32), np.zeros(len(images), np.int64))
        idense, icoarse = arch.dense_codes(idata.feats, idata.starts, n)
        want = {tuple(sorted(arch.edge_bag(idense, icoarse, np.array([i]), None, E, n)[0].tolist()))
                for i in range(0, len(idense), 2)}  # two rows a position: seat 1's view, then seat 2's
        got = {tuple(sorted(arch.edge_bag(dense, coarse, np.array([0]), perms[k][None], E, n)[0].tolist()))
               for k in range(len(perms))}
        assert got == want and len(got) > 1
        # Edge features exist beside the cell features, and only where a cell is occupied.
        bag = arch.edge_bag(dense, coarse, np.array([0]), None, E, n)[0].numpy()
        assert (bag >= n * 68).sum() > 0 and len(bag) == (dense[0] >= 0).sum() + \
            ((coarse[0][E[:, 0]] != arch.EMPTY) | (coarse[0][E[:, 1]] != arch.EMPTY)).sum()


def test_nnue_arch_trains_every_variant_on_a_cached_set(tmp_path, capsys):
    """On a small cached set (labels from the heuristic here, not a network): one line
    per variant with a correlation, epochs for the edge variant; bad input named."""
    from ringrift_ml import distill as D

    arch = _load("nnue_arch")
    states = D.played_positions("hex8", 2, 6, "heuristic", seed=1, log=lambda m: None)
    games = np.repeat(np.arange(6), -(-len(states) // 6))[:len(states)]
    data = D.samples("hex8", states, D.heuristic_values("hex8", 2, states), games)
    held = games == 5
    np.savez(tmp_path / "set.npz", feats=data.feats, starts=data.starts, glob=data.glob, target=data.target,
             game=data.game, held_pos=held, train_pos=~held, model=np.array("heuristic"), seconds=np.array(0.0))
    names = ["plain:16", "pair:16x8x4", "edges:16", "edges-pair:16x8x8", "persp-pair:16", "stacks2:16"]
    assert arch.main(["--storage", str(tmp_path), "--partition", "hex8|2", "--cache", str(tmp_path / "set.npz"),
                      "--epochs", "2", "--variants", ",".join(names)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["kind"] == "set" and lines[0]["heldout_games"] == 1
    variants = [x for x in lines if x["kind"] == "variant"]
    assert [x["variant"] for x in variants] == names
    assert all(-1 <= x["corr_float"] <= 1 and x["best_heldout_mse"] >= 0 for x in variants)
    assert variants[3]["features"] == variants[2]["features"] > variants[0]["features"] == 61 * 68
    assert [(x["variant"], x["epoch"]) for x in lines if x["kind"] == "epoch"] == \
        [(n, e) for n in names[2:] for e in (0, 1)]  # the torch-only variants report their epochs
    assert arch.main(["--storage", str(tmp_path), "--partition", "hex8|5", "--cache", "x.npz"]) == 2
    assert "--partition" in capsys.readouterr().err
    for bad, why in (("stacks1:16", "B >= 2"), ("pair:15", "even"), ("edges-pair:15", "even"),
                     ("plain:16x8", "HxL1xL2"), ("deep:16", "kind")):
        assert arch.main(["--storage", str(tmp_path), "--partition", "hex8|2", "--cache", "x.npz",
                          "--variants", bad]) == 2
        assert bad in (err := capsys.readouterr().err) and why in err
    assert arch.main(["--storage", str(tmp_path), "--partition", "hex8|2", "--cache", "x.npz", "--factorise",
                      "--variants", "pair:16,edges:16"]) == 2
    assert "--factorise" in capsys.readouterr().err
    z = dict(np.load(tmp_path / "set.npz"))
    # The head of a seat's sample reads its own accumulator first, then the other seat's
    # (a position's seats are neighbouring rows).
    _, _, bag, _ = arch.variant_persp("hex8", z, 2, 16, 8, 8, True)
    idx, off = bag(np.array([2, 5]), None)
    rows = [2, 5, 3, 4]  # own seats first (rows 2 and 5), then each one's other seat
    want = np.concatenate([z["feats"][z["starts"][r]:z["starts"][r + 1]] for r in rows])
    assert idx.tolist() == want.tolist() and off.tolist() == np.cumsum([0] + [
        z["starts"][r + 1] - z["starts"][r] for r in rows[:-1]]).tolist()
    # Layer stacks: each sample's value comes from the head of its bucket, and the buckets
    # follow the count of occupied cells (fuller boards, later heads), every one used.
    import torch

    train = np.flatnonzero(np.repeat(z["train_pos"], 2))
    _, net, stack_bag, forward = arch.variant_stacks("hex8", z, train, 16, 8, 8, 3)
    with torch.no_grad():
        net.out.weight.zero_()
        net.out.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
        rows = np.arange(len(z["target"]))
        head = np.rint(np.arctanh(forward(*stack_bag(rows, None), rows).numpy()) * 10).astype(int) - 1
    count = np.diff(z["starts"])
    assert set(head.tolist()) == {0, 1, 2}
    assert all(count[head == k].max() <= count[head == k + 1].min() for k in (0, 1))


def test_nnue_quant_compares_the_three_quantisations(tmp_path, capsys):
    """Every scheme's line, the bias-corrected one with calibration games, and the
    one-scale NumPy head equal to the compiled integer head given that scheme's arrays."""
    from ringrift_ml.ai._k_nnue import QB
    from ringrift_ml.nnue import NNUEWeights
    from ringrift_ml.nnue.features import N_GLOBALS, n_features
    from ringrift_ml.nnue.model import board_cells

    rng = np.random.default_rng(0)
    hidden, l1, l2 = 16, 4, 4
    grid = lambda shape: (rng.integers(-20, 21, shape) / QB).astype(np.float32)  # noqa: E731
    w = NNUEWeights("square8", W1=rng.normal(0, 0.05, (n_features(board_cells("square8")), hidden)),
                    b1=np.full(hidden, 0.4), L1w=grid((hidden + N_GLOBALS, l1)), L1b=np.full(l1, 0.25),
                    L2w=grid((l1, l2)), L2b=np.full(l2, 0.25), Ow=grid(l2), Ob=0.0)
    w.save(tmp_path / "n.npz")
    bench = _load("nnue_quant")
    assert bench.main(["--nnue", str(tmp_path / "n.npz"), "--num-players", "2", "--games", "2",
                       "--calibrate-games", "2"]) == 0
    rows = {r["scheme"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == {"single", "own", "corrected"} and rows["single"]["positions"] > 20
    for flag, value in (("--num-players", "5"), ("--games", "0")):
        args = {"--num-players": "2", "--games": "2", flag: value}
        assert bench.main(["--nnue", str(tmp_path / "n.npz"), *[x for kv in args.items() for x in kv]]) == 2
        assert flag in capsys.readouterr().err
    assert all(r["corr"] is not None and r["corr"] > 0.9 for r in rows.values())  # the values vary
    # The NumPy one-scale head is the compiled integer head given one divisor QB everywhere
    # and biases without the rounding half.
    from ringrift_ml.ai import _k_nnue as K
    from ringrift_ml.distill import _games, played_positions
    states = played_positions("square8", 2, 1, seed=3, log=lambda m: None)
    got = bench._single_scale_values(w, states)
    heads = (np.rint(w.L1w * QB).astype(np.int8), np.rint(w.L1b * K.QA * QB).astype(np.int32), np.full(l1, QB, np.int32),
             np.rint(w.L2w * QB).astype(np.int8), np.rint(w.L2b * K.QA * QB).astype(np.int32), np.full(l2, QB, np.int32),
             np.rint(w.Ow * QB).astype(np.int8), np.int32(0), np.int64(QB))
    bufs = (np.zeros(hidden + N_GLOBALS, np.int16), np.zeros(l1, np.int32), np.zeros(l2, np.int32))
    ref = []
    for S in states:
        for p in (1, 2):
            codes = np.full((4, board_cells("square8")), -1, np.int64)
            accs = np.zeros((4, hidden), np.int16)
            q = w.quantised()
            K.refresh(S, board_cells("square8"), q["W1q"], q["b1q"], accs, codes)
            g = np.zeros(N_GLOBALS, np.float32)
            K.globals_into(S, p, g)
            ref.append(K.head_quantised(accs[p - 1], 0, g, *heads, *bufs))
    assert len(got) == len(ref) == 2 * len(_games("square8", states)) and np.allclose(got, ref, atol=1e-12)
    assert bench.main(["--nnue", str(tmp_path / "missing.npz"), "--num-players", "2"]) == 2
    assert "no such file" in capsys.readouterr().err
