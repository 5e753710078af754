"""The closed loop: gate decisions, promotion, warm start, and resume after a kill
without lost or doubled generations."""

import json

import pytest

from ringrift_ml.ai import make_engine_player
from ringrift_ml.arena import SPRT, sequential_match
from ringrift_ml.lake import LakeStore
from ringrift_ml.loop import LoopConfig, current_best, registry, run_loop
from ringrift_ml.loop import run as loop_run
from ringrift_ml.nn.checkpoint import read_net, save_net
from ringrift_ml.nn.net import RingNet, net_config

from ..registry_rows import write_registry

# A loop small enough for a test: bootstrap games of a 4-simulation heuristic search (fast,
# with search targets a tiny network learns), a tiny network.
SMALL = dict(board="square8", players=2, games=10, simulations=4, bootstrap="mcts:4", gate_min_games=2,
             gate_max_games=4, batch_games=10, train=(("epochs", 12), ("preset", "tiny")), ladder_games=0,
             gate_games_train=False)


def test_gate_decides_for_the_stronger_player_not_before_its_minimum():
    strong, sb = make_engine_player("heuristic", "hex8", 2)
    weak, wb = make_engine_player("random", "hex8", 2)
    test = SPRT(elo0=0, elo1=100)
    up = sequential_match(strong, weak, sb, wb, "hex8", test, max_games=60, min_games=12, progress=False,
                          concurrency=4)
    assert up["decision"] == "H1" and up["games"] >= 12 and up["ci95"][0] > 0.5
    down = sequential_match(weak, strong, wb, sb, "hex8", test, max_games=60, min_games=12, progress=False,
                            concurrency=4)
    assert down["decision"] == "H0" and down["games"] >= 12 and down["ci95"][1] < 0.5
    short = sequential_match(strong, weak, sb, wb, "hex8", test, max_games=3, progress=False)
    assert short["decision"] is None and short["games"] == 3  # undecided: the loop rejects
    with pytest.raises(ValueError, match="min_games"):
        sequential_match(strong, weak, sb, wb, "hex8", test, max_games=3, min_games=5, progress=False)


def test_loop_config_names_bad_fields():
    for bad, why in ((dict(board="chess"), "board"), (dict(ladder_games=-1), "ladder_games"),
                     (dict(players=5), "players"), (dict(games=0), "games"),
                     (dict(gate_min_games=50, gate_max_games=10), "gate_min_games"),
                     (dict(bootstrap="nn:x.pt:4"), "bootstrap"), (dict(train=(("epochz", 3),)), "train")):
        with pytest.raises(ValueError, match=why):
            LoopConfig(**{**SMALL, **bad})
    # A registry row's config reads back as the config that wrote it; a field no
    # LoopConfig has is named.
    cfg = LoopConfig(**{**SMALL, "warm_train": (("lr", 1e-4),)})
    assert LoopConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="gate_scor"):
        LoopConfig.from_dict({**cfg.to_dict(), "gate_scor": 0.5})


def _counts(store, label):
    games = store.query("SELECT count(*) AS n FROM lake.games WHERE json_extract_string(generator_config, "
                        "'$.label') = ?", [label]).to_pylist()[0]["n"]
    sets = store.query("SELECT count(*) AS n FROM lake.sample_sets WHERE run_id = ?", [label]).to_pylist()[0]["n"]
    return games, sets


def test_promotion_warm_start_and_resume_after_a_kill(tmp_path, monkeypatch):
    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**SMALL)
    real = loop_run.sequential_match
    calls = []

    def gate(*args, **kw):
        calls.append(args[0].name)
        if len(calls) == 1:
            raise KeyboardInterrupt("killed during generation 0's gate")
        out = real(*args, **kw)
        return {**out, "decision": "H1"}  # every finished gate passes: this test is about the bookkeeping

    monkeypatch.setattr(loop_run, "sequential_match", gate)
    # ... and so does the held-out check before it (a 10-game tiny network sometimes
    # misses the trivial baseline; that check has tests of its own).
    import ringrift_ml.train.checkpoint as train_checkpoint

    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, cfg, generations=2, progress=False, log=lambda m: None)
    assert registry(store, "square8", 2) == []  # the registry row is the commit point
    assert _counts(store, "loop:square8|2:g0") == (10, 1)
    # The killed attempt's selfplay CPU travelled with its games' commit: the resumed
    # generation, which plays nothing, finds it there.
    from ringrift_ml.lake.generated import commit_cpu_seconds

    spent = commit_cpu_seconds(store, "loop:square8|2:g0")
    assert spent > 0 and commit_cpu_seconds(store, "loop:square8|2:g9") == 0
    again = loop_run.play_generation(store, cfg, 0, None, progress=False, log=lambda m: None)
    assert again["records"] == [] and again["earlier_cpu_seconds"] == spent
    # So did the CPU of building its sample set, with the set's commit.
    from ringrift_ml.lake.lineage import sample_set_cpu_seconds

    built = sample_set_cpu_seconds(store, loop_run.generation_sample_set(store, cfg, 0)["sample_set_id"])
    assert built > 0 and sample_set_cpu_seconds(store, "ss-none") == 0
    # ... and its training CPU with the training state it left.
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.train.checkpoint import load_state
    from ringrift_ml.train.loop import STATE_FILE

    trained = load_state(Layout(store.root).generation_dir(Partition("square8", 2), 0) / STATE_FILE)[1]["cpu_seconds"]
    assert trained > 0
    log = []
    rows = run_loop(store, cfg, generations=2, progress=False, log=log.append)
    # Resumed: generation 0's games and samples were reused, nothing doubled or lost.
    assert _counts(store, "loop:square8|2:g0") == (10, 1) and _counts(store, "loop:square8|2:g1") == (10, 1)
    assert [r["generation"] for r in rows] == [0, 1] and [r["status"] for r in rows] == ["promoted"] * 2, rows[-1]["reason"]
    reg = registry(store, "square8", 2)
    assert [r["generation"] for r in reg] == [0, 1]
    g0, g1 = reg
    assert g0["parent_id"] is None and g1["parent_id"] == g0["model_id"]
    assert g0["selfplay_cpu_seconds"] >= spent + built and g0["cpu_seconds"] >= spent + built + trained  # counted
    assert g0["train_cpu_seconds"] >= trained
    assert any("selfplay 10 games with nn:" in m and g0["path"] in m for m in log)  # the best plays generation 1
    assert any("warm start from g0" in m for m in log)
    gate1 = json.loads(g1["gate"])
    assert gate1["opponent"].startswith("nn:") and gate1["games"] >= 2 and len(gate1["ci95"]) == 2
    # ... and as columns a DuckDB user filters on.
    assert (g1["gate_opponent"], g1["gate_games"], g1["gate_score"]) == (gate1["opponent"], gate1["games"],
                                                                        gate1["score"])
    assert [g1["gate_ci_low"], g1["gate_ci_high"]] == gate1["ci95"] and g1["gate_decision"] == "H1"
    assert g1["gate_llr"] == gate1["llr"]
    assert json.loads(g1["window"]) and g1["cpu_seconds"] > 0 and g1["selfplay_games"] == 10
    assert current_best(reg)["generation"] == 1
    # Asking for generations that exist does nothing.
    assert run_loop(store, cfg, generations=2, progress=False, log=lambda m: None) == []


def _kill_the_first_gate(monkeypatch):
    """The loop's first gate raises as a kill would; later gates play."""
    real = loop_run.sequential_match
    killed = []

    def gate(*args, **kw):
        if not killed:
            killed.append(1)
            raise KeyboardInterrupt("killed during generation 0's gate")
        return real(*args, **kw)

    monkeypatch.setattr(loop_run, "sequential_match", gate)


