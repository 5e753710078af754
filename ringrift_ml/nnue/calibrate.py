"""Bias correction of the quantised head, measured on positions.

Rounding a layer's weights to int8 leaves each output an error ``sum_i x_i * dw_i``.
Over inputs that are nearly constant (the globals' "this seat plays", the player
count, accumulator elements that sit at the clip) that sum does not average out: it is
a fixed offset per output, and through the tanh a fixed offset of the NNUE's value
(measured: 0.016 on a square8 3p NNUE whose float values the integer path otherwise
followed to 0.008).  The remedy of post-training quantisation (bias correction: Nagel
et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias Correction";
Banner et al. 2019) is to measure each output's mean error on representative inputs and
subtract it from the bias.  Here the layers are corrected in order, each on the inputs
the already corrected integer layers before it produce, and the corrections are stored
in the file (``NNUEWeights.qbias``) so that every later quantisation repeats them; the
float weights are untouched.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..ai import _k_nnue as K
from ..rules.kernels import num_players
from .features import N_GLOBALS
from .model import NNUEWeights, board_cells


def head_inputs(weights: NNUEWeights, states: list) -> tuple:
    """``(xf, xq)``: the head's inputs for every perspective of every state, in float
    (``[rows, inputs]``, as the float path computes them) and in the integer units of
    the quantised path (``1 / QA``, accumulators rebuilt from the int16 weights)."""
    ncells = board_cells(weights.board)
    q = weights.quantised()
    W1q, b1q = q["W1q"].astype(np.int64), q["b1q"].astype(np.int64)
    hidden, n_in = weights.hidden, weights.head_inputs
    feat = np.zeros(ncells, dtype=np.int64)
    g = np.zeros(N_GLOBALS, dtype=np.float32)
    xf, xq = [], []
    for S in states:
        for p in range(1, int(num_players(S)) + 1):
            k = K.active_features(S, ncells, p, feat)
            K.globals_into(S, p, g)
            af = np.clip(weights.W1[feat[:k]].sum(axis=0, dtype=np.float64) + weights.b1, 0.0, 1.0)
            aq = np.clip(W1q[feat[:k]].sum(axis=0) + b1q, 0, K.QA)
            if weights.pairwise:
                af = af[:n_in] * af[n_in:hidden]
                aq = (aq[:n_in] * aq[n_in:hidden]) // K.QA
            gq = np.clip(np.floor(g.astype(np.float64) * K.QA + 0.5), 0, K.QA)
            xf.append(np.concatenate([af, g]))
            xq.append(np.concatenate([aq, gq]))
    return np.asarray(xf, dtype=np.float64), np.asarray(xq, dtype=np.int64)


def head_layers(weights: NNUEWeights, xf: np.ndarray, xq: np.ndarray, q: Optional[dict] = None) -> dict:
    """Both paths' pre-activations of every head layer (float units; ``"L1b"``,
    ``"L2b"``, ``"Ob"``: ``(integer, float)``) and their values (``"value"``), for the
    head inputs of :func:`head_inputs`.  ``q``: the integer arrays to run (default
    ``weights.quantised()``; another quantisation of the same weights, for comparison)."""
    q = weights.quantised() if q is None else q
    out = {}
    hf, hq = xf, xq
    for key, wf, bf in (("L1", weights.L1w, weights.L1b), ("L2", weights.L2w, weights.L2b)):
        d = q[key + "dq"]
        s = hq @ q[key + "wq"].astype(np.int64) + q[key + "bq"]
        pf = hf @ wf + bf
        # Without the half divisor the quantised bias carries for rounding: the float
        # pre-activation it is compared with has none.
        out[key + "b"] = ((s - d // 2) / (K.QA * d), pf)
        hf, hq = np.clip(pf, 0.0, 1.0), np.clip(s // d, 0, K.QA)
    pf = hf @ weights.Ow + weights.Ob
    pq = (hq @ q["Owq"].astype(np.int64) + int(q["Obq"])) / (K.QA * int(q["Odq"]))
    out["Ob"] = (pq, pf)
    out["value"] = (np.tanh(pq), np.tanh(pf))
    return out


def _errors(layers: dict) -> dict:
    vq, vf = layers["value"]
    d = vq - vf
    return {"rmse": round(float(np.sqrt(np.mean(d ** 2))), 5), "mean": round(float(np.mean(d)), 5),
            "max_abs": round(float(np.max(np.abs(d))), 5)}


def correct_quantisation(weights: NNUEWeights, states: list, max_positions: int = 4096, seed: int = 0) -> tuple:
    """``(weights with their quantisation's bias corrections, report)``: each head layer's
    mean output error measured on (at most ``max_positions`` of) ``states``, every
    perspective, and removed from its quantised bias.  The report gives the integer
    value's error against the float one on those positions before and after."""
    if not states:
        raise ValueError("correct_quantisation: no positions to measure the quantisation error on")
    if max_positions < 1:
        raise ValueError(f"correct_quantisation: max_positions must be at least 1, got {max_positions}")
    if len(states) > max_positions:
        pick = np.random.default_rng(seed).choice(len(states), size=max_positions, replace=False)
        states = [states[i] for i in np.sort(pick)]
    xf, xq = head_inputs(weights, states)
    w = dataclasses.replace(weights, qbias={})
    before = _errors(head_layers(w, xf, xq))
    qbias = {}
    for name in ("L1b", "L2b", "Ob"):  # in order: each on the corrected layers before it
        pq, pf = head_layers(w, xf, xq)[name]
        qbias[name] = -np.mean(pq - pf, axis=0)
        w = dataclasses.replace(w, qbias=dict(qbias))
    after = _errors(head_layers(w, xf, xq))
    report = {"positions": len(states), "rows": int(len(xf)), "before": before, "after": after}
    return w, report


__all__ = ["correct_quantisation", "head_inputs", "head_layers"]
