"""Losses and held-out evaluation of the spatial network.

One definition of every loss term serves training and evaluation
(:func:`sample_losses`: per-sample tensors), so the held-out figures are exactly the
quantities optimised.  :func:`evaluate` adds what a researcher compares against:

* policy cross-entropy against the sample's target (the search distribution where the
  record has one, else the move played) next to the uniform policy's (``log n_legal``)
  and the targets' own entropy ``H`` (the floor no network passes), with the share of
  the gap closed ``(CE_uniform - CE) / (CE_uniform - H)``, and top-1 agreement with the
  target's best move next to uniform's expectation;
* value MSE over the seats of the game next to predicting 0;
* calibration of the mover's value as an expected score ``(v + 1) / 2`` (for two
  players: the win probability): ECE and MCE over equal-width bins, the temperature
  ``T`` of ``sigmoid(2 atanh(v) / T)`` fitted on half the held-out games, and the ECE
  after scaling measured on the other half (so the "after" figure is not fitted to
  itself).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .calibration import calibration_report

TERMS = ("policy", "value", "ownership", "score")


def policy_targets(batch: dict, soft: bool, label_smoothing: float) -> torch.Tensor:
    """``[B, L]`` target distribution over each sample's legal list (0 on padding)."""
    mask = batch["mask"].float()
    if soft:
        target = batch["target"]
    else:
        target = F.one_hot(batch["played"], mask.shape[1]).float()
    if label_smoothing > 0:
        n = mask.sum(1, keepdim=True)
        target = (1 - label_smoothing) * target + label_smoothing * mask / n
    return target * mask


def sample_losses(out: dict, batch: dict, soft: bool = True, label_smoothing: float = 0.0) -> dict:
    """Per-sample loss terms ``{term: [B]}`` and the masked policy log-probabilities."""
    mask = batch["mask"]
    logits = out["policy"].float().gather(1, batch["legal"]).masked_fill(~mask, float("-inf"))
    logp = torch.log_softmax(logits, dim=1).masked_fill(~mask, 0.0)
    target = policy_targets(batch, soft, label_smoothing)
    policy = -(target * logp).sum(1)
    vm = batch["value_mask"].float()
    n_slots = vm.sum(1)
    value = (((out["value"].float() - batch["value"]) ** 2) * vm).sum(1) / n_slots
    score = (((out["score"].float() - batch["score"]) ** 2) * vm).sum(1) / n_slots
    own_t = batch["ownership"]
    own = F.cross_entropy(out["ownership"].float(), own_t, ignore_index=-100, reduction="none")
    cells = (own_t != -100).sum(dim=(1, 2)).clamp(min=1)
    ownership = own.sum(dim=(1, 2)) / cells
    return {"policy": policy, "value": value, "ownership": ownership, "score": score, "logp": logp}


def total_loss(terms: dict, weights: dict) -> torch.Tensor:
    """Per-sample weighted sum of the loss terms."""
    return sum(weights[k] * terms[k] for k in TERMS)


@torch.no_grad()
def predict(net, data, idx: np.ndarray, batch_size: int = 256, device: str = "cpu", sym: Optional[int] = None):
    """Yield ``(batch indices, batch, outputs)`` in eval mode (optionally under symmetry ``sym``)."""
    net.eval()
    for a in range(0, len(idx), batch_size):
        part = idx[a:a + batch_size]
        syms = None if sym is None else np.full(len(part), sym)
        b = data.batch(part, syms, device)
        yield part, b, net(b["planes"], b["globals"])


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = mce = 0.0
    for k in range(bins):
        sel = which == k
        if sel.any():
            gap = abs(float(p[sel].mean()) - float(y[sel].mean()))
            ece += sel.mean() * gap
            mce = max(mce, gap)
    return float(ece), float(mce)


