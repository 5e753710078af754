"""Alerts: the divergence rule, the log and the webhook (a local HTTP server: the
``webhook`` fixture), the loop's registry alerts (gate regression, failed generation;
the rollback's in tests/loop/test_loop.py), and the Dagster side: the run-failure sensor
counting a partition's consecutive failures, the divergence check on the candidate and
the freshness checks' stalled-data alerts."""

import time

import dagster as dg
import pytest

from ringrift_ml.alerts import diverging, emit, read_alerts


def test_divergence_rule():
    assert diverging([1.0, 0.9, 0.8, 0.85]) is None
    assert "rose in each of the last 3 epochs" in diverging([1.0, 0.8, 0.9, 1.0, 1.1])
    assert diverging([1.0, 0.8, 0.9, 1.0]) is None  # two rises only
    assert diverging([1.0, float("nan")]) == "held-out loss is not finite at epoch 1"
    assert diverging([]) is None
    with pytest.raises(ValueError, match="epochs"):
        diverging([1.0], epochs=0)


def test_alerts_go_to_the_log_and_the_webhook(tmp_path, webhook, monkeypatch):
    url, got = webhook
    log = tmp_path / "alerts" / "alerts.jsonl"
    rec = emit("GateRegression", "square8|2 scored 0.41", log, labels={"partition": "square8|2"}, webhook=url)
    assert rec["webhook"] == "HTTP 204" and got == [{k: v for k, v in rec.items() if k != "webhook"}]
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", "http://127.0.0.1:9/nobody")  # nothing listens there
    dead = emit("RunFailed", "x", log, severity="critical", timeout=1.0)
    assert dead["webhook"].startswith("failed:")
    assert [a["alert"] for a in read_alerts(log)] == ["GateRegression", "RunFailed"]
    with pytest.raises(ValueError, match="severity"):
        emit("X", "y", log, severity="loud")


def test_failure_sensor_counts_a_partitions_consecutive_failures(tmp_path, webhook, monkeypatch):
    from ringrift_assets.alerts import failure_alert_sensor
    from ringrift_assets.resources import LakeResource
    from ringrift_ml.lake.layout import Layout

    url, got = webhook
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", url)
    calls = {"n": 0}

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["square8|2"]))
    def flaky():
        calls["n"] += 1
        if calls["n"] != 2:
            raise RuntimeError(f"boom {calls['n']}")

    job = dg.define_asset_job("flaky_job", selection=[flaky])
    defs = dg.Definitions(assets=[flaky], jobs=[job])
    instance = dg.DagsterInstance.ephemeral()
    res = LakeResource(root=str(tmp_path))
    counts = []
    for _ in range(4):  # fail, succeed, fail, fail
        result = defs.resolve_job_def("flaky_job").execute_in_process(partition_key="square8|2", instance=instance,
                                                                      raise_on_error=False)
        if result.success:
            continue
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        ctx = dg.build_run_status_sensor_context(sensor_name="failure_alert_sensor", dagster_instance=instance,
                                                 dagster_run=result.dagster_run, dagster_event=event,
                                                 resources={"lake_root": res}).for_run_failure()
        failure_alert_sensor(ctx)
        counts.append(read_alerts(Layout(tmp_path).alerts_log)[-1]["labels"]["consecutive"])
    assert counts == [1, 1, 2]
    alerts = read_alerts(Layout(tmp_path).alerts_log)
    assert [a["severity"] for a in alerts] == ["warning", "warning", "warning"]
    assert len(got) == 3 and "square8|2" in got[-1]["message"] and "flaky_job" in got[-1]["message"]


def test_divergence_check_on_the_candidate(tmp_path, webhook, monkeypatch):
    torch = pytest.importorskip("torch")
    url, got = webhook
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", url)
    from ringrift_assets.alerts import divergence_result
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    lay = Layout(tmp_path)
    part = Partition("square8", 2)
    torch.manual_seed(0)
    losses = [2.0, 1.8, 1.9, 2.1, 2.4]
    save_net(RingNet(net_config("square8", "tiny")), lay.generation_dir(part, 0) / "model.pt", {},
             {"history": [{"epoch": i, "heldout": {"loss": x}} for i, x in enumerate(losses)]})
    assert lay.candidates(part)  # the check finds it as the newest candidate
    result = divergence_result(lay, part)
    assert not result.passed and "rose in each of the last 3 epochs" in result.description
    (alert,) = read_alerts(lay.alerts_log)
    assert alert["alert"] == "TrainingDiverging" and alert["labels"] == {"partition": "square8|2"}
    assert [a["alert"] for a in got] == ["TrainingDiverging"]
    save_net(RingNet(net_config("square8", "tiny")), lay.generation_dir(part, 1) / "model.pt", {},
             {"history": [{"epoch": i, "heldout": {"loss": x}} for i, x in enumerate([2.0, 1.7, 1.6])]})
    assert divergence_result(lay, part).passed and len(read_alerts(lay.alerts_log)) == 1


