"""The campaign in the graph: ``ringrift campaign --to-sensor`` writes the loop sensor's
budget (a CPU budget per partition), the sensor stops a partition that has spent it,
and ``campaign_summary`` evaluates each final best once and tabulates."""

import json

import dagster as dg
import pytest

from ringrift_assets.configs import CampaignSettings, LoopSettings
from ringrift_assets.loop import campaign_summary, loop_sensor
from ringrift_assets.resources import LakeResource
from ringrift_ml.lake.layout import Layout
from ringrift_ml.loop import registry
from ringrift_ml.loop import run as loop_run
from ringrift_ml.loop.campaign import CampaignConfig, run_campaign
from ringrift_ml.partition import Partition

from ..loop.test_campaign import LOOP


def test_campaign_sensor_budget_and_summary_asset(tmp_path, monkeypatch, capsys):
    import ringrift_ml.train.checkpoint as train_checkpoint
    from ringrift_ml.cli import main

    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    res = {"lake_root": LakeResource(root=str(tmp_path))}
    store = res["lake_root"].store()
    loop_json = json.dumps(dict(LOOP))
    # The budget the daemon runs from: each partition's CPU budget and its loop settings.
    assert main(["campaign", "--partitions", "square8|2,square19|2", "--cpu-hours", "0.5", "--loop", loop_json,
                 "--to-sensor", "--storage", str(tmp_path)]) == 0
    budget = json.loads(Layout(tmp_path).loop_budget.read_text())
    assert budget["square8|2"]["cpu_hours"] == 0.5 and budget["square19|2"]["cpu_hours"] == 3.0
    assert budget["square8|2"]["config"]["games"] == 10
    assert json.loads(budget["square19|2"]["config"]["train"]) == {"epochs": 4, "preset": "tiny", "value_target_mix": 0.5}
    instance = dg.DagsterInstance.ephemeral()
    reqs = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert sorted(q.partition_key for q in reqs) == ["square19|2", "square8|2"]
    # The settings are the loop resource's: a run with them validates.
    assert LoopSettings(**budget["square8|2"]["config"]).config(Partition("square8", 2)).games == 10

    # One generation spends a tiny budget; the sensor then leaves the partition alone.
    cfg = CampaignConfig(partitions=("square8|2",), cpu_hours=1e-6, eval_games=0, seed=1, loop=LOOP)
    run_campaign(store, cfg, progress=False, log=lambda m: None)
    assert len(registry(store, "square8", 2)) == 1
    budget["square8|2"]["cpu_hours"] = 1e-6
    Layout(tmp_path).loop_budget.write_text(json.dumps(budget))
    reqs = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert [q.partition_key for q in reqs] == ["square19|2"]

    # The summary asset evaluates the best once (lake.evaluations) and tabulates.
    conf = {"partitions": "square8|2", "cpu_hours": 1e-6, "eval_games": 2, "loop": loop_json}
    r = dg.materialize([campaign_summary], resources=res,
                       run_config={"ops": {"campaign_summary": {"config": conf}}})
    md = r.asset_materializations_for_node("campaign_summary")[0].metadata
    (rec,) = md["summary"].value.records
    assert rec.data["partition"] == "square8|2" and rec.data["generations"] == 1 and rec.data["eval_games"] == 2
    assert 0 <= rec.data["score"] <= 1 and "square8\\|2" in md["summary_markdown"].value
    assert store.query("SELECT count(*) AS n FROM lake.evaluations").to_pylist()[0]["n"] == 1
    dg.materialize([campaign_summary], resources=res, run_config={"ops": {"campaign_summary": {"config": conf}}})
    assert store.query("SELECT count(*) AS n FROM lake.evaluations").to_pylist()[0]["n"] == 1
    # A bad setting fails the run naming it.
    bad = dg.materialize([campaign_summary], resources=res, raise_on_error=False,
                         run_config={"ops": {"campaign_summary": {"config": {**conf, "loop": "[1]"}}}})
    error = str(next(e for e in bad.all_events if e.is_step_failure).event_specific_data.error)
    assert "loop" in error and "JSON object" in error
    assert CampaignSettings().campaign().partitions[0] == "square8|2"  # empty: all 12, the cheapest first