def calibration(v: np.ndarray, u: np.ndarray, game: np.ndarray) -> dict:
    """Calibration of mover values ``v`` against outcomes ``u`` (both in [-1, 1]);
    ``game`` splits the positions into two halves for the fitted-temperature figure."""
    z = np.arctanh(np.clip(v.astype(np.float64), -0.999999, 0.999999))
    rep = calibration_report(z, u)
    y = (u + 1) / 2
    half = (game % 2) == 0
    scaled = []
    for fit, test in ((half, ~half), (~half, half)):
        if fit.sum() == 0 or test.sum() == 0:
            continue
        t = calibration_report(z[fit], u[fit])["temperature"]
        scaled.append((test.sum(), _ece(1 / (1 + np.exp(-np.clip(2 * z[test] / t, -40, 40))), y[test])[0]))
    ece_scaled = (sum(n * e for n, e in scaled) / sum(n for n, _ in scaled)) if scaled else rep["ece"]
    return {"ece": rep["ece"], "mce": rep["mce"], "temperature": rep["temperature"],
            "overconfidence": rep["overconfidence"],
            "temperature_at_bound": rep["temperature_at_bound"], "ece_scaled": float(ece_scaled),
            "bins": rep["bins"]}


def evaluate(net, data, idx: np.ndarray, weights: dict, batch_size: int = 256, device: str = "cpu",
             with_calibration: bool = True) -> dict:
    """Held-out figures of ``net`` on samples ``idx`` (module docstring)."""
    if len(idx) == 0:
        raise ValueError("evaluate: no held-out samples")
    sums = {k: 0.0 for k in TERMS}
    n = 0
    top1 = top1_uniform = ce_uniform = value_zero = target_h = 0.0
    slots = 0.0
    mover_v, mover_u = [], []
    for part, b, out in predict(net, data, idx, batch_size, device):
        terms = sample_losses(out, b, soft=True, label_smoothing=0.0)
        for k in TERMS:
            sums[k] += float(terms[k].sum())
        mask = b["mask"]
        n_legal = mask.sum(1).float()
        ce_uniform += float(torch.log(n_legal).sum())
        t = b["target"].float() * mask
        target_h += float(-(t * torch.log(t.clamp_min(1e-30))).sum())
        best_t = b["target"].masked_fill(~mask, -1).argmax(1)
        best_p = terms["logp"].masked_fill(~mask, float("-inf")).argmax(1)
        top1 += float((best_t == best_p).sum())
        top1_uniform += float((1 / n_legal).sum())
        vm = b["value_mask"].float()
        value_zero += float(((b["value"] ** 2) * vm).sum(1).div(vm.sum(1)).sum())
        slots += float(vm.sum())
        mover_v.append(out["value"][:, 0].float().cpu().numpy())
        mover_u.append(b["value"][:, 0].cpu().numpy())
        n += len(part)
    res = {f"{k}_loss": sums[k] / n for k in TERMS}
    res["loss"] = sum(weights[k] * res[f"{k}_loss"] for k in TERMS)
    res.update({
        "samples": n,
        "policy_ce": res["policy_loss"], "policy_ce_uniform": ce_uniform / n,
        "top1": top1 / n, "top1_uniform": top1_uniform / n,
        "value_mse": res["value_loss"], "value_mse_zero": value_zero / n,
        "policy_target_entropy": target_h / n,
    })
    # The learnable part of the policy: a network can at best reach the targets' own
    # entropy H, a uniform policy scores CE_uniform; the share of that gap it closed.
    gap = res["policy_ce_uniform"] - res["policy_target_entropy"]
    res["policy_gap_closed"] = (res["policy_ce_uniform"] - res["policy_ce"]) / gap if gap > 1e-9 else 0.0
    # The trivial baseline's loss under the same weights (uniform policy, value 0; the
    # auxiliary heads do not count: a baseline has none, so compare like with like).
    res["baseline_loss"] = weights["policy"] * res["policy_ce_uniform"] + weights["value"] * res["value_mse_zero"]
    res["core_loss"] = weights["policy"] * res["policy_ce"] + weights["value"] * res["value_mse"]
    if with_calibration:
        cal = calibration(np.concatenate(mover_v), np.concatenate(mover_u), data.game[idx])
        res.update({"value_ece": cal["ece"], "value_mce": cal["mce"], "value_temperature": cal["temperature"],
                    "value_ece_scaled": cal["ece_scaled"], "value_overconfidence": cal["overconfidence"],
                    "calibration_bins": cal["bins"]})
    for k, v in list(res.items()):
        if isinstance(v, float) and not math.isfinite(v):
            raise FloatingPointError(f"evaluate: held-out {k} is {v}")
    return res


__all__ = ["TERMS", "calibration", "evaluate", "policy_targets", "predict", "sample_losses", "total_loss"]