def test_a_rerun_under_another_training_config_sets_the_old_attempt_aside(tmp_path, monkeypatch):
    """A generation killed after its training, rerun once the training options changed:
    its state cannot be resumed, so the attempt is moved beside the run (kept, its CPU
    counted) and the candidate trains afresh, instead of the generation failing."""
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.train.checkpoint import state_record
    from ringrift_ml.train.loop import STATE_FILE

    store = LakeStore.open(tmp_path / "root")
    _kill_the_first_gate(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, LoopConfig(**SMALL), generations=1, progress=False, log=lambda m: None)
    run_dir = Layout(store.root).generation_dir(Partition("square8", 2), 0)
    spent = state_record(run_dir / STATE_FILE)["cpu_seconds"]
    other = LoopConfig(**{**SMALL, "train": (("epochs", 2), ("preset", "tiny"))})
    log = []
    # The process that sets the attempt aside is killed too, as its own training starts:
    # the next one still counts the set-aside attempt's CPU (it reads it from the folder).
    import ringrift_ml.train.loop as train_loop

    def dead_fit(*args, **kw):
        raise KeyboardInterrupt("killed as its training starts")

    monkeypatch.setattr(train_loop, "fit", dead_fit)
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, other, generations=1, progress=False, log=log.append)
    monkeypatch.undo()
    rows = run_loop(store, other, generations=1, progress=False, log=log.append)
    assert [r["generation"] for r in rows] == [0] and rows[0]["status"] != "failed", rows[0]["reason"]
    aside = [p for p in run_dir.parent.iterdir() if p.name.startswith(run_dir.name + ".set-aside-")]
    assert len(aside) == 1 and state_record(aside[0] / STATE_FILE)["cpu_seconds"] == spent  # kept whole
    assert any("another training config" in m and aside[0].name in m for m in log)
    assert state_record(run_dir / STATE_FILE)["train_config"]["epochs"] == 2  # the fresh run's
    assert rows[0]["train_cpu_seconds"] >= spent > 0  # the set-aside attempt's CPU is counted


def test_a_rerun_keeps_the_step_budget_of_its_first_attempt(tmp_path, monkeypatch):
    """``train_share``'s step cap comes from CPU measured in the generation; a rerun that
    finds the selfplay and the sample set done measures it again differently.  The
    rerun resumes the saved training with its first step budget instead of setting it
    aside and training afresh (which every restart during a training did before)."""
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.train.checkpoint import state_record
    from ringrift_ml.train.loop import STATE_FILE

    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**{**SMALL, "train_share": 0.25})
    batch = cfg.train_config(seed=0).batch_size
    steps = iter([3, 2, 2])  # the first attempt's cap, then what each rerun measures
    monkeypatch.setattr(loop_run, "train_budget",
                        lambda *a, **k: {"cpu_seconds": 1.0, "positions": next(steps) * batch, "rate": 1.0,
                                         "rate_from": "g0"})
    _kill_the_first_gate(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)
    run_dir = Layout(store.root).generation_dir(Partition("square8", 2), 0)
    assert state_record(run_dir / STATE_FILE)["train_config"]["max_steps"] == 3
    log = []
    rows = run_loop(store, cfg, generations=1, progress=False, log=log.append)
    assert rows[0]["status"] != "failed", rows[0]["reason"]
    assert not [p for p in run_dir.parent.iterdir() if ".set-aside-" in p.name]
    assert any("step budget of its first attempt (3 steps)" in m for m in log)
    assert read_net(store.root / rows[0]["path"])[1]["train_config"]["max_steps"] == 3


def test_a_failed_gate_keeps_the_best(tmp_path, monkeypatch):
    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**SMALL)
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H0"})
    rows = run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)
    assert rows[0]["status"] == "rejected" and "gate failed" in rows[0]["reason"]
    assert current_best(registry(store, "square8", 2)) is None  # the bootstrap player stays
    assert json.loads(rows[0]["gate"])["opponent"] == SMALL["bootstrap"]
    # The registry's typed figures: the generation's targets and the candidate's held-out evaluation.
    r = registry(store, "square8", 2)[0]
    assert r["targets"] > 0 and r["target_kl_prior"] > 0 and r["target_entropy"] >= 0
    assert r["target_kl_uniform"] > 0
    meta = read_net(store.root / r["path"])[1]["heldout"]
    assert r["heldout_policy_ce"] == pytest.approx(meta["policy_ce"])
    assert r["heldout_target_entropy"] < r["heldout_policy_ce_uniform"]
    assert r["heldout_gap_closed"] == pytest.approx((meta["policy_ce_uniform"] - meta["policy_ce"])
                                                    / (meta["policy_ce_uniform"] - meta["policy_target_entropy"]))
    steps = [r["selfplay_cpu_seconds"], r["train_cpu_seconds"], r["gate_cpu_seconds"]]
    assert min(steps) > 0 and sum(steps) == pytest.approx(r["cpu_seconds"], abs=0.5)
    # Where the CPU went: selfplay made the data (the gate's games do not train here).
    assert r["ladder_cpu_seconds"] == 0 and r["data_cpu_seconds"] == pytest.approx(r["selfplay_cpu_seconds"], abs=0.2)
    # (the figures are rounded to 0.1 s, the share is not: its error is at most 0.2 s / the sum)
    assert r["data_share"] == pytest.approx(r["selfplay_cpu_seconds"] / sum(steps), abs=0.01 + 0.2 / sum(steps))
    full = read_net(store.root / r["path"])[1]
    sset = store.query("SELECT samples FROM lake.sample_sets WHERE sample_set_id = ?", [r["sample_set_id"]])
    assert r["positions"] == sset.to_pylist()[0]["samples"] > 0
    assert r["window_positions"] == full["samples"]["train"] + full["samples"]["heldout"]
    assert r["trained_positions"] == full["steps"] * full["train_config"]["batch_size"] > 0
    assert r["best_epoch"] == full["best_epoch"] and r["heldout_top1"] == pytest.approx(meta["top1"])
    n = store.query("SELECT count(*) AS n FROM lake.model_registry WHERE target_kl_prior > 0").to_pylist()[0]["n"]
    assert n == 1  # a column a DuckDB user filters on


def test_while_nothing_is_promoted_a_candidate_continues_from_the_rejected_one(tmp_path, monkeypatch):
    store = LakeStore.open(tmp_path / "root")
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H0"})
    inits = []
    import ringrift_ml.train.loop as train_loop  # train_candidate imports fit from here on each call

    real_fit = train_loop.fit

    def spy(data, tcfg, run_dir, **kw):
        if tmp_path in run_dir.parents:  # a candidate's training, not a rate probe's throwaway run
            inits.append(kw.get("init"))
        return real_fit(data, tcfg, run_dir, **kw)

    monkeypatch.setattr(train_loop, "fit", spy)
    log = []
    rows = run_loop(store, LoopConfig(**SMALL), generations=2, progress=False, log=log.append)
    assert [r["status"] for r in rows] == ["rejected", "rejected"]
    assert inits[0] is None and inits[1] == store.root / rows[0]["path"]  # g0's weights, not random ones
    assert any("warm start from g0 (rejected: no network promoted yet)" in m for m in log)
    assert rows[1]["parent_id"] is None  # the bootstrap search is still the best
    # The candidate it continued from is the newest gated one, not a failed generation's.
    assert loop_run.previous_candidate(store, LoopConfig(**SMALL), 2)["generation"] == 1
    assert loop_run.previous_candidate(store, LoopConfig(**SMALL), 0) is None
    # A rejected network of another size is not continued: training starts afresh.
    cfg = LoopConfig(**{**SMALL, "train": (("epochs", 2), ("preset", "small"))})
    log.clear()
    rows = run_loop(store, cfg, generations=3, progress=False, log=log.append)
    assert [r["generation"] for r in rows] == [2] and inits[2] is None
    assert any("g2: g1's network has another size than this run trains; from scratch" in m for m in log)
    # And off, every candidate before the first promotion trains from scratch.
    store2 = LakeStore.open(tmp_path / "root2")
    inits.clear()
    run_loop(store2, LoopConfig(**{**SMALL, "continue_rejected": False}), generations=2, progress=False,
             log=lambda m: None)
    assert inits == [None, None]


