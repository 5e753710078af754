"""A campaign: each partition's loop within its CPU budget, the final best evaluated once
and read back on a rerun, and the summary table from the lake."""

import dataclasses
import json
import re

import pytest

from ringrift_ml.lake import LakeStore
from ringrift_ml.loop import registry
from ringrift_ml.loop import run as loop_run
from ringrift_ml.loop.campaign import CampaignConfig, run_campaign, summary, summary_markdown
from ringrift_ml.partition import Partition

# The loop of tests/loop/test_loop.py's SMALL: 10 games of a 4-simulation search, a tiny network.
LOOP = (("games", 10), ("simulations", 4), ("bootstrap", "mcts:4"), ("gate_min_games", 2), ("gate_max_games", 4),
        ("batch_games", 10), ("train", {"epochs": 4, "preset": "tiny"}), ("ladder_games", 0),
        ("gate_games_train", False))


def test_campaign_config_sizes_each_board_and_names_bad_input():
    cfg = CampaignConfig(partitions=("square8|2", "square19|2"), cpu_hours=1.0, big_cpu_hours=2.5)
    assert cfg.budget(Partition("square8", 2)) == 1.0 and cfg.budget(Partition("square19", 2)) == 2.5
    small, big = cfg.loop_config(Partition("square8", 2)), cfg.loop_config(Partition("square19", 2))
    assert small.simulations == 64 and big.simulations < small.simulations and big.games < small.games
    assert dict(big.train)["preset"] == "small" and small.seed == big.seed == 1
    over = CampaignConfig(partitions=("square19|2",), loop=(("games", 3), ("train", {"epochs": 2})))
    got = over.loop_config(Partition("square19", 2))
    assert got.games == 3 and dict(got.train) == {"preset": "small", "value_target_mix": 0.5, "epochs": 2}  # merged
    for bad, why in (({"partitions": ()}, "at least one"), ({"partitions": ("square8|5",)}, "players"),
                     ({"partitions": ("square8|2", "square8|2")}, "each partition once"),
                     ({"partitions": ("square8|2",), "cpu_hours": 0}, "cpu_hours"),
                     ({"partitions": ("square8|2",), "loop": (("gamez", 3),)}, "'gamez' is not a loop setting"),
                     ({"partitions": ("square8|2",), "loop": (("games", 0),)}, "games must be positive")):
        with pytest.raises(ValueError, match=why):
            CampaignConfig(**bad)


def test_campaign_spends_its_budget_evaluates_once_and_resumes(tmp_path, monkeypatch):
    import ringrift_ml.arena as arena
    import ringrift_ml.train.checkpoint as train_checkpoint

    store = LakeStore.open(tmp_path)
    real = loop_run.sequential_match
    # Every gate passes and the held-out check is waived: this test is about the budget
    # and the bookkeeping, not about what a 10-game network learns.
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    cfg = CampaignConfig(partitions=("square8|2",), cpu_hours=1e-6, eval_games=4, seed=3, loop=LOOP)
    log = []
    rows = run_campaign(store, cfg, progress=False, log=log.append)
    # The budget is spent by the first generation: one generation, then the evaluation.
    assert [r["generation"] for r in registry(store, "square8", 2)] == [0]
    assert any("CPU hours spent after generation 0" in m for m in log)
    ev = store.query("SELECT * FROM lake.evaluations").to_pylist()
    assert len(ev) == 1 and ev[0]["games"] == 4 and ev[0]["subject"] == "nn:g0:4" and ev[0]["opponent"] == "heuristic"
    assert ev[0]["wins"] + ev[0]["draws"] + ev[0]["losses"] == 4 and ev[0]["ci_low"] <= ev[0]["score"] <= ev[0]["ci_high"]
    (row,) = rows
    assert row["generations"] == 1 and row["promotions"] == 1 and row["selfplay_games"] == 10
    assert row["games"] == 10 + registry(store, "square8", 2)[0]["gate_games"]
    assert row["score"] == ev[0]["score"] and row["short_by"] == round(max(0.0, 0.65 - ev[0]["score"]), 3)
    # The best came after the (tiny) budget was spent: not met whatever it scores.
    assert row["best_cpu_hours"] == pytest.approx(row["cpu_hours"], abs=1e-3) and not row["met"]
    assert row["over_budget_by"] == pytest.approx(row["best_cpu_hours"] - 1e-6, abs=1e-4)
    assert "CPU h over budget" in summary_markdown(rows)
    # Within a budget that covers it, the score decides.
    (roomy,) = summary(store, dataclasses.replace(cfg, cpu_hours=10.0))
    assert roomy["over_budget_by"] == 0 and roomy["met"] == (ev[0]["score"] >= 0.65)
    assert row["selfplay_games_per_cpu_hour"] > 0 and 0 < row["cpu_hours"]

    # A rerun: the budget is spent and the evaluation is stored, so nothing is played.
    monkeypatch.setattr(arena, "head_to_head", lambda *a, **k: pytest.fail("the evaluation was replayed"))
    again = run_campaign(store, cfg, progress=False, log=lambda m: None)
    assert again == rows and len(registry(store, "square8", 2)) == 1
    assert store.query("SELECT count(*) AS n FROM lake.evaluations").to_pylist()[0]["n"] == 1
    # Another evaluation size is another row, not the stored one.
    assert summary(store, CampaignConfig(partitions=("square8|2",), eval_games=6, seed=3, loop=LOOP))[0]["score"] is None
    table = summary_markdown(rows)
    assert table.count("\n") == 2 and "| square8\\|2 |" in table and f"{ev[0]['score']:.1%}" in table
    # Every line has the header's cells (the key's pipe is escaped, not a cell border).
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()}) == 1


