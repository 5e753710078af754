"""Calibration of the value head on held-out positions.

The value head predicts the mover's outcome ``tanh(z)`` in [-1, 1]; as a
probability of a good outcome that is ``p = (tanh(z) + 1) / 2 = sigmoid(2 z)``
and the observed target is ``y = (outcome + 1) / 2``.  Reported: expected and
maximum calibration error over equal-width bins of ``p``, overconfidence (how much
more extreme predictions are than outcomes, bin-weighted), and the temperature
``T`` that minimizes the cross-entropy of ``sigmoid(2 z / T)`` on the held-out set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _sigmoid(x):
    # Clipped: logits far beyond ±40 give probabilities of exactly 0 or 1 in float64 anyway.
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


def _xent(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def calibration_report(z: np.ndarray, outcome: np.ndarray, bins: int = 10) -> dict:
    if len(z) == 0:
        raise ValueError("calibration: no held-out positions")
    z = np.asarray(z, dtype=np.float64)
    y = (np.asarray(outcome, dtype=np.float64) + 1) / 2
    p = _sigmoid(2 * z)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece, mce, over = [], 0.0, 0.0, 0.0
    for k in range(bins):
        sel = which == k
        n = int(sel.sum())
        if n == 0:
            table.append({"bin": k, "lo": edges[k], "hi": edges[k + 1], "n": 0, "confidence": None, "observed": None})
            continue
        conf, obs = float(p[sel].mean()), float(y[sel].mean())
        gap = abs(conf - obs)
        ece += n / len(p) * gap
        mce = max(mce, gap)
        over += n / len(p) * max(0.0, abs(conf - 0.5) - abs(obs - 0.5))
        table.append({"bin": k, "lo": float(edges[k]), "hi": float(edges[k + 1]), "n": n,
                      "confidence": conf, "observed": obs})
    # Temperature: a 1-D search on log T (the cross-entropy is smooth and unimodal in practice).
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 400))
    losses = [_xent(_sigmoid(2 * z / t), y) for t in grid]
    best = int(np.argmin(losses))
    return {
        "n": int(len(p)),
        "ece": float(ece),
        "mce": float(mce),
        "overconfidence": float(over),
        "temperature": float(grid[best]),
        # True when the best temperature is an end of the searched range [0.05, 20]:
        # the head is so far off that T only bounds the truth.
        "temperature_at_bound": bool(best in (0, len(grid) - 1)),
        "xent": _xent(p, y),
        "xent_at_temperature": float(losses[best]),
        "bins": table,
    }


def reliability_png(report: dict, path: Path, title: str) -> Path:
    """A reliability diagram: observed outcome against predicted, per bin, with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [b for b in report["bins"] if b["n"]]
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(5, 6), height_ratios=(3, 1), sharex=True)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    ax.plot([b["confidence"] for b in rows], [b["observed"] for b in rows], marker="o", label="value head")
    ax.set_ylabel("observed (outcome + 1) / 2")
    ax.set_title(f"{title}\nECE {report['ece']:.3f}  MCE {report['mce']:.3f}  T* {report['temperature']:.2f}")
    ax.legend(loc="upper left")
    centers = [(b["lo"] + b["hi"]) / 2 for b in report["bins"]]
    axn.bar(centers, [b["n"] for b in report["bins"]], width=0.09)
    axn.set_xlabel("predicted (tanh(v) + 1) / 2")
    axn.set_ylabel("positions")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