def test_ladder_cpu_is_paid_by_the_next_generation_and_gate_games_count_as_data(tmp_path):
    """``compute_figures``: ladder games played after the previous generation's row
    count for the next generation (rollback rows do not move that line); with
    ``gate_games_train`` the gate's CPU made data too, and so did ladder games kept as
    training data."""
    import time

    from ringrift_ml.lake.lineage import record_row
    from ringrift_ml.loop.run import compute_figures
    from tests.registry_rows import write_registry

    store = LakeStore.open(tmp_path)

    def ladder(cpu, training=False):
        record_row(store, "ladder_games", [{"board": "square8", "players": 2, "a": "g0", "b": "heuristic",
                                            "score": 1.0, "seed": 1, "cpu_seconds": cpu, "training": training}],
                   "ladder")
        time.sleep(0.01)

    ladder(5.0)  # before any generation: g0 pays it
    cfg = LoopConfig(**SMALL)
    steps = {"selfplay": 30.0, "train": 10.0, "gate": 20.0}
    first = compute_figures(store, cfg, 0, steps)
    assert first["ladder_cpu_seconds"] == 5.0 and first["data_cpu_seconds"] == 30.0
    assert first["data_share"] == pytest.approx(30 / 65, abs=1e-4)
    write_registry(store, [0])
    time.sleep(0.01)
    ladder(7.0)
    ladder(1.0)
    write_registry(store, [0], status="rolled_back")  # a restatement, not a generation's row
    got = compute_figures(store, LoopConfig(**{**SMALL, "gate_games_train": True}), 1, steps)
    assert got == {"ladder_cpu_seconds": 8.0, "data_cpu_seconds": 50.0, "data_share": pytest.approx(50 / 68, abs=1e-4)}
    assert compute_figures(store, cfg, 1, {})["data_share"] == 0.0
    write_registry(store, [1])
    assert compute_figures(store, cfg, 2, {}) == {"ladder_cpu_seconds": 0.0, "data_cpu_seconds": 0.0,
                                                  "data_share": None}
    time.sleep(0.01)
    ladder(6.0, training=True)  # kept as training data: the ladder's CPU made data
    ladder(2.0)
    assert compute_figures(store, cfg, 2, steps) == {"ladder_cpu_seconds": 8.0, "data_cpu_seconds": 36.0,
                                                     "data_share": pytest.approx(36 / 68, abs=1e-4)}


def test_train_share_budgets_training_against_the_generations_data_cpu(tmp_path):
    """``train_budget``: the CPU allowed is train_share / (1 - train_share) of the
    selfplay's CPU plus the ladder's kept games, less the ladder's other games, at the
    newest measured training rate; nothing to budget without a rate, without the
    selfplay's CPU or with the share at 0."""
    import time

    from ringrift_ml.lake.lineage import record_row
    from ringrift_ml.loop.run import train_budget
    from tests.registry_rows import write_registry

    store = LakeStore.open(tmp_path)
    cfg = LoopConfig(**{**SMALL, "train_share": 0.25})
    assert train_budget(store, cfg, 0, 90.0) is None  # no generation has measured a training rate, no probe
    rows = write_registry(store, [0])
    assert train_budget(store, cfg, 1, 90.0) is None  # a row without the training figures
    record_row(store, "model_registry", [{**rows[0], "generation": 1, "train_cpu_seconds": 50.0,
                                          "trained_positions": 100_000}], "g1")
    time.sleep(0.01)
    record_row(store, "ladder_games", [{"board": "square8", "players": 2, "a": "g1", "b": b, "score": 1.0, "seed": 1,
                                        "cpu_seconds": cpu, "training": kept}
                                       for b, cpu, kept in (("g0", 30.0, True), ("heuristic", 6.0, False))], "ladder")
    got = train_budget(store, cfg, 2, 90.0)
    cpu = (90.0 + 30.0) / 3 - 6.0
    assert got == {"cpu_seconds": cpu, "positions": pytest.approx(cpu * 2_000), "rate": 2000.0, "rate_from": "g1"}
    assert train_budget(store, cfg, 2, None) is None
    assert train_budget(store, LoopConfig(**{**SMALL, "train_share": 0.0}), 2, 90.0) is None
    assert train_budget(store, cfg, 2, 0.0)["cpu_seconds"] == 4.0  # 30 / 3 - 6
    # A measured rate wins over the probe, which does not run then.
    assert train_budget(store, cfg, 2, 90.0, probe=lambda: pytest.fail("probed"))["rate_from"] == "g1"


def test_the_first_generation_budgets_its_training_by_a_probe_of_its_own_steps(tmp_path, monkeypatch):
    """Before any generation measured a training rate, ``train_budget`` takes the
    probe's, and the CPU the probe spent comes off the budget; the loop's first
    generation probes its own window and trains within the cap."""
    from ringrift_ml.loop.run import train_budget

    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**{**SMALL, "train_share": 0.25})
    clock = iter([100.0, 102.5])
    monkeypatch.setattr(loop_run, "process_cpu_seconds", lambda: next(clock))
    got = train_budget(store, cfg, 0, 90.0, probe=lambda: 400.0)
    assert got == {"cpu_seconds": 27.5, "positions": pytest.approx(27.5 * 400), "rate": 400.0, "rate_from": "probe"}
    monkeypatch.undo()

    log = []
    row = run_loop(store, cfg, generations=1, progress=False, log=log.append)[0]
    assert row["status"] != "failed", row["reason"]
    said = [m for m in log if "rate of probe" in m]
    assert len(said) == 1 and "at most" in said[0], log
    steps = read_net(store.root / row["path"])[1]["train_config"]["max_steps"]
    assert steps > 0 and f"at most {steps} steps" in said[0]
    # The cap holds: the training's positions fit the probe's rate times the budget.
    assert row["trained_positions"] <= steps * cfg.train_config(seed=0).batch_size


@pytest.mark.parametrize("truncation, llr, status, says", [
    ("llr", 0.8, "promoted", "passed at its horizon"), ("llr", -0.2, "rejected", "leans to no gain"),
    ("reject", 0.8, "rejected", "must reach the H1 bound")])
def test_an_undecided_gate_is_decided_by_its_truncation_rule(tmp_path, monkeypatch, truncation, llr, status, says):
    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**{**SMALL, "gate_truncation": truncation})
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match",
                        lambda *a, **k: {**real(*a, **k), "decision": None, "llr": llr})
    row = run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)[0]
    assert row["status"] == status and says in row["reason"]
    assert json.loads(row["gate"])["truncated"] == truncation
    with pytest.raises(ValueError, match="gate_truncation"):
        LoopConfig(**{**SMALL, "gate_truncation": "coin"})


