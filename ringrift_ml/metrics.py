"""Prometheus metrics of selfplay, the loop and the lake, under one naming scheme.

Every metric is ``ringrift_<subsystem>_<what>[_<unit>]`` with the partition as the
labels ``board`` and ``players`` (training's metrics, :mod:`ringrift_ml.train.monitor`,
follow the same scheme).  They live in one process-wide registry, served over HTTP by
:func:`serve` (``ringrift --metrics-port N <command>``); ``deploy/prometheus.yml``
scrapes it, ``deploy/alerts.yml`` alerts on it and ``deploy/grafana/ringrift.json``
draws it (tests check that both name only metrics exported here or by training).

Without ``prometheus-client`` (it comes with the ``pipeline`` extra) every update is a
no-op and :func:`serve` says what is missing.
"""

from __future__ import annotations

import threading
from typing import Optional

_LOCK = threading.Lock()
_M: dict = {}
_SERVERS: dict = {}

LABELS = ("board", "players")

# name -> (kind, help).  Counters are exported with the ``_total`` suffix.
METRICS = {
    "ringrift_selfplay_games": ("counter", "Selfplay games finished"),
    "ringrift_selfplay_positions": ("counter", "Training positions (full-search decisions) of selfplay games"),
    "ringrift_selfplay_games_per_second": ("gauge", "Games per second of the last selfplay run"),
    "ringrift_selfplay_last_game_timestamp_seconds": ("gauge", "Unix time the last selfplay game finished"),
    "ringrift_selfplay_eval_batch_size": ("gauge", "Mean network evaluation batch of the last in-process run"),
    "ringrift_selfplay_eval_cache_hit_ratio": ("gauge", "Share of network evaluations served by the cache"),
    "ringrift_loop_generation": ("gauge", "Newest generation in the partition's registry"),
    "ringrift_loop_gate_score": ("gauge", "The newest gate's score of the candidate"),
    "ringrift_loop_gate_games": ("gauge", "Games of the newest gate"),
    "ringrift_loop_data_share": ("gauge", "Share of the newest generation's CPU that made training positions"),
    "ringrift_loop_generation_cpu_seconds": ("gauge", "CPU seconds of the newest generation"),
    "ringrift_loop_promotions": ("counter", "Promoted generations"),
    "ringrift_loop_rejections": ("counter", "Rejected generations"),
    "ringrift_loop_rollbacks": ("counter", "Promotions rolled back by the regression watch"),
    "ringrift_loop_failures": ("counter", "Generations recorded as failed"),
    "ringrift_lake_landed_files": ("gauge", "Files that reached the landing zone (the newest audit)"),
    "ringrift_lake_quarantined_files": ("gauge", "Landed files quarantined (the newest audit)"),
    "ringrift_lake_lost_files": ("gauge", "Landed files neither ingested nor quarantined (the newest audit; 0)"),
}


def _metric(name: str):
    """The metric object, created on first use; None without prometheus-client."""
    with _LOCK:
        if name in _M:
            return _M[name]
        try:
            import prometheus_client as pc
        except ImportError:
            _M[name] = None
            return None
        if "registry" not in _M:
            _M["registry"] = pc.CollectorRegistry()
        kind, doc = METRICS[name]
        cls = pc.Counter if kind == "counter" else pc.Gauge
        _M[name] = cls(name, doc, list(LABELS), registry=_M["registry"])
        return _M[name]


def _labels(board: str, players: int):
    return {"board": str(board), "players": str(int(players))}


def registry():
    """The process-wide registry (None without prometheus-client)."""
    _metric("ringrift_selfplay_games")
    return _M.get("registry")


def exported_names() -> set:
    """Every sample name this module exports (counters with ``_total``)."""
    return {n + ("_total" if kind == "counter" else "") for n, (kind, _) in METRICS.items()}


def serve(port: int, addr: str = "127.0.0.1") -> int:
    """Serve the registry on ``http://addr:port/metrics`` (once per port); returns the port."""
    reg = registry()
    if reg is None:
        raise ValueError("metrics: prometheus-client is not installed (pip install 'ringrift-lab[pipeline]')")
    if not 0 < int(port) < 65536:
        raise ValueError(f"metrics port: expected 1-65535, got {port}")
    with _LOCK:
        if port not in _SERVERS:
            from prometheus_client import start_http_server

            _SERVERS[port] = start_http_server(int(port), addr=addr, registry=reg)
    return port


def _set(name: str, labels: dict, value) -> None:
    m = _metric(name)
    if m is not None and value is not None:
        m.labels(**labels).set(float(value))


def _inc(name: str, labels: dict, value: float = 1.0) -> None:
    m = _metric(name)
    if m is not None and value:
        m.labels(**labels).inc(float(value))


def selfplay_done(board: str, players: int, games: int, positions: int, seconds: float,
                  evaluator: Optional[dict] = None) -> None:
    """A selfplay run's games, positions (fully searched decisions) and rate
    (``evaluator``: ``{batches, misses, hits}`` of an in-process network evaluator, for
    the batch size and cache hits)."""
    import time

    lab = _labels(board, players)
    _inc("ringrift_selfplay_games", lab, games)
    _inc("ringrift_selfplay_positions", lab, positions)
    if games and seconds > 0:
        _set("ringrift_selfplay_games_per_second", lab, games / seconds)
        _set("ringrift_selfplay_last_game_timestamp_seconds", lab, time.time())
    if evaluator and evaluator.get("batches"):
        _set("ringrift_selfplay_eval_batch_size", lab, evaluator["misses"] / evaluator["batches"])
        total = evaluator["misses"] + evaluator["hits"]
        _set("ringrift_selfplay_eval_cache_hit_ratio", lab, evaluator["hits"] / total if total else 0.0)


def generation_done(row: dict) -> None:
    """A loop registry row (promoted, rejected, failed or rolled back)."""
    lab = _labels(row["board"], row["players"])
    status = row.get("status")
    _set("ringrift_loop_generation", lab, row.get("generation"))
    _set("ringrift_loop_gate_score", lab, row.get("gate_score"))
    _set("ringrift_loop_gate_games", lab, row.get("gate_games"))
    _set("ringrift_loop_data_share", lab, row.get("data_share"))
    _set("ringrift_loop_generation_cpu_seconds", lab, row.get("cpu_seconds"))
    name = {"promoted": "ringrift_loop_promotions", "rejected": "ringrift_loop_rejections",
            "rolled_back": "ringrift_loop_rollbacks", "failed": "ringrift_loop_failures"}.get(status)
    if name:
        _inc(name, lab)


def audit_done(files: int, quarantined: int, lost: int) -> None:
    """The landing audit's counts (the lake as a whole: board and players ``all``)."""
    lab = {"board": "all", "players": "all"}
    _set("ringrift_lake_landed_files", lab, files)
    _set("ringrift_lake_quarantined_files", lab, quarantined)
    _set("ringrift_lake_lost_files", lab, lost)


__all__ = ["METRICS", "audit_done", "exported_names", "generation_done", "registry", "selfplay_done", "serve"]
