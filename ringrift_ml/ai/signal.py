"""How much a policy target says: its entropy, and its distance from the prior and from uniform.

A search target teaches a network something only if it differs from what the network
already predicts (its prior) and from a coin (uniform over the legal moves).  Per
target (nats):

* ``entropy``: H(target);
* ``kl_prior``: KL(target || prior), what the search changed of the evaluator's prior
  (the prior without root noise);
* ``kl_uniform``: KL(target || uniform) = log K - H, how peaked the target is.

Selfplay writes the three figures into every fully searched decision's ``search``
entry; :func:`summarize` averages them over records, and the loop keeps the means of
each generation in ``lake.model_registry``.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

import numpy as np

FIELDS = ("entropy", "kl_prior", "kl_uniform")
_FLOOR = 1e-12  # a prior of exactly 0 for a move the target plays still gives a finite KL


def entropy(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats (``q`` floored at 1e-12 where ``p`` has mass)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"kl: distributions of shapes {p.shape} and {q.shape}")
    m = p > 0
    return float((p[m] * (np.log(p[m]) - np.log(np.maximum(q[m], _FLOOR)))).sum())


def target_stats(policy: np.ndarray, prior: Optional[np.ndarray] = None) -> dict:
    """``{"entropy", "kl_prior", "kl_uniform"}`` of one target over K legal moves;
    ``kl_prior`` is None without a prior."""
    policy = np.asarray(policy, dtype=np.float64)
    h = entropy(policy)
    return {"entropy": h, "kl_prior": None if prior is None else max(0.0, kl(policy, prior)),
            "kl_uniform": max(0.0, math.log(len(policy)) - h)}


def summarize(records: Iterable[dict]) -> dict:
    """Means of the per-decision figures over the fully searched decisions of game
    records that carry them: ``{"targets": n, "entropy", "kl_prior", "kl_uniform"}``
    (a mean is None where no decision has the figure)."""
    sums = {k: 0.0 for k in FIELDS}
    counts = {k: 0 for k in FIELDS}
    targets = 0
    for rec in records:
        for e in rec.get("search") or []:
            if not e or not e.get("full"):
                continue
            if any(k in e for k in FIELDS):
                targets += 1
            for k in FIELDS:
                if e.get(k) is not None:
                    sums[k] += float(e[k])
                    counts[k] += 1
    return {"targets": targets, **{k: (sums[k] / counts[k] if counts[k] else None) for k in FIELDS}}


def columns(summary: dict) -> dict:
    """A :func:`summarize` result under the names the registry, the assets' metadata and
    the benchmarks use: ``targets``, ``target_entropy``, ``target_kl_prior``,
    ``target_kl_uniform``."""
    return {"targets": summary["targets"], **{f"target_{k}": summary[k] for k in FIELDS}}


__all__ = ["FIELDS", "columns", "entropy", "kl", "summarize", "target_stats"]