def test_a_failing_step_is_retried_then_recorded_and_the_loop_goes_on(tmp_path, monkeypatch):
    from ringrift_ml.loop.run import FAILED, failure_rate, resolve_ref

    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**SMALL)
    real = loop_run.train_candidate
    tries = []

    def flaky(store_, cfg_, g, *a, **k):
        tries.append(g)
        if g == 0 or tries.count(1) == 1:  # generation 0 always fails, generation 1 once
            raise RuntimeError(f"disk full during g{g}")
        return real(store_, cfg_, g, *a, **k)

    monkeypatch.setattr(loop_run, "train_candidate", flaky)
    monkeypatch.setattr(loop_run, "sequential_match",
                        lambda *a, **k: {"decision": "H0", "score": 0.4, "games": 2, "ci95": (0.1, 0.9)})
    from ringrift_ml.lake.lineage import record_row

    record_row(store, "ladder_games", [{"board": "square8", "players": 2, "a": "g0", "b": "heuristic", "score": 1.0,
                                        "seed": 1, "cpu_seconds": 12.5, "training": False}], "ladder")
    log = []
    rows = run_loop(store, cfg, generations=2, progress=False, log=log.append, retries=2)
    assert tries == [0, 0, 0, 1, 1]
    assert [(r["generation"], r["status"]) for r in rows] == [(0, FAILED), (1, "rejected")]
    assert "3 attempt(s) failed; last: RuntimeError: disk full during g0" == rows[0]["reason"]
    # The failed row counts what its attempts spent: the selfplay whose games landed (as
    # the lake recorded it), the sample set, the training started.
    from ringrift_ml.lake.generated import commit_cpu_seconds

    selfplay = commit_cpu_seconds(store, loop_run.label_of(cfg, 0))
    assert selfplay > 0 and rows[0]["selfplay_cpu_seconds"] == pytest.approx(selfplay, abs=0.1)
    assert rows[0]["cpu_seconds"] > selfplay and rows[0]["selfplay_games"] == cfg.games
    # and the ladder games played before it, as a generation that succeeds would
    assert rows[0]["ladder_cpu_seconds"] == 12.5 and rows[1]["ladder_cpu_seconds"] == 0.0
    assert sum("failed: RuntimeError" in m for m in log) == 4
    reg = registry(store, "square8", 2)
    assert failure_rate(reg) == (1, 2)
    # Generation 1 trained on generation 0's games too: nothing the failure left is lost.
    assert len(json.loads(reg[-1]["window"])) == 2
    with pytest.raises(ValueError, match="generation 0 of square8|2 failed without a model"):
        resolve_ref(store, "square8", 2, "g0")
    with pytest.raises(ValueError, match="retries"):
        run_loop(store, cfg, generations=3, retries=-1)


def test_the_sample_set_reads_only_unsampled_games_in_bounded_batches(tmp_path, monkeypatch):
    """``generation_samples`` reads the games no sample set holds, in batches of at most
    ``SAMPLE_READ_BYTES`` of moves and targets (a big partition overflows one Arrow
    read), writes each batch's samples to a part, and commits the same sample set, in
    the same order, as one read would build."""
    import pyarrow as pa

    from ringrift_ml.lake import lineage
    from ringrift_ml.lake.lineage import read_games, sample_set_samples, unsampled_games
    from ringrift_ml.lake.samples import build_samples

    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**SMALL)
    loop_run.play_generation(store, cfg, 0, None, progress=False, log=lambda m: None)
    keys, snap = unsampled_games(store, "square8", 2)
    assert len(keys) == cfg.games and all(b > 0 for _, _, b in keys)
    whole = store.query("SELECT * FROM lake.games_merged WHERE board = 'square8' AND players = 2 "
                        "ORDER BY game_id, entry_id").to_pylist()
    expected, _ = build_samples(whole)
    batches = []
    real = lineage.read_games

    def counted(*a, **k):
        for b in real(*a, **k):
            batches.append(b.num_rows)
            yield b

    monkeypatch.setattr(lineage, "read_games", counted)
    monkeypatch.setattr(loop_run, "SAMPLE_READ_BYTES", 1)  # one game per read
    # The parts of a build killed before it could remove them (a process that no longer
    # runs) are removed by the next build on the host.
    import subprocess
    import sys

    from ringrift_ml.lake import scratch as scratch_mod
    from ringrift_ml.lake.layout import Layout

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = Layout(store.root).scratch / f"samples-square8-2p-g0@{scratch_mod._host()}@{gone.pid}@x"
    stale.mkdir(parents=True)
    (stale / "part-00000.parquet").write_bytes(b"left by a killed build")
    said = []
    sid = loop_run.generation_samples(store, cfg, 0, log=said.append)
    assert not stale.exists() and any("removed the scratch of a stopped process" in m for m in said)
    assert batches == [1] * cfg.games
    got = sample_set_samples(store, sid)
    assert got.num_rows == expected.num_rows
    # Read in record batches of a few positions (the samples check's read), the same rows.
    batches_read = list(lineage.sample_set_batches(store, sid, rows=7))
    assert len(batches_read) > 1 and all(b.num_rows <= 7 for b in batches_read)
    assert pa.Table.from_batches(batches_read).sort_by([("game_id", "ascending"), ("ply", "ascending")]).equals(
        got.sort_by([("game_id", "ascending"), ("ply", "ascending")]))
    with pytest.raises(ValueError, match="rows: expected a positive"):
        next(lineage.sample_set_batches(store, sid, rows=0))
    assert got.column("policy").to_pylist() == expected.column("policy").to_pylist()
    # Every game is now in a sample set: none is left unsampled, and the next generation
    # without new games has nothing to build from.
    assert unsampled_games(store, "square8", 2)[0] == []
    with pytest.raises(RuntimeError, match="no new games gave samples"):
        loop_run.generation_samples(store, cfg, 1, log=lambda m: None)
    # each batch's samples went to a Parquet part, taken in by the set's commit and then
    # removed, also when the build failed
    assert list(Layout(store.root).scratch.iterdir()) == []
    # A byte bound over the games' sizes reads them in one batch; a missing game is named.
    assert [b.num_rows for b in read_games(store, "games_merged", "square8", 2, snap, keys)] == [cfg.games]
    with pytest.raises(LookupError, match="not in lake.games_merged"):
        list(read_games(store, "games_merged", "square8", 2, snap, [("nope", "nope", 1)]))
    with pytest.raises(ValueError, match="max_bytes"):
        list(read_games(store, "games_merged", "square8", 2, snap, keys, 0))


def test_gate_games_become_the_next_generations_training_data(tmp_path, monkeypatch):
    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**{**SMALL, "gate_games_train": True})
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H0"})
    # Generation 1 must reach its gate: on 14 games the tiny candidate's held-out check
    # passes or not by the split, which follows the kept games' ids, and those hash the
    # candidate's path (a new temporary folder each run).
    monkeypatch.setattr("ringrift_ml.train.checkpoint.judge_checkpoint", lambda meta, tol=1e-6: [])
    rows = run_loop(store, cfg, generations=2, progress=False, log=lambda m: None)
    gate0 = json.loads(rows[0]["gate"])["games"]
    q = lambda sql, *p: store.query(sql, list(p)).to_pylist()  # noqa: E731
    kept = q("SELECT game_id, generator_config, policy_json FROM lake.games "
             "WHERE json_extract_string(generator_config, '$.label') = 'loop:square8|2:g0:gate'")
    assert len(kept) == gate0 >= 2
    for r in kept:  # the candidate in one seat, the bootstrap in the other, search targets on decisions
        assert sorted(json.loads(r["generator_config"])["players"])[0] == SMALL["bootstrap"]
        assert any(p for p in json.loads(r["policy_json"]))
    # Generation 1's sample set: its own selfplay and generation 0's gate games.
    sid = json.loads(rows[1]["window"])[0]
    used = {r["game_id"] for r in q("SELECT g.game_id FROM lake.sample_set_games s JOIN lake.games g "
                                    "USING (entry_id) WHERE s.sample_set_id = ?", sid)}
    assert {r["game_id"] for r in kept} <= used and len(used) == 10 + gate0
    assert _counts(store, "loop:square8|2:g1:gate")[0] == json.loads(rows[1]["gate"])["games"]


