"""Prometheus metrics: a short selfplay, a loop generation and an audit scraped over
HTTP; the shipped dashboard and alert rules name only metrics the code exports."""

import json
import re
import socket
import urllib.request
from pathlib import Path

import pytest
import yaml

from ringrift_ml import metrics

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("prometheus_client")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, s.labels.get("board"), s.labels.get("players"))] = s.value
    return out


def test_selfplay_loop_and_audit_metrics_over_http(tmp_path, monkeypatch):
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import LoopConfig, run_loop
    from ringrift_ml.loop import run as loop_run
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    port = metrics.serve(_free_port())
    before = _scrape(port).get(("ringrift_selfplay_games_total", "hex8", "2"), 0.0)
    recs = run_selfplay(SelfplayConfig(board="hex8", players=("mcts:4", "random"), games=3, seed=4), progress=False)
    got = _scrape(port)
    assert got[("ringrift_selfplay_games_total", "hex8", "2")] == before + 3
    searched = sum(1 for r in recs for s in r["search"] if s)
    assert got[("ringrift_selfplay_positions_total", "hex8", "2")] >= searched > 0
    assert got[("ringrift_selfplay_games_per_second", "hex8", "2")] > 0
    # A loop generation (every gate passes: this test is about the figures it exports).
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    cfg = LoopConfig(board="square8", players=3, games=4, simulations=4, bootstrap="mcts:4", gate_min_games=2,
                     gate_max_games=3, batch_games=4, train=(("epochs", 2), ("preset", "tiny")), ladder_games=0)
    store = LakeStore.open(tmp_path)
    (row,) = run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)
    got = _scrape(port)
    assert got[("ringrift_loop_generation", "square8", "3")] == 0
    if row["status"] == "promoted":
        assert got[("ringrift_loop_promotions_total", "square8", "3")] >= 1
        assert 0 <= got[("ringrift_loop_gate_score", "square8", "3")] <= 1
    assert 0 < got[("ringrift_loop_data_share", "square8", "3")] <= 1
    assert got[("ringrift_loop_generation_cpu_seconds", "square8", "3")] > 0
    # The landing audit of an empty landing zone: nothing landed, nothing lost.
    from ringrift_ml.cli import main

    assert main(["lake", "audit", "--storage", str(tmp_path)]) == 0
    got = _scrape(port)
    assert got[("ringrift_lake_lost_files", "all", "all")] == 0
    assert got[("ringrift_selfplay_games_total", "square8", "3")] >= 4  # the loop's selfplay counted too


def _exported() -> set:
    from ringrift_ml.train.monitor import Monitor

    mon = Monitor(None, tensorboard=False)
    names = {s.name for fam in mon.registry.collect() for s in fam.samples}
    names |= {fam.name + suffix for fam in mon.registry.collect() for suffix in ("", "_total", "_count", "_sum",
                                                                                "_bucket")}
    return metrics.exported_names() | names


def _names(expr: str) -> set:
    return set(re.findall(r"\bringrift_[a-z_]+", expr))


def test_dashboard_and_alerts_name_only_exported_metrics():
    exported = _exported()
    dash = json.loads((ROOT / "deploy" / "grafana" / "ringrift.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    exprs_alerts = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(exprs) >= 10 and len(exprs_alerts) >= 5
    for expr in exprs + exprs_alerts:
        assert _names(expr) <= exported, (expr, _names(expr) - exported)
    # Every alert the operations issue names has a rule.
    assert {"SelfplayStalled", "GateRegression", "LoopFailures", "TrainingDiverging", "WorkerOffline"} <= \
        {r["alert"] for g in rules["groups"] for r in g["rules"]}
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    assert {"127.0.0.1:9101"} <= {t for j in scrape["scrape_configs"] for c in j["static_configs"] for t in c["targets"]}


def test_metrics_port_is_checked(capsys):
    from ringrift_ml.cli import main

    assert main(["--metrics-port", "70000", "nnue", "info", "x"]) == 2
    assert "--metrics-port" in capsys.readouterr().err
