"""Alerts: one JSON line each in the storage root's alert log, optionally posted to a webhook.

Dagster's sensors and checks (``ringrift_assets/alerts.py``) decide *when* something is
wrong; this module says it: :func:`emit` appends ``{alert, severity, message, labels,
at}`` to ``<storage>/alerts/alerts.jsonl`` and, when a webhook URL is given (or
``$RINGRIFT_ALERT_WEBHOOK`` is set), POSTs the same JSON to it.  A webhook that does not
answer is recorded in the log line (``webhook``), never raised: an alert must not fail
the run that raised it.  :func:`diverging` is the training-divergence rule;
:func:`registry_alerts` the alerts a loop registry row raises (written by the loop
itself, so a loop run from a shell alerts as one run by Dagster does).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import urllib.request
from pathlib import Path
from typing import Optional

SEVERITIES = ("info", "warning", "critical")
GATE_REGRESSION = float(os.environ.get("RINGRIFT_ALERT_GATE", "0.45"))
"""A candidate scoring below this against the best is a regression (RingRift's plan: 45%)."""


def emit(name: str, message: str, log_path: Path, severity: str = "warning", labels: Optional[dict] = None,
         webhook: Optional[str] = None, timeout: float = 5.0) -> dict:
    """Record one alert (and post it); returns the record as written."""
    if severity not in SEVERITIES:
        raise ValueError(f"alert severity: expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    rec = {"alert": name, "severity": severity, "message": message, "labels": dict(labels or {}),
           "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    url = webhook if webhook is not None else os.environ.get("RINGRIFT_ALERT_WEBHOOK", "")
    if url:
        try:
            req = urllib.request.Request(url, data=json.dumps(rec).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                rec["webhook"] = f"HTTP {resp.status}"
        except Exception as e:  # noqa: BLE001 - a dead webhook is recorded, not raised
            rec["webhook"] = f"failed: {type(e).__name__}: {e}"
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    return rec


def read_alerts(log_path: Path) -> list:
    """Every alert recorded, oldest first (an empty list without a log)."""
    p = Path(log_path)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def diverging(heldout_losses: list, epochs: int = 3) -> Optional[str]:
    """Why a training run diverges, or None: a held-out loss that is not finite, or one
    that rose in each of the last ``epochs`` epochs."""
    if epochs < 1:
        raise ValueError(f"epochs: must be positive, got {epochs}")
    xs = [float(x) for x in heldout_losses]
    bad = [i for i, x in enumerate(xs) if not math.isfinite(x)]
    if bad:
        return f"held-out loss is not finite at epoch {bad[0]}"
    if len(xs) > epochs and all(xs[-k] > xs[-k - 1] for k in range(1, epochs + 1)):
        return f"held-out loss rose in each of the last {epochs} epochs ({xs[-epochs - 1]:.4f} -> {xs[-1]:.4f})"
    return None


def registry_alerts(row: dict, log_path: Path, webhook: Optional[str] = None) -> list:
    """Record the alerts of one ``lake.model_registry`` row: ``GateRegression`` (its gate
    scored below :data:`GATE_REGRESSION` against the best network, not against the
    bootstrap player), ``PromotionRolledBack`` (the regression watch rolled a promotion
    back) and ``GenerationFailed``; the same names as ``deploy/alerts.yml``.  Returns the
    records written."""
    part = f"{row['board']}|{row['players']}"
    labels = {"partition": part, "generation": row.get("generation")}
    out = []
    score, opponent = row.get("gate_score"), row.get("gate_opponent") or ""
    if row.get("status") != "rolled_back" and score is not None and opponent.startswith("nn:") \
            and score < GATE_REGRESSION:
        out.append(emit("GateRegression", f"{part} g{row.get('generation')} scored {score:.3f} over "
                        f"{row.get('gate_games')} games against the best (below {GATE_REGRESSION:g})",
                        log_path, labels=labels, webhook=webhook))
    if row.get("status") == "rolled_back":
        out.append(emit("PromotionRolledBack", f"{part} g{row.get('generation')}: {row.get('reason')}", log_path,
                        severity="critical", labels=labels, webhook=webhook))
    if row.get("status") == "failed":
        out.append(emit("GenerationFailed", f"{part} g{row.get('generation')}: {row.get('reason')}", log_path,
                        labels=labels, webhook=webhook))
    return out


__all__ = ["GATE_REGRESSION", "SEVERITIES", "diverging", "emit", "read_alerts", "registry_alerts"]