def test_cli_campaign_reports_and_names_bad_input(tmp_path, capsys):
    from ringrift_ml.cli import main

    assert main(["campaign", "--partitions", "square8|5", "--storage", str(tmp_path)]) == 2
    assert "players" in capsys.readouterr().err
    assert main(["campaign", "--all", "--partitions", "square8|2", "--storage", str(tmp_path)]) == 2
    assert "--all and --partitions" in capsys.readouterr().err
    assert main(["campaign", "--partitions", "square8|2", "--loop", "[1]", "--storage", str(tmp_path)]) == 2
    assert "--loop: expected a JSON object" in capsys.readouterr().err
    assert main(["campaign", "--all", "--report", "--storage", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [json.loads(x) for x in out if x.startswith("{")]
    assert len(rows) == 12 and all(r["generations"] == 0 and r["score"] is None for r in rows)
    # The cheapest partitions first, and each board's target named.
    assert rows[0]["partition"] == "square8|2" and rows[-1]["partition"] == "hexagonal|4"
    assert rows[-1]["target"] == "one complete generation" and rows[-1]["budget_cpu_hours"] == 3.0


def test_a_partitions_cpu_counts_its_ladder_games():
    """The budget is all the loop's CPU: each row's own and the ladder games it paid for."""
    from ringrift_ml.loop.run import registry_cpu_hours

    states = {0: {"cpu_seconds": 3600.0, "ladder_cpu_seconds": None},
              1: {"cpu_seconds": 1800.0, "ladder_cpu_seconds": 1800.0},
              2: {"cpu_seconds": None, "ladder_cpu_seconds": 900.0}}
    assert registry_cpu_hours(states) == 2.25


def test_dry_run_plans_what_each_partition_has_left(tmp_path, capsys, monkeypatch):
    """``ringrift campaign --dry-run`` runs nothing: per partition the budget left, a
    generation's CPU from the registry (or a calibration on a fresh partition), how many
    generations still fit and the evaluation's CPU."""
    from ringrift_ml.cli import main
    from ringrift_ml.lake.lineage import record_row
    from ringrift_ml.loop.campaign import plan
    from tests.registry_rows import write_registry

    store = LakeStore.open(tmp_path / "lake")
    rows = write_registry(store, [0, 1, 2, 3], cpu_seconds=600.0)
    steps = [(900, 90, 900, 900), (300, 100, 200, 300), (300, 60, 240, 0), (200, 100, 300, 0)]
    for r, (sp, tr, ga, la) in zip(rows, steps):
        r.update(selfplay_cpu_seconds=sp, train_cpu_seconds=tr, gate_cpu_seconds=ga, ladder_cpu_seconds=la,
                 selfplay_games=100)
    record_row(store, "model_registry", rows, "measured")
    write_registry(store, [0], board="hex8", cpu_seconds=6000.0)  # its budget is spent
    cfg = CampaignConfig(partitions=("square8|2", "hex8|2"), cpu_hours=1.5, eval_games=200)
    before = len(registry(store, "square8", 2))  # append-only: eight rows, four generations
    sq, hx = plan(store, cfg, log=lambda m: None)
    # Spent: four rows of 600 s plus 1,200 s of ladder.  A generation: the median steps of
    # the generations after the first promotion (g0, the bootstrap's, is no guide),
    # 300 + 100 + 240 = 640 s, at most 940 s with their largest ladder.
    assert sq["spent_cpu_hours"] == 1.0 and sq["left_cpu_hours"] == 0.5
    assert sq["basis"] == "registry" and sq["generation_cpu_hours"] == [round(640 / 3600, 5), round(940 / 3600, 5)]
    # A generation starts while 640 CPU s are left: floor((1800 - 640) / 940) + 1 at 940
    # a generation, floor(1800 / 640) at 640; the CPU they leave unspent or overrun by.
    assert sq["generations"] == [2, 2]
    assert sq["cpu_hours"] == [round(1160 / 3600, 3), round(2100 / 3600, 3)]
    assert sq["eval_cpu_hours"] == round(200 * 2.0 / 2 / 3600, 3)  # the newest selfplay: 2 CPU s a game
    # 360 s left holds no generation of 640: none starts.
    (short,) = plan(store, CampaignConfig(partitions=("square8|2",), cpu_hours=1.1), log=lambda m: None)
    assert short["left_cpu_hours"] == 0.1 and short["generations"] == [0, 0] and short["cpu_hours"] == [0.0, 0.0]
    assert hx["left_cpu_hours"] == 0 and hx["generations"] == [0, 0] and hx["basis"] is None
    assert hx["eval_cpu_hours"] is None  # nothing measured to cost it by

    assert main(["campaign", "--partitions", "square8|2,hex8|2", "--cpu-hours", "1.5", "--dry-run",
                 "--storage", str(tmp_path / "lake"), "--no-progress"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [r for r in out if r["kind"] == "plan"] == [{"kind": "plan", **sq}, {"kind": "plan", **hx}]
    total = out[-1]
    assert total["kind"] == "total" and total["cpu_hours"] == [round(sq["cpu_hours"][i] + sq["eval_cpu_hours"], 3)
                                                               for i in (0, 1)]
    assert len(registry(store, "square8", 2)) == before and store.query("SELECT count(*) AS n FROM lake.games").to_pylist()[0]["n"] == 0

    # Only the bootstrap generation measured: the network's selfplay is calibrated instead.
    from ringrift_ml.loop.estimate import from_registry

    only_g0 = LakeStore.open(tmp_path / "g0")
    (r0,) = write_registry(only_g0, [0], cpu_seconds=600.0)
    record_row(only_g0, "model_registry", [{**r0, "selfplay_cpu_seconds": 500.0}], "measured")
    assert from_registry(only_g0, cfg.loop_config(Partition("square8", 2)))["basis"] == "registry-bootstrap"
    import ringrift_ml.loop.estimate as estimate_mod

    monkeypatch.setattr(estimate_mod, "calibrate", lambda store, loop, games: {"basis": "calibration", "games": games})
    assert estimate_mod.estimate(only_g0, cfg.loop_config(Partition("square8", 2))) == {"basis": "calibration",
                                                                                       "games": 2}
    monkeypatch.undo()
    # Its calibration plays the network as the loop does: a full batch of games in flight
    # (two at a time would cost several times more per game), with the loop's playout cap.
    import ringrift_ml.selfplay as selfplay_mod

    seen = []

    class Stop(Exception):
        pass

    def capture(sp, progress=True):
        seen.append(sp)
        raise Stop

    monkeypatch.setattr(selfplay_mod, "run_selfplay", capture)
    loop = dataclasses.replace(cfg.loop_config(Partition("square8", 2)), batch_games=12, full_search_prob=0.5)
    with pytest.raises(Stop):
        estimate_mod.calibrate(only_g0, loop, games=2)
    assert seen[-1].games == seen[-1].batch_games == 12 and seen[-1].full_search_prob == 0.5
    assert seen[-1].players == (f"nn:{only_g0.root / 'models/g0.pt'}:{loop.simulations}",) * 2
    with pytest.raises(Stop):  # never more games than a generation plays
        estimate_mod.calibrate(only_g0, dataclasses.replace(loop, games=5), games=2)
    assert seen[-1].games == seen[-1].batch_games == 5
    with pytest.raises(Stop):  # the bootstrap player (no network): the games asked for, full searches
        estimate_mod.calibrate(LakeStore.open(tmp_path / "none"), loop, games=2)
    assert seen[-1].games == seen[-1].batch_games == 2 and seen[-1].full_search_prob == 1.0
    assert seen[-1].players == (loop.bootstrap,) * 2
    monkeypatch.undo()
    # A fresh partition is calibrated on this machine; its games are not kept.
    fresh = LakeStore.open(tmp_path / "fresh")
    (row,) = plan(fresh, CampaignConfig(partitions=("square8|2",), cpu_hours=0.5, loop=LOOP), log=lambda m: None)
    assert row["basis"] == "calibration" and row["spent_cpu_hours"] == 0 and row["generations"][0] >= 1
    lo, hi = row["generation_cpu_seconds"]
    # floor(1800 / lo) generations at the estimate's low end (lo rounded to 0.1 s here)
    assert 0 < lo <= hi and abs(row["generations"][1] - 1800 / lo) < 2 and row["eval_cpu_hours"] > 0
    assert fresh.query("SELECT count(*) AS n FROM lake.games").to_pylist()[0]["n"] == 0
    assert registry(fresh, "square8", 2) == []


def test_until_target_stops_a_partition_once_its_best_meets_the_target(tmp_path, monkeypatch):
    import ringrift_ml.arena as arena
    import ringrift_ml.loop.campaign as campaign
    import ringrift_ml.train.checkpoint as train_checkpoint

    store = LakeStore.open(tmp_path)
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    # A target every score meets: the first promotion (no ladder here) is evaluated and
    # the partition stops with most of its budget left.
    monkeypatch.setitem(campaign.TARGETS, "small", 0.0)
    cfg = CampaignConfig(partitions=("square8|2",), cpu_hours=10.0, eval_games=4, seed=3, loop=LOOP,
                         until_target=True)
    log = []
    (row,) = run_campaign(store, cfg, progress=False, log=log.append)
    assert [r["generation"] for r in registry(store, "square8", 2)] == [0]
    assert any("its target (>= 0% vs heuristic) is met: nn:g0:4 scored" in m for m in log), log
    assert row["met"] and row["cpu_hours"] < 10.0 and row["eval_games"] == 4
    assert store.query("SELECT count(*) AS n FROM lake.evaluations").to_pylist()[0]["n"] == 1

    # The ladder's rung screens a best: a rung scoring below the target plays no
    # evaluation and does not stop the loop.
    from ringrift_ml.lake.lineage import record_row

    record_row(store, "ladder_games", [{"board": "square8", "players": 2, "a": "g0", "b": "heuristic",
                                        "score": float(i < 6), "seed": i, "seat": i % 2, "moves": 40,
                                        "simulations": 4} for i in range(8)], "test rung")  # 6 of 8
    monkeypatch.setitem(campaign.TARGETS, "small", 0.8)
    monkeypatch.setattr(arena, "head_to_head", lambda *a, **k: pytest.fail("a screened-out best was evaluated"))
    six = dataclasses.replace(cfg, eval_games=6)  # no stored evaluation of this size
    assert campaign.target_reached(store, Partition("square8", 2), six, progress=False) is None
    # A rung at the target is evaluated, though its 8-game interval reaches down to 0.41.
    monkeypatch.setitem(campaign.TARGETS, "small", 0.75)
    played = []
    monkeypatch.setattr(campaign, "evaluate_best", lambda *a, **k: played.append(1) or None)
    assert campaign.target_reached(store, Partition("square8", 2), six, progress=False) is None and played == [1]
    # Without a score target (a big 3-4 player partition), one complete generation is enough.
    monkeypatch.setattr(campaign, "_target", lambda part: ("one complete generation", None))
    assert "met by generation 0" in campaign.target_reached(store, Partition("square8", 2), cfg)
    # Off by default: the budget alone decides.
    assert CampaignConfig(partitions=("square8|2",)).until_target is False
