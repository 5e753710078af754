"""Alerts: the divergence rule, the log and the webhook (a local HTTP server), and the
Dagster side: the run-failure sensor counting a partition's consecutive failures and the
divergence check on the candidate."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from ringrift_ml.alerts import diverging, emit, read_alerts


@pytest.fixture
def webhook():
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()


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


def test_divergence_check_on_the_candidate(tmp_path):
    torch = pytest.importorskip("torch")
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
    save_net(RingNet(net_config("square8", "tiny")), lay.generation_dir(part, 1) / "model.pt", {},
             {"history": [{"epoch": i, "heldout": {"loss": x}} for i, x in enumerate([2.0, 1.7, 1.6])]})
    assert divergence_result(lay, part).passed and len(read_alerts(lay.alerts_log)) == 1