def test_the_sensor_stops_a_partition_once_its_target_is_met(tmp_path, monkeypatch):
    """``--until-target`` in the graph: the budget entry carries the evaluation's settings,
    the generation run the sensor starts first plays the final evaluation (once, stored)
    and runs no generation when the target is met, and the sensor then leaves the
    partition alone, saying why."""
    import ringrift_ml.loop.campaign as campaign
    import ringrift_ml.train.checkpoint as train_checkpoint
    from ringrift_assets.loop import UNTIL_TARGET_TAG, loop_generation
    from ringrift_ml.cli import main

    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    monkeypatch.setattr(train_checkpoint, "judge_checkpoint", lambda meta: [])
    store = LakeResource(root=str(tmp_path)).store()
    assert main(["campaign", "--partitions", "square8|2", "--loop", json.dumps(dict(LOOP)), "--eval-games", "2",
                 "--seed", "4", "--until-target", "--to-sensor", "--storage", str(tmp_path)]) == 0
    budget = json.loads(Layout(tmp_path).loop_budget.read_text())
    assert budget["square8|2"]["until_target"] == {"eval_games": 2, "eval_random_opening": 4, "seed": 4}
    settings = LoopSettings(**budget["square8|2"]["config"])
    res = {"lake_root": LakeResource(root=str(tmp_path)), "loop": settings}
    instance = dg.DagsterInstance.ephemeral()

    # Before any promotion there is nothing to evaluate: the run plays its generation.
    (req,) = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert json.loads(req.tags[UNTIL_TARGET_TAG]) == budget["square8|2"]["until_target"]
    run = dg.materialize([loop_generation], partition_key="square8|2", resources=res, tags=req.tags)
    md = run.asset_materializations_for_node("loop_generation")[0].metadata
    assert md["generation"].value == 0 and md["status"].value == "promoted"

    # A target every score meets: the next run evaluates g0 (stored) and stops there.
    monkeypatch.setitem(campaign.TARGETS, "small", 0.0)
    (req,) = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))  # nothing stored yet
    run = dg.materialize([loop_generation], partition_key="square8|2", resources=res, tags=req.tags)
    md = run.asset_materializations_for_node("loop_generation")[0].metadata
    assert md["status"].value == "target met" and "nn:g0:4 scored" in md["reason"].value
    assert [r["generation"] for r in registry(store, "square8", 2)] == [0]
    (ev,) = store.query("SELECT games, seed FROM lake.evaluations").to_pylist()
    assert ev == {"games": 2, "seed": 10_004}
    skip = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert isinstance(skip, dg.SkipReason) and "square8|2: its target (>= 0% vs heuristic) is met" in skip.skip_message

    # An evaluation below the target does not stop it: the sensor asks for the next generation.
    monkeypatch.setitem(campaign.TARGETS, "small", 1.01)
    (req,) = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert req.tags["ringrift/generation"] == "1"
    # A bad entry is named in the sensor's log and skipped, not run.
    budget["square8|2"]["until_target"] = {"eval_games": "many"}
    Layout(tmp_path).loop_budget.write_text(json.dumps(budget))
    assert isinstance(loop_sensor(dg.build_sensor_context(instance=instance, resources=res)), dg.SkipReason)
    with pytest.raises(ValueError, match="until_target: eval_games: expected an integer"):
        campaign.until_target_config("square8|2", budget["square8|2"], settings.config(Partition("square8", 2)))
    with pytest.raises(ValueError, match="unknown field"):
        campaign.until_target_config("square8|2", {"until_target": {"games": 3}},
                                     settings.config(Partition("square8", 2)))