def test_cli_loop(tmp_path, capsys):
    from ringrift_ml.cli import main

    assert main(["loop", "--partition", "square8", "--generations", "1", "--storage", str(tmp_path)]) == 2
    assert "'<board>|<players>'" in capsys.readouterr().err
    assert main(["loop", "--partition", "square8|2", "--generations", "1", "--games", "4", "--sims", "2",
                 "--bootstrap", "heuristic", "--gate-min", "2", "--gate-max", "2", "--train",
                 '{"epochs": 2, "preset": "tiny"}', "--ladder-games", "2", "--ladder-predecessor-games", "2",
                 "--storage", str(tmp_path), "--no-progress"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["generation"] for x in lines] == [0] and lines[0]["status"] in ("promoted", "rejected")
    q = LakeStore.open(tmp_path).query("SELECT generation, status FROM lake.model_registry").to_pylist()
    assert q == [{"generation": 0, "status": lines[0]["status"]}]


def test_registry_references_in_player_specs(tmp_path, monkeypatch, capsys):
    from ringrift_ml.cli import main
    from ringrift_ml.loop.run import resolve_specs

    store = LakeStore.open(tmp_path)
    with pytest.raises(ValueError, match="no promoted model"):
        resolve_specs(["nn:best:4"], store, "square8", 2)
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    # g0 is promoted whatever its held-out check says (its training steps follow measured CPU).
    monkeypatch.setattr("ringrift_ml.train.checkpoint.judge_checkpoint", lambda meta, tol=1e-6: [])
    run_loop(store, LoopConfig(**SMALL), generations=1, progress=False, log=lambda m: None)
    best = resolve_specs(["nn:best:4", "heuristic", "policy:g0"], store, "square8", 2)
    assert best[0] == f"nn:{tmp_path / registry(store, 'square8', 2)[0]['path']}:4" and best[1] == "heuristic"
    assert best[2] == f"policy:{tmp_path / registry(store, 'square8', 2)[0]['path']}"
    with pytest.raises(ValueError, match="no generation 7"):
        resolve_specs(["nn:g7:4"], store, "square8", 2)
    assert main(["arena", "--board", "square8", "--players", "nn:best:4,random", "--games", "2", "--json",
                 "--storage", str(tmp_path), "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["a"] == "nn:best:4"
    # selfplay resolves them too, and its games record the checkpoint they played with.
    out = tmp_path / "sp.jsonl"
    assert main(["selfplay", "--board", "square8", "--players", "nn:best:4,policy:g0", "--games", "1",
                 "--storage", str(tmp_path), "--no-progress", "--out", str(out)]) == 0
    rec = json.loads(out.read_text().splitlines()[0])
    assert json.dumps(rec).count(str(registry(store, "square8", 2)[0]["path"])) >= 2
    assert main(["selfplay", "--board", "square8", "--players", "nn:g7:4,random", "--games", "1",
                 "--storage", str(tmp_path), "--no-progress"]) == 2
    assert "no generation 7" in capsys.readouterr().err


def _ladder_games(store, a, b, wins, losses, board="square8"):
    from ringrift_ml.lake.lineage import record_row

    rows = [{"board": board, "players": 2, "a": a, "b": b, "a_model": None, "b_model": None, "simulations": 4,
             "seed": k, "a_seat": 1 + k % 2, "score": 1.0 if k < wins else 0.0, "moves": 10, "digest": str(k)}
            for k in range(wins + losses)]
    record_row(store, "ladder_games", rows, "test ladder")


def test_ladder_guard_and_rollback_of_a_worse_promotion(tmp_path, webhook, monkeypatch):
    from ringrift_ml.alerts import read_alerts
    from ringrift_ml.lake.layout import Layout
    from ringrift_ml.loop.ladder import fit_ladder, ladder_table, played, regression_watch
    from ringrift_ml.plots import ladder_plot

    url, got = webhook
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", url)

    store = LakeStore.open(tmp_path)
    write_registry(store, [0, 1])
    _ladder_games(store, "random", "heuristic", 2, 38)
    _ladder_games(store, "g0", "heuristic", 30, 10)
    _ladder_games(store, "g1", "heuristic", 12, 28)
    _ladder_games(store, "g1", "g0", 5, 35)
    rows = played(store, "square8", 2)
    with pytest.raises(ValueError, match="partition hex8|2"):
        fit_ladder(rows + [dict(rows[0], board="hex8")], "square8", 2)
    log = []
    rolled = regression_watch(store, "square8", 2, log=log.append)
    assert [r["generation"] for r in rolled] == [1] and "below its predecessor g0" in log[0], log
    reg = registry(store, "square8", 2)
    assert [r["status"] for r in reg] == ["promoted", "promoted", "rolled_back"]
    assert current_best(reg)["generation"] == 0  # g0 is the best again
    assert regression_watch(store, "square8", 2, log=log.append) == []  # nothing more to roll back
    (alert,) = read_alerts(Layout(tmp_path).alerts_log)  # the rollback, in the log and at the webhook
    assert (alert["alert"], alert["severity"]) == ("PromotionRolledBack", "critical") and "g1" in alert["message"]
    assert [a["alert"] for a in got] == ["PromotionRolledBack"]
    table = ladder_table(store, "square8", 2)
    by = {r["name"]: r for r in table}
    assert by["random"]["elo"] == 0 and by["g0"]["elo"] > by["heuristic"]["elo"] > by["g1"]["elo"]
    assert by["g1"]["status"] == "rolled_back" and by["g1"]["cpu_hours"] == 2.0
    svg = ladder_plot(table, "square8|2 ladder", tmp_path / "ladder.svg").read_text()
    # matplotlib's SVG: the axis labels, the entrants' names, and error bars.
    assert "<svg" in svg and "CPU hours" in svg and "1 SE" in svg and "g1" in svg and "heuristic" in svg
    png = ladder_plot(table, "t", tmp_path / "ladder.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_ladder_plays_its_rungs_once(tmp_path, monkeypatch, capsys):
    from ringrift_ml.cli import main
    from ringrift_ml.loop.ladder import played, rungs

    store = LakeStore.open(tmp_path)
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    # g0 is promoted whatever its held-out check says (its training steps follow measured CPU).
    monkeypatch.setattr("ringrift_ml.train.checkpoint.judge_checkpoint", lambda meta, tol=1e-6: [])
    log = []
    run_loop(store, LoopConfig(**{**SMALL, "ladder_games": 2, "ladder_predecessor_games": 2}), generations=1,
             progress=False, log=log.append)
    assert any("ladder: g0 vs heuristic" in m for m in log)  # the loop rates what it promotes
    args = ["ladder", "--partition", "square8|2", "--games", "2", "--sims", "4", "--storage", str(tmp_path),
            "--json", "--no-progress"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {r["name"] for r in out["ladder"]} == {"random", "heuristic", "mcts:4", "g0"}
    assert len(played(store, "square8", 2)) == 2 * len(rungs([0], 4)) == 8
    assert main(args) == 0  # nothing missing: no new games
    assert len(played(store, "square8", 2)) == 8
    # The fit is in the lake once (the loop's update played games; the CLI's did not).
    fits = store.query("SELECT name, generation, status, elo, se, games, fit_games, created_at "
                       "FROM lake.ladder_ratings WHERE board = 'square8' AND players = 2").to_pylist()
    assert len({f["created_at"] for f in fits}) == 1 and all(f["fit_games"] == 8 for f in fits)
    by = {f["name"]: f for f in fits}
    assert set(by) == {r["name"] for r in out["ladder"]} and by["random"]["elo"] == 0
    assert by["g0"]["generation"] == 0 and by["g0"]["status"] == "promoted" and by["g0"]["se"] > 0
    assert by["heuristic"]["generation"] is None and by["heuristic"]["games"] == 6
    svg = (tmp_path / "plots" / "ladder_square8_2p.svg").read_text()
    assert "<svg" in svg and "g0" in svg and "CPU hours" in svg
    # A longer rung against the predecessor (for g0: the bootstrap's search) adds games
    # to that rung alone, with seeds that continue after the games it has.
    assert main(args + ["--predecessor-games", "5", "--seed", "3"]) == 0
    rows = played(store, "square8", 2)
    count = {}
    for r in rows:
        count[(r["a"], r["b"])] = count.get((r["a"], r["b"]), 0) + 1
    assert count.pop(("g0", "mcts:4")) == 5 and set(count.values()) == {2}
    seeds = [r["seed"] for r in rows if (r["a"], r["b"]) == ("g0", "mcts:4")]
    assert len(set(seeds)) == 5
    for bad in (["--predecessor-games", "0"], ["--games", "-2"]):
        assert main(args + bad) == 2
        assert f"{bad[0]} must be at least 1" in capsys.readouterr().err
    assert len(played(store, "square8", 2)) == 11


def test_rung_sizes_and_the_promotions_ladder_cost():
    from ringrift_ml.loop.ladder import is_predecessor_rung, rung_games, rungs

    sizes = {(a, b): rung_games(a, b, 40, 160) for a, b in rungs([0, 3], 64)}
    assert sizes[("g0", "mcts:64")] == sizes[("g3", "g0")] == 160
    assert sizes[("g0", "heuristic")] == sizes[("g3", "heuristic")] == sizes[("random", "heuristic")] == 40
    assert not is_predecessor_rung("heuristic", "mcts:64") and rung_games("g3", "g0", 40) == 40
    assert LoopConfig(**{**SMALL, "ladder_games": 40, "ladder_predecessor_games": 0}).ladder_games_per_promotion == 80
    assert LoopConfig(board="square8", players=2).predecessor_rung_games == 160  # the default
    cfg = LoopConfig(**{**SMALL, "ladder_games": 40, "ladder_predecessor_games": 160})
    assert (cfg.predecessor_rung_games, cfg.ladder_games_per_promotion) == (160, 200)
    assert LoopConfig(**{**SMALL, "ladder_predecessor_games": 160}).ladder_games_per_promotion == 0
    with pytest.raises(ValueError, match="ladder_predecessor_games must be >= 0"):
        LoopConfig(**SMALL, ladder_predecessor_games=-1)


def test_the_loops_ladder_games_of_a_generation_become_training_data(tmp_path, monkeypatch):
    """With ``ladder_games_train`` (the default) the promoted generation's rungs (against
    its predecessor or the bootstrap search, and against ``heuristic``) go into
    ``lake.games``; only searched decisions become training positions (not the random
    opening's nor the heuristic's moves); the next generation's sample set takes them
    and its data CPU counts them.  The baselines' rungs and a user's ``ringrift ladder``
    keep nothing."""
    from ringrift_ml.lake.records import row_to_record
    from ringrift_ml.loop.ladder import ladder_label, played
    from ringrift_ml.nn.samples import game_samples

    import ringrift_ml.train.checkpoint as train_checkpoint

    store = LakeStore.open(tmp_path)
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    # Both generations promoted (what a 10-game network learns is not this test's subject).
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    cfg = LoopConfig(**{**SMALL, "ladder_games": 2, "ladder_predecessor_games": 2})
    assert cfg.ladder_games_train
    rows = run_loop(store, cfg, generations=2, progress=False, log=lambda m: None)
    q = lambda sql, *p: store.query(sql, list(p)).to_pylist()  # noqa: E731
    lad = [r for r in played(store, "square8", 2) if r["created_at"] < rows[1]["created_at"]]
    assert {(r["a"], r["b"], r["training"]) for r in lad} == {
        ("random", "heuristic", False), ("heuristic", "mcts:4", False), ("g0", "heuristic", True),
        ("g0", "mcts:4", True)}
    kept = q("SELECT * FROM lake.games WHERE json_extract_string(generator_config, '$.label') = ?",
             ladder_label("square8", 2, "g0", "heuristic"))
    assert len(kept) == 2
    for r in kept:
        rec = row_to_record(r)
        seats = json.loads(r["generator_config"])["players"]
        nn_seat = 1 + [s.startswith("nn:") for s in seats].index(True)
        assert seats[2 - nn_seat] == "heuristic"
        movers = [m["player"] for m in rec["moves"]]
        # Every heuristic or random-opening move is marked as no training position.
        assert all(e is not None for e in rec["search"])
        assert all(not e["full"] for e, p in zip(rec["search"], movers) if p != nn_seat)
        assert not rec["search"][0]["full"] and rec["policy"][0] is None  # the random opening
        samples = game_samples(rec, symmetries=False)
        assert samples and {s["player"] for s in samples} == {nn_seat}
        assert 0 < len(samples) <= sum(e["full"] for e in rec["search"])
    assert len(q("SELECT 1 FROM lake.games WHERE json_extract_string(generator_config, '$.label') = ?",
                 ladder_label("square8", 2, "g0", "mcts:4"))) == 2
    # Generation 1 trained on them, and its data CPU includes their CPU.
    sid = rows[1]["sample_set_id"]
    used = {r["game_id"] for r in q("SELECT g.game_id FROM lake.sample_set_games s JOIN lake.games g "
                                    "USING (entry_id) WHERE s.sample_set_id = ?", sid)}
    assert {r["game_id"] for r in kept} <= used
    ladder_data = sum(r["cpu_seconds"] for r in lad if r["training"])
    assert rows[1]["ladder_cpu_seconds"] == pytest.approx(sum(r["cpu_seconds"] for r in lad), abs=0.2)
    assert rows[1]["data_cpu_seconds"] == pytest.approx(rows[1]["selfplay_cpu_seconds"] + ladder_data, abs=0.2)
    # A user's ladder keeps nothing.
    from ringrift_ml.loop.ladder import update_ladder

    n_games = q("SELECT count(*) AS n FROM lake.games")[0]["n"]
    before = max(r["created_at"] for r in played(store, "square8", 2))
    update_ladder(store, "square8", 2, simulations=4, games=3, progress=False, log=lambda m: None)
    new = [r for r in played(store, "square8", 2) if r["created_at"] > before]
    assert new and not any(r["training"] for r in new)
    assert q("SELECT count(*) AS n FROM lake.games")[0]["n"] == n_games
    # Lengthened later, an older generation's rung is rated but not trained on (its
    # networks no longer play); the newest promotion's rungs are kept.
    assert rows[1]["status"] == "promoted"
    before = max(r["created_at"] for r in played(store, "square8", 2))
    update_ladder(store, "square8", 2, simulations=4, games=3, predecessor_games=4, progress=False,
                  log=lambda m: None, keep_games=True)
    new = {(r["a"], r["b"], r["training"]) for r in played(store, "square8", 2) if r["created_at"] > before}
    assert new == {("g0", "mcts:4", False), ("g1", "g0", True)}, new
    assert q("SELECT count(*) AS n FROM lake.games")[0]["n"] == n_games + 1  # the fourth game of g1 vs g0


def test_ladder_adds_the_accepted_tuned_heuristic(tmp_path):
    from ringrift_ml.ai.heuristic import packaged_weights_path
    from ringrift_ml.lake.lineage import record_row
    from ringrift_ml.loop.ladder import TUNED, play_ladder, played, tuned_entrant

    store = LakeStore.open(tmp_path)

    def weights(version, accepted):
        path = tmp_path / "weights" / "versions" / f"{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = json.loads(packaged_weights_path().read_text())
        path.write_text(json.dumps(doc))
        record_row(store, "heuristic_weights", [{
            "weights_version": version, "board": "square8", "players": 2, "path": str(path.relative_to(tmp_path)),
            "best_score": 0.6, "generations": 1, "config": {}, "accepted": accepted, "confirmation": {}}], "w")

    weights("rejected1", False)
    assert tuned_entrant(store, "square8", 2) is None  # only weights that passed their confirming test
    play_ladder(store, "square8", 2, simulations=4, games=1, progress=False, log=lambda m: None)
    assert {(r["a"], r["b"]) for r in played(store, "square8", 2)} == {("random", "heuristic"),
                                                                      ("heuristic", "mcts:4")}
    weights("accepted1", True)
    assert tuned_entrant(store, "square8", 2) == TUNED + "accepted1"
    assert tuned_entrant(store, "square8", 3) is None  # per partition
    log = []
    play_ladder(store, "square8", 2, simulations=4, games=1, progress=False, log=log.append)
    assert log == [f"square8|2 ladder: {TUNED}accepted1 vs heuristic: " + log[0].split(": ")[-1]]
    assert len(played(store, "square8", 2)) == 3
    assert all(r["cpu_seconds"] is not None and r["cpu_seconds"] >= 0 for r in played(store, "square8", 2))
    assert sum(r["cpu_seconds"] for r in played(store, "square8", 2)) > 0  # what the next generation pays


def test_ladder_adds_the_accepted_nnue_under_alpha_beta(tmp_path, monkeypatch):
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.loop import ladder
    from ringrift_ml.loop.ladder import NNUE, nnue_entrant, play_ladder, played, rungs

    from ..nnue.test_nnue import random_weights

    store = LakeStore.open(tmp_path)
    assert nnue_entrant(store, "square8", 2) is None
    monkeypatch.setattr(ladder, "NNUE_NODES", 40)  # a short match
    path = Layout(tmp_path).nnue_current(Partition("square8", 2))
    path.parent.mkdir(parents=True)
    random_weights("square8").save(path)
    name = nnue_entrant(store, "square8", 2)
    assert name.startswith(NNUE) and nnue_entrant(store, "square8", 3) is None  # per partition
    assert rungs([], 4, nnue=name)[-2:] == [("minimax:40", "heuristic"), (name, "minimax:40")]
    log = []
    play_ladder(store, "square8", 2, simulations=4, games=1, progress=False, log=log.append)
    assert {(r["a"], r["b"]) for r in played(store, "square8", 2)} == {
        ("random", "heuristic"), ("heuristic", "mcts:4"), ("minimax:40", "heuristic"), (name, "minimax:40")}
    # A newly accepted NNUE is a new entrant with its own rung; the old one keeps its games.
    random_weights("square8", seed=1).save(path)
    assert nnue_entrant(store, "square8", 2) not in (None, name)
    play_ladder(store, "square8", 2, simulations=4, games=1, progress=False, log=log.append)
    assert len(played(store, "square8", 2)) == 5


def test_a_drop_within_the_interval_is_not_rolled_back(tmp_path):
    from ringrift_ml.loop.ladder import regression_watch

    store = LakeStore.open(tmp_path)
    write_registry(store, [0, 1])
    _ladder_games(store, "random", "heuristic", 5, 35)
    _ladder_games(store, "g0", "heuristic", 25, 15)
    _ladder_games(store, "g1", "heuristic", 22, 18)
    _ladder_games(store, "g1", "g0", 17, 23)
    assert regression_watch(store, "square8", 2, log=lambda m: None) == []
    assert current_best(registry(store, "square8", 2))["generation"] == 1


def test_three_player_gate_and_loop(tmp_path, monkeypatch):
    strong, sb = make_engine_player("heuristic", "square8", 3)
    weak, wb = make_engine_player("random", "square8", 3)
    out = sequential_match(strong, weak, sb, wb, "square8", SPRT(elo0=0, elo1=100), max_games=30, min_games=6,
                           progress=False, concurrency=6, num_players=3)
    assert out["decision"] == "H1" and out["ci95"][0] > 0.5 and out["games"] >= 6
    import ringrift_ml.train.checkpoint as train_checkpoint

    store = LakeStore.open(tmp_path)
    real = loop_run.sequential_match
    seen = {}

    def gate(*a, **k):
        seen.update(k)
        return {**real(*a, **k), "decision": "H1"}

    monkeypatch.setattr(loop_run, "sequential_match", gate)
    # The candidate always reaches its gate: an 8-game network's held-out check (its
    # training steps follow the measured selfplay CPU) is not this test's subject.
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    rows = run_loop(store, LoopConfig(**{**SMALL, "players": 3, "games": 8, "gate_max_games": 3, "ladder_games": 1,
                                                 "ladder_predecessor_games": 1}),
                    generations=1, progress=False, log=lambda m: None)
    assert seen["num_players"] == 3 and rows[0]["players"] == 3
    if rows[0]["status"] == "promoted":  # the ladder rates 3-player rungs too
        from ringrift_ml.loop.ladder import ladder_table

        assert {r["name"] for r in ladder_table(store, "square8", 3)} >= {"g0", "heuristic", "random"}


def test_loop_flags_are_derived_from_the_loop_config():
    """Every LoopConfig setting is a flag of ``ringrift loop`` with the config's default
    and documentation; the older short names still work."""
    import dataclasses

    from ringrift_ml.cli import build_parser
    from ringrift_ml.lake.layout import Partition
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.commands import loop_config_from_args

    parser = build_parser()
    args = parser.parse_args(["loop", "--partition", "hex8|3", "--generations", "1"])
    part = Partition.parse(args.partition)
    assert loop_config_from_args(args, part) == LoopConfig(board="hex8", players=3)
    help_text = next(a for a in parser._subparsers._group_actions[0].choices["loop"]._actions
                     if "--recency" in a.option_strings).help
    assert "older generation" in help_text
    args = parser.parse_args(["loop", "--partition", "hex8|3", "--generations", "1", "--sims", "8", "--gate-min", "2",
                              "--gate-max", "4", "--elo0", "-5", "--gate-random-opening", "0", "--recency", "0.5",
                              "--gate-games-train", "--train", '{"epochs": 3}'])
    cfg = loop_config_from_args(args, part)
    assert (cfg.simulations, cfg.bootstrap, cfg.gate_min_games, cfg.gate_max_games, cfg.elo0) == (8, "mcts:8", 2, 4, -5)
    assert cfg.gate_random_opening == 0 and cfg.recency == 0.5 and cfg.gate_games_train and cfg.train == (("epochs", 3),)
    dests = {a.dest for a in parser._subparsers._group_actions[0].choices["loop"]._actions}
    assert {f.name for f in dataclasses.fields(LoopConfig)} - {"board", "players"} <= dests
    bad = parser.parse_args(["loop", "--partition", "hex8|3", "--generations", "1", "--warm-train", "[1]"])
    with pytest.raises(ValueError, match="--warm-train"):
        loop_config_from_args(bad, part)


@pytest.mark.slow
def test_a_tiny_loop_learns(tmp_path):
    """Two generations from nothing (mcts:16 selfplay, a tiny network): every candidate's
    held-out policy is well below a uniform policy on games it never trained on, and
    its targets carry what the search added to the heuristic's prior."""
    store = LakeStore.open(tmp_path)
    cfg = LoopConfig(board="square8", players=2, games=40, simulations=16, bootstrap="mcts:16", gate_min_games=4,
                     gate_max_games=8, ladder_games=0, batch_games=20, seed=5,
                     train=(("preset", "tiny"), ("epochs", 6)))
    rows = run_loop(store, cfg, generations=2, progress=False, log=lambda m: None)
    assert [r["generation"] for r in rows] == [0, 1]
    for r in rows:
        assert r["heldout_policy_ce"] < r["heldout_policy_ce_uniform"] - 0.2, r
        assert r["heldout_gap_closed"] > 0.1 and r["target_kl_uniform"] > 0.5, r


def test_selfplay_workers_play_the_same_generation(tmp_path):
    """``workers`` spreads a generation's selfplay over processes; the games (their ids
    are content hashes of config, seed and moves) are the same."""
    from ringrift_ml.loop.run import play_generation

    ids = []
    for workers in (1, 2):
        store = LakeStore.open(tmp_path / f"w{workers}")
        cfg = LoopConfig(**{**SMALL, "games": 4, "bootstrap": "heuristic", "workers": workers})
        ids.append(sorted(play_generation(store, cfg, 0, None, progress=False, log=lambda m: None)["game_ids"]))
    assert len(ids[0]) == 4 and ids[0] == ids[1]


def test_dry_run_estimates_a_generation_before_any_work(tmp_path, capsys):
    """``ringrift loop --dry-run`` plays nothing into the lake: on a fresh lake it
    calibrates (a few games of the bootstrap player, a few training steps) and prints
    a CPU range; with measured generations in the registry it uses their medians."""
    from ringrift_ml.cli import main
    from ringrift_ml.lake.lineage import record_row
    from ringrift_ml.loop.estimate import estimate, from_registry

    args = ["loop", "--partition", "square8|2", "--generations", "3", "--games", "10", "--sims", "4",
            "--bootstrap", "mcts:4", "--train", '{"epochs": 3, "preset": "tiny"}', "--storage", str(tmp_path),
            "--dry-run", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    est = json.loads(out[-1])
    assert "one generation" in out[-2] and est["basis"] == "calibration" and est["generation"] == 0
    lo, hi = est["cpu_seconds"]
    assert 0 < lo <= hi and est["cpu_seconds_per_game"] > 0 and est["cpu_seconds_per_train_step"] > 0
    # Both figures are rounded (0.1 s and 1 ms): compare within the rounding.
    assert est["steps"]["selfplay_cpu_seconds"] == pytest.approx(10 * est["cpu_seconds_per_game"], abs=0.06)
    # The gate is priced as a game of its opponent: here the bootstrap at the loop's
    # simulations, the selfplay's own player, whose figure is reused.
    assert est["cpu_seconds_per_gate_game"] == est["cpu_seconds_per_game"]
    # (the rate is rounded to 1 ms: within that per game)
    assert est["steps"]["gate_cpu_seconds"] == [pytest.approx(n * est["cpu_seconds_per_gate_game"], abs=0.06 + n * 5e-4)
                                                for n in (LoopConfig.gate_min_games, LoopConfig.gate_max_games)]
    assert est["total_cpu_hours"] == [pytest.approx(3 * x, abs=0.002) for x in est["cpu_hours"]]
    store = LakeStore.open(tmp_path)
    assert store.query("SELECT count(*) AS n FROM lake.games").to_pylist() == [{"n": 0}]  # nothing written
    assert registry(store, "square8", 2) == []
    # Measured generations: the median of the newest three, the largest ladder on top.
    cfg = LoopConfig(**SMALL)
    assert from_registry(store, cfg) is None
    rows = write_registry(store, [0, 1, 2, 3])
    for r, (sp, tr, ga, la) in zip(rows, [(900, 90, 900, 900), (100, 10, 50, 0), (120, 30, 70, 40), (110, 20, 60, 0)]):
        r.update(selfplay_cpu_seconds=sp, train_cpu_seconds=tr, gate_cpu_seconds=ga, ladder_cpu_seconds=la)
    record_row(store, "model_registry", rows, "measured")
    got = estimate(store, cfg)
    assert got["basis"] == "registry" and got["generations"] == [1, 2, 3]
    assert got["steps"] == {"selfplay_cpu_seconds": 110.0, "train_cpu_seconds": 20.0, "gate_cpu_seconds": 60.0,
                            "ladder_cpu_seconds": 0.0}
    assert got["cpu_seconds"] == [190.0, 230.0]
    # Without --generations: one generation's estimate; a run (no --dry-run) needs it.
    capsys.readouterr()
    base = ["loop", "--partition", "square8|2", "--storage", str(tmp_path), "--no-progress"]
    assert main(base + ["--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "1 generation(s)" in out[-2] and json.loads(out[-1])["generations"] == 1
    assert main(base) == 2
    assert "--generations: required" in capsys.readouterr().err


def test_a_cheap_bootstraps_gate_is_priced_at_the_loops_simulations(tmp_path, monkeypatch):
    """With ``mcts:4`` selfplay and 16 simulations, the gate's opponent is ``mcts:16``:
    the calibration plays its games for the gate's price instead of reusing the
    selfplay's; a network's gate plays one batch at full search."""
    from ringrift_ml.loop import estimate as est_mod
    from ringrift_ml.selfplay import run_selfplay

    played = []

    def spy(sp, **kw):
        played.append((sp.players, sp.games, sp.full_search_prob))
        return run_selfplay(sp, **kw)

    monkeypatch.setattr("ringrift_ml.selfplay.run_selfplay", spy)
    store = LakeStore.open(tmp_path)
    cfg = LoopConfig(**{**SMALL, "simulations": 16, "bootstrap": "mcts:4"})
    assert est_mod.gate_cpu_per_game(store, cfg, None, 2, selfplay=("mcts:4", 1.0, 0.5)) > 0
    assert played == [(("mcts:16", "mcts:16"), 2, 1.0)]
    assert est_mod.gate_cpu_per_game(store, cfg, None, 2, selfplay=("mcts:16", 1.0, 0.5)) == 0.5  # the same player
    assert len(played) == 1


def test_a_cpu_budget_starts_no_generation_that_would_end_past_it(tmp_path):
    """``budget_spent``: spent, or the next generation (the registry estimate's low end)
    would end past the budget, says why; ``run_loop`` then starts nothing."""
    from ringrift_ml.lake.lineage import record_row

    store = LakeStore.open(tmp_path)
    cfg = LoopConfig(**SMALL)
    assert loop_run.budget_spent(store, cfg, 1.0) is None  # nothing measured: the first generation starts
    rows = write_registry(store, [0, 1], status="rejected", cpu_seconds=1800.0)
    for r in rows:
        r.update(selfplay_cpu_seconds=900.0, train_cpu_seconds=300.0, gate_cpu_seconds=600.0)
    record_row(store, "model_registry", rows, "measured")
    # 1.0 h spent, a generation about 0.5 h: 1.5 fits it, 1.4 does not, 1.0 is spent.
    assert loop_run.budget_spent(store, cfg, 1.5) is None
    why = loop_run.budget_spent(store, cfg, 1.4)
    assert why is not None and "1.00 of 1.4 CPU hours spent" in why and "about 0.50 more" in why
    assert loop_run.budget_spent(store, cfg, 1.0) == "1.00 of 1 CPU hours spent"
    log = []
    assert run_loop(store, cfg, generations=5, progress=False, log=log.append, cpu_hours=1.4) == []
    assert any("would take about 0.50 more" in m and "after generation 1" in m for m in log), log


def test_the_gate_plays_a_cheap_bootstrap_search_at_the_loops_simulations(tmp_path):
    # A bootstrap whose selfplay searches 4 simulations is gated at the candidate's 16,
    # and named as it plays; engines with another budget unit play as named.
    store = LakeStore.open(tmp_path / "root")
    cfg = LoopConfig(**{**SMALL, "simulations": 16, "bootstrap": "mcts:4"})
    assert loop_run.gate_bootstrap_spec(cfg) == "mcts:16"
    assert loop_run.selfplay_player(store, cfg, None) == "mcts:4"
    assert loop_run.gate_bootstrap_spec(LoopConfig(**{**SMALL, "bootstrap": "heuristic"})) == "heuristic"
    assert loop_run.gate_bootstrap_spec(LoopConfig(**{**SMALL, "bootstrap": "minimax:300"})) == "minimax:300"
    model = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "m.pt", {}, {})
    (_, cb), (opp, ob), spec = loop_run.gate_players(store, cfg, 0, model, None)
    assert (spec, opp.name, ob.nodes, cb.nodes) == ("mcts:16", "mcts:16", 16, 16)
    (_, _), (opp, ob), spec = loop_run.gate_players(store, LoopConfig(**{**SMALL, "bootstrap": "heuristic"}), 0, model, None)
    assert spec == "heuristic" and ob.nodes == 100_000  # every legal move evaluated, not 4 of them