def _gate_row(score, opponent="nn:models/g3.pt:64", status="rejected"):
    return {"board": "square8", "players": 2, "generation": 4, "status": status, "reason": "gate failed",
            "gate_score": score, "gate_games": 60, "gate_opponent": opponent}


def test_a_gate_below_45_percent_against_the_best_alerts(tmp_path, webhook):
    from ringrift_ml.alerts import registry_alerts

    url, got = webhook
    log = tmp_path / "alerts.jsonl"
    (rec,) = registry_alerts(_gate_row(0.41), log, webhook=url)
    assert rec["alert"] == "GateRegression" and "0.410 over 60 games" in rec["message"]
    assert rec["labels"] == {"partition": "square8|2", "generation": 4} and got[-1]["alert"] == "GateRegression"
    assert registry_alerts(_gate_row(0.47), log, webhook=url) == []  # a rejection, not a regression
    assert registry_alerts(_gate_row(0.30, opponent="heuristic"), log, webhook=url) == []  # the bootstrap gate
    # A rollback restates the promoted row (its gate included): the rollback alerts, not the gate.
    assert [a["alert"] for a in registry_alerts(_gate_row(0.41, status="rolled_back"), log)] == ["PromotionRolledBack"]
    assert [a["alert"] for a in read_alerts(log)] == ["GateRegression", "PromotionRolledBack"] and len(got) == 1


def test_a_failed_generation_alerts_from_the_loop(tmp_path, webhook, monkeypatch):
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.layout import Layout
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.run import record_failure

    url, got = webhook
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", url)
    store = LakeStore.open(tmp_path)
    record_failure(store, LoopConfig(board="square8", players=2), 3, None, "RuntimeError: disk full", 2,
                   log=lambda m: None)
    (alert,) = read_alerts(Layout(tmp_path).alerts_log)
    assert alert["alert"] == "GenerationFailed" and "disk full" in alert["message"]
    assert got[-1]["message"] == alert["message"]


def test_stalled_landing_alerts_once_and_again_when_data_resumes(tmp_path, webhook, monkeypatch):
    from ringrift_assets.alerts import build_freshness_checks, freshness_alerts

    url, got = webhook
    monkeypatch.setenv("RINGRIFT_ALERT_WEBHOOK", url)
    log = tmp_path / "alerts.jsonl"

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["square8|2"]))
    def landed_files():
        return None

    # Stale after six seconds: long enough that the check right after a fresh
    # materialization still sees it fresh on a loaded machine (a one-second window
    # failed there), short enough to wait out once.
    checks = build_freshness_checks(6 / 3600, assets=[landed_files])
    with pytest.raises(ValueError, match="freshness hours"):
        build_freshness_checks(0)
    with dg.instance_for_test() as inst:
        def evaluate():
            r = dg.materialize(checks, instance=inst, selection=dg.AssetSelection.all_asset_checks())
            return [e.passed for e in r.get_asset_check_evaluations()]

        assert dg.materialize([landed_files], partition_key="square8|2", instance=inst).success
        time.sleep(6.3)
        assert evaluate() == [False]  # Dagster's verdict: overdue
        alerts, cursor = freshness_alerts(inst, checks, log, {})
        assert [a["alert"] for a in alerts] == ["LandingStalled"] and "overdue" in alerts[0]["message"]
        assert got[-1]["alert"] == "LandingStalled" and cursor["landed_files"]["failed"]
        assert freshness_alerts(inst, checks, log, cursor)[0] == []  # nothing new evaluated
        assert evaluate() == [False]
        alerts, cursor = freshness_alerts(inst, checks, log, cursor)
        assert alerts == []  # still stalled: no second alert
        assert dg.materialize([landed_files], partition_key="square8|2", instance=inst).success
        assert evaluate() == [True]
        alerts, cursor = freshness_alerts(inst, checks, log, cursor)
        assert [(a["alert"], a["severity"]) for a in alerts] == [("LandingResumed", "info")]
    assert [a["alert"] for a in read_alerts(log)] == ["LandingStalled", "LandingResumed"] and len(got) == 2
