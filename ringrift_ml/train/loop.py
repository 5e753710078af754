"""The training loop of the spatial network (``TrainConfig`` says what it does).

``fit(data, cfg, out)`` trains on the training games of ``data`` and evaluates on its
held-out games after every epoch; the network it saves (``<out>/model.pt`` + ``.json``)
is the one with the lowest held-out loss of the run - an epoch's weights (the EMA of
the weights when ``ema`` is on) or the SWA average - never simply the last one.

Reproducible and resumable: an epoch's sample order and symmetries come from a
generator seeded by ``(seed, epoch)``; the model, optimiser, EMA, SWA and best weights,
the hard-example losses and the history go into ``<out>/train_state.json`` (+ its tensors)
every ``checkpoint_every`` steps and at every epoch end.  ``fit(..., resume=True)``
continues from there and ends with the same weights as an uninterrupted run (the
learning rate is a pure function of the step, so no scheduler state is needed).

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) the processes join a gloo (CPU)
or NCCL (CUDA) group, every batch is split across them and DDP averages the gradients,
so the run follows the single-process one; rank 0 evaluates, logs and writes files.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..nn.checkpoint import save_net
from ..nn.net import RingNet, count_parameters, net_config
from .checkpoint import load_state, save_state, state_exists, state_record
from .config import TrainConfig
from .dataset import SampleData
from .evaluate import TERMS, evaluate, sample_losses, total_loss
from .monitor import Monitor

MODEL_FILE = "model.pt"
STATE_FILE = "train_state.pt"


@dataclasses.dataclass
class FitResult:
    model_path: Optional[Path]
    best: dict  # held-out figures of the saved network
    history: list  # one entry per epoch (and one for SWA when it ran)
    steps: int
    samples_per_second: float
    stopped_early: bool
    earlier_cpu_seconds: float = 0.0  # CPU of the attempts a resumed run continued (its state's record)


def pick_device(name: str) -> str:
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train config: device = 'cuda' but no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("train config: device = 'mps' but MPS is not available")
    return name


def autocast_for(amp: str, device: str):
    """bf16 autocast on CUDA (``auto`` or ``bf16``) and on the CPU only when asked."""
    if amp == "off" or (amp == "auto" and device != "cuda"):
        return nullcontext
    if device == "cuda" and not torch.cuda.is_bf16_supported():
        return nullcontext
    return lambda: torch.autocast(device_type="cuda" if device == "cuda" else "cpu", dtype=torch.bfloat16)


def lr_at(step: int, cfg: TrainConfig, total_steps: int, steps_per_epoch: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based): linear warmup, then the schedule."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "restarts":
        period = max(1, cfg.restart_epochs * steps_per_epoch)
        frac = ((step - cfg.warmup_steps) % period) / period
    else:
        frac = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def data_fingerprint(data: SampleData) -> str:
    """A digest of what is learned (so a resume on other data is refused)."""
    h = hashlib.sha256()
    for a in (data.planes, data.legal, data.policy, data.played, data.value, data.game, data.weight):
        # legal indices hash as int64 whichever width holds them (the lake's windows
        # keep them as int32), so a digest does not change with the storage
        h.update(np.ascontiguousarray(a, dtype=np.int64 if a is data.legal else None).tobytes())
    h.update(data.board.encode())
    return h.hexdigest()[:16]


def _float_state(net) -> dict:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _ema_update(ema: dict, net, decay: float) -> None:
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
            else:
                ema[k].copy_(v)


class _Dist:
    """The process group under torchrun, or a single process."""

    def __init__(self, device: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if device == "cuda" else "gloo")
        self.main = self.rank == 0

    def wrap(self, net, device: str):
        if self.world == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[torch.cuda.current_device()] if device == "cuda" else None)

    def gather_pairs(self, idx: np.ndarray, values: np.ndarray) -> list:
        """Every rank's ``(indices, values)`` of this step (hard mining needs them all,
        so that every rank draws the same next epoch)."""
        if self.world == 1:
            return [(idx, values)]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, (idx, values))
        return out

    def agree(self, net) -> dict:
        """Check that every rank ends with the same parameters (DDP keeps them in step;
        batch-norm statistics are rank 0's, broadcast at every forward pass)."""
        h = hashlib.sha256()
        for k, v in sorted(net.named_parameters()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        digests = [None] * self.world
        torch.distributed.all_gather_object(digests, h.hexdigest())
        if len(set(digests)) != 1:
            raise RuntimeError(f"distributed training: ranks ended with different weights {digests}")
        return {"world_size": self.world, "backend": torch.distributed.get_backend(), "weights": digests[0][:16]}

    def broadcast_obj(self, obj):
        if self.world == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]


def epoch_order(data: SampleData, train_idx: np.ndarray, cfg: TrainConfig, epoch: int,
                hard_loss: Optional[np.ndarray]) -> tuple:
    """``(sample indices, symmetry per sample)`` of one epoch: a permutation of the
    training samples (or a weighted draw when samples carry recency weights), with
    ``hard_fraction`` of it replaced by the highest-loss samples of the last epoch when
    hard mining is on."""
    rng = np.random.default_rng([cfg.seed, epoch])
    n = len(train_idx)
    w = data.weight[train_idx]
    if np.allclose(w, w[0]):
        order = train_idx[rng.permutation(n)]
    else:
        order = train_idx[rng.choice(n, size=n, replace=True, p=w / w.sum())]
    if cfg.hard_mining and hard_loss is not None and np.isfinite(hard_loss).any():
        k = int(cfg.hard_fraction * n)
        seen = np.where(np.isfinite(hard_loss), hard_loss, -np.inf)
        hard = train_idx[np.argsort(-seen, kind="stable")[:k]]
        order = np.concatenate([order[: n - k], hard])
        order = order[rng.permutation(n)]
    syms = rng.integers(0, data.n_symmetries, size=n) if cfg.augment and data.n_symmetries > 1 else None
    return order, syms


def _resume_conflict(info: dict, cfg: TrainConfig, fingerprint, where) -> Optional[str]:
    # Compared as configs, so that a state saved before an option existed resumes
    # when the option is at its default (and under another thread count).
    if not TrainConfig.from_dict(info.get("train_config") or {}, f"resume {where}").same_training(cfg):
        return f"resume {where}: the run was started with another training config"
    if info.get("data") != fingerprint:
        return f"resume {where}: the run was started on other samples (data {info.get('data')}, now {fingerprint})"
    return None


def resume_conflict(out: Path, cfg: TrainConfig, data: SampleData) -> Optional[tuple]:
    """Why the training state saved in run folder ``out`` cannot be resumed with ``cfg``
    on ``data``, with the CPU seconds that state records: ``(reason, cpu_seconds)``;
    None when there is no state or ``fit(..., resume=True)`` would continue it."""
    path = Path(out) / STATE_FILE
    if not state_exists(path):
        return None
    info = state_record(path)
    why = _resume_conflict(info, cfg, data_fingerprint(data), path)
    return None if why is None else (why, float(info.get("cpu_seconds", 0.0)))


def fit(data: SampleData, cfg: TrainConfig, out: Optional[Path], resume: bool = False,
        extra_meta: Optional[dict] = None, progress: bool = False,
        on_step: Optional[Callable[[int], None]] = None, init: Optional[Path] = None) -> FitResult:
    """Train a network on ``data`` (see the module docstring).  ``out`` receives the
    model, the training state and the TensorBoard events (None: nothing is written and
    ``resume`` is impossible).  ``on_step(global_step)`` is called after every
    optimiser step (progress reporting; raising from it interrupts the run like a kill
    would).  ``init``: a checkpoint whose weights the network starts from (warm start;
    it must have this run's board and size preset)."""
    device = pick_device(cfg.device)
    if device == "cpu":
        torch.set_num_threads(cfg.threads)
    dist = _Dist(device)
    torch.manual_seed(cfg.seed)
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ValueError("fit: resume needs the run folder (out)")
    train_idx, held_idx = data.split(cfg.holdout, cfg.seed)
    if len(train_idx) == 0 or len(held_idx) == 0:
        raise ValueError(f"fit: {len(train_idx)} training and {len(held_idx)} held-out samples; "
                         "need games on both sides (more games, or another holdout share)")
    weights = {"policy": cfg.policy_weight, "value": cfg.value_weight, "ownership": cfg.ownership_weight,
               "score": cfg.score_weight}
    ncfg = net_config(data.board, cfg.preset)
    net = RingNet(ncfg).to(device)
    if init is not None:
        from ..nn.checkpoint import load_net

        start, _ = load_net(init)
        if start.cfg != ncfg:
            raise ValueError(f"fit: init {init} is a {start.cfg.board} network of another size or board "
                             f"({start.cfg.to_dict()}), this run trains {ncfg.to_dict()}")
        net.load_state_dict(start.state_dict())
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train_idx) / cfg.batch_size))
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    fingerprint = data_fingerprint(data)
    ema = _float_state(net) if cfg.ema else None
    ema_steps = 0
    swa, swa_count = None, 0
    best_state, best, best_epoch, bad_epochs = None, None, -1, 0
    history: list = []
    epoch, step_in_epoch, global_step = 0, 0, 0
    hard_loss = np.full(len(train_idx), np.nan) if cfg.hard_mining else None
    stopped_early = False
    resumed_sums = None
    resumed_hard = epoch_hard = None
    sums: dict = {}
    count = 0
    state_path = out / STATE_FILE if out is not None else None
    # This process's CPU from here on, plus what the state says earlier attempts spent:
    # the loop counts a resumed generation's training once, not only the part that ran
    # after the kill.
    cpu0, earlier_cpu = time.process_time(), 0.0
    if resume and state_exists(state_path):
        tensors, info = load_state(state_path)
        why = _resume_conflict(info, cfg, fingerprint, state_path)
        if why is not None:
            raise ValueError(why)
        net.load_state_dict(tensors["model"])
        opt.load_state_dict(tensors["opt"])
        ema = tensors.get("ema")
        swa = tensors.get("swa")
        best_state = tensors.get("best")
        if cfg.hard_mining:
            hard_loss = tensors["hard_loss"].numpy().copy()
            resumed_hard = tensors["hard_epoch"].numpy().copy()
        epoch, step_in_epoch, global_step = info["epoch"], info["step_in_epoch"], info["global_step"]
        ema_steps, swa_count, best_epoch, bad_epochs = (info["ema_steps"], info["swa_count"], info["best_epoch"],
                                                       info["bad_epochs"])
        history, best, stopped_early = info["history"], info["best"], info["stopped_early"]
        earlier_cpu = float(info.get("cpu_seconds", 0.0))
        resumed_sums = (info["epoch_sums"], info["epoch_count"]) if step_in_epoch else None
    model = dist.wrap(net, device)
    autocast = autocast_for(cfg.amp, device)
    monitor = Monitor(out, cfg.tensorboard, cfg.prometheus_port,
                      {"board": data.board}) if dist.main else None
    eval_net = RingNet(ncfg).to(device)
    bar = None
    if progress and dist.main:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, initial=global_step, unit="step", desc=f"train {data.board}")

    def checkpoint(at_epoch: int, at_step: int) -> None:
        if state_path is None or not dist.main:
            return
        tensors = {"model": net.state_dict(), "opt": opt.state_dict()}
        for k, v in (("ema", ema), ("swa", swa), ("best", best_state)):
            if v is not None:
                tensors[k] = v
        if hard_loss is not None:
            tensors["hard_loss"] = torch.from_numpy(hard_loss.copy())
            tensors["hard_epoch"] = torch.from_numpy((epoch_hard if epoch_hard is not None else hard_loss).copy())
        save_state(state_path, tensors, {
            "train_config": cfg.to_dict(), "data": fingerprint, "epoch": at_epoch, "step_in_epoch": at_step,
            "global_step": global_step, "ema_steps": ema_steps, "swa_count": swa_count, "best_epoch": best_epoch,
            "bad_epochs": bad_epochs, "history": history, "best": best, "stopped_early": stopped_early,
            "epoch_sums": sums, "epoch_count": count, "cpu_seconds": earlier_cpu + time.process_time() - cpu0})

    def judge(state: dict, label) -> dict:
        eval_net.load_state_dict(state)
        return evaluate(eval_net, data, held_idx, weights, batch_size=max(256, cfg.batch_size), device=device)

    samples_seen, t_train = 0, 0.0
    try:
        while epoch < cfg.epochs and not stopped_early and (not cfg.max_steps or global_step < cfg.max_steps):
            # The order follows the losses as they were when the epoch began (a resumed
            # epoch must draw the same order although its losses moved on since).
            if hard_loss is not None and not (resumed_hard is not None and step_in_epoch):
                epoch_hard = hard_loss.copy()
            elif hard_loss is not None:
                epoch_hard = resumed_hard
            resumed_hard = None
            order, syms = epoch_order(data, train_idx, cfg, epoch, epoch_hard)
            pos_in_train = None
            if hard_loss is not None:
                pos_in_train = np.empty(len(data), dtype=np.int64)
                pos_in_train[train_idx] = np.arange(len(train_idx))
            sums = {k: 0.0 for k in (*TERMS, "loss")}
            count = 0
            if resumed_sums is not None:
                sums, count = dict(resumed_sums[0]), resumed_sums[1]
                resumed_sums = None
            t0 = time.perf_counter()
            model.train()
            for s in range(step_in_epoch, steps_per_epoch):
                if cfg.max_steps and global_step >= cfg.max_steps:
                    break
                idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                sy = None if syms is None else syms[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                if dist.world > 1:
                    if len(idx) < dist.world:
                        continue  # too small to split: every rank skips it alike
                    idx = idx[dist.rank::dist.world]
                    sy = None if sy is None else sy[dist.rank::dist.world]
                b = data.batch(idx, sy, device)
                for g in opt.param_groups:
                    g["lr"] = lr_at(global_step, cfg, total_steps, steps_per_epoch)
                if cfg.value_target_mix > 0 and "search_value" in b:
                    m = cfg.value_target_mix
                    b["value"] = (1 - m) * b["value"] + m * b["search_value"]
                with autocast():
                    outp = model(b["planes"], b["globals"], value_trunk_grad=cfg.value_trunk_grad)
                terms = sample_losses(outp, b, cfg.soft_targets, cfg.label_smoothing)
                per_sample = total_loss(terms, weights)
                loss = per_sample.mean()
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"training loss is {float(loss)} at step {global_step} "
                                             "(lower lr, or check the samples)")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                opt.step()
                global_step += 1
                if ema is not None:
                    ema_steps += 1
                    _ema_update(ema, net, min(cfg.ema_decay, (1 + ema_steps) / (10 + ema_steps)))
                if hard_loss is not None:
                    seen = dist.gather_pairs(idx, per_sample.detach().float().cpu().numpy())
                    for part_idx, part_loss in seen:
                        hard_loss[pos_in_train[part_idx]] = part_loss
                for k in TERMS:
                    sums[k] += float(terms[k].detach().sum())
                sums["loss"] += float(per_sample.detach().sum())
                count += len(idx)
                samples_seen += len(idx)
                if monitor is not None:
                    monitor.step(global_step, opt.param_groups[0]["lr"], loss.item(), len(idx))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}", epoch=epoch)
                if cfg.checkpoint_every and global_step % cfg.checkpoint_every == 0:
                    checkpoint(epoch, s + 1)
                if on_step is not None:
                    on_step(global_step)
            seconds = time.perf_counter() - t0
            t_train += seconds
            train_means = {k: v / max(1, count) for k, v in sums.items()}
            # epoch end: SWA accumulation, evaluation, best-keeping and early stopping
            if cfg.swa and epoch >= int(cfg.swa_start * cfg.epochs):
                cur = _float_state(net)
                if swa is None:
                    swa, swa_count = cur, 1
                else:
                    swa_count += 1
                    for k, v in cur.items():
                        if v.dtype.is_floating_point:
                            swa[k].add_((v - swa[k]) / swa_count)
                        else:
                            swa[k].copy_(v)
            if dist.main:
                cand = ema if ema is not None else _float_state(net)
                held = judge(cand, epoch)
                entry = {"epoch": epoch, "kind": "ema" if ema is not None else "weights", "steps": global_step,
                         "train": train_means, "heldout": _brief(held), "seconds": seconds,
                         "samples_per_second": count / seconds if seconds > 0 else None,
                         "lr": opt.param_groups[0]["lr"]}
                history.append(entry)
                if best is None or held["loss"] < best["loss"] - 1e-9:
                    best, best_state, best_epoch, bad_epochs = _brief(held), copy.deepcopy(cand), epoch, 0
                else:
                    bad_epochs += 1
                if cfg.early_stopping and bad_epochs >= cfg.early_stopping:
                    stopped_early = True
                monitor.epoch(epoch, train_means, held, seconds, entry["samples_per_second"] or 0.0)
            stopped_early = dist.broadcast_obj(stopped_early)
            epoch, step_in_epoch = epoch + 1, 0
            checkpoint(epoch, 0)
        if dist.main and swa is not None and not any(h.get("kind") == "swa" for h in history):
            _update_bn(eval_net, swa, data, train_idx, cfg, device)
            state = _float_state(eval_net)
            held = judge(state, "swa")
            history.append({"epoch": None, "kind": "swa", "averaged_epochs": swa_count, "steps": global_step,
                            "heldout": _brief(held)})
            if held["loss"] < best["loss"] - 1e-9:
                best, best_state, best_epoch = _brief(held), state, "swa"
            checkpoint(epoch, 0)
    finally:
        if bar is not None:
            bar.close()
        if monitor is not None:
            monitor.close()
    distributed = dist.agree(net) if dist.world > 1 else None
    model_path = None
    if dist.main and out is not None and best_state is not None:
        eval_net.load_state_dict(best_state)
        final = evaluate(eval_net, data, held_idx, weights, batch_size=max(256, cfg.batch_size), device=device)
        meta = {"best_epoch": best_epoch, "heldout": _brief(final), "history": history,
                "calibration_bins": final.get("calibration_bins"), "steps": global_step,
                "parameters": count_parameters(eval_net), "data": {"fingerprint": fingerprint, **data.source},
                "samples": {"train": int(len(train_idx)), "heldout": int(len(held_idx)),
                            "train_games": int(len(np.unique(data.game[train_idx]))),
                            "heldout_games": int(len(np.unique(data.game[held_idx])))},
                "value_temperature": final.get("value_temperature"), "distributed": distributed,
                **(extra_meta or {})}
        model_path = save_net(eval_net.cpu(), out / MODEL_FILE, cfg.to_dict(), meta)
        best = _brief(final)
    return FitResult(model_path=model_path, best=best or {}, history=history, steps=global_step,
                     samples_per_second=samples_seen / t_train if t_train > 0 else 0.0,
                     stopped_early=stopped_early, earlier_cpu_seconds=earlier_cpu)


def _brief(held: dict) -> dict:
    return {k: v for k, v in held.items() if k != "calibration_bins"}


@torch.no_grad()
def _update_bn(net, state: dict, data: SampleData, train_idx: np.ndarray, cfg: TrainConfig, device: str,
               max_batches: int = 50) -> None:
    """Recompute batch-norm statistics for averaged weights (they are not an average)."""
    net.load_state_dict(state)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
    net.train()
    rng = np.random.default_rng([cfg.seed, 1 << 20])
    order = train_idx[rng.permutation(len(train_idx))]
    for a in range(0, min(len(order), max_batches * cfg.batch_size), cfg.batch_size):
        b = data.batch(order[a:a + cfg.batch_size], None, device)
        net(b["planes"], b["globals"])
    for m in bns:
        m.momentum = 0.1
    net.eval()


def describe(meta: dict) -> str:
    """A human summary of a network checkpoint's metadata (``ringrift model info``)."""
    nc = meta["net_config"]
    lines = [f"network   ringnet {nc.board}: {nc.blocks} blocks x {nc.channels} channels, "
             f"{meta.get('parameters', '?')} parameters",
             f"features  {meta.get('features')}"]
    held = meta.get("heldout") or {}
    if held:
        lines.append(f"held-out  policy CE {held.get('policy_ce', float('nan')):.3f} (uniform "
                     f"{held.get('policy_ce_uniform', float('nan')):.3f}, targets' entropy "
                     f"{held.get('policy_target_entropy', float('nan')):.3f}, gap closed "
                     f"{held.get('policy_gap_closed', float('nan')):.3f}), top-1 {held.get('top1', 0):.3f} "
                     f"(uniform {held.get('top1_uniform', 0):.3f}), value MSE {held.get('value_mse', float('nan')):.3f}"
                     f" (zero {held.get('value_mse_zero', float('nan')):.3f}), ECE {held.get('value_ece', float('nan')):.3f}"
                     f" ({held.get('value_ece_scaled', float('nan')):.3f} at T={held.get('value_temperature', 1):.2f})")
    lines.append(f"best      epoch {meta.get('best_epoch')} of {len(meta.get('history') or [])} evaluations, "
                 f"{meta.get('steps')} steps")
    s = meta.get("samples") or {}
    if s:
        lines.append(f"samples   {s.get('train')} train ({s.get('train_games')} games), "
                     f"{s.get('heldout')} held out ({s.get('heldout_games')} games)")
    lines.append(f"data      {json.dumps(meta.get('data'), sort_keys=True)}")
    tc = meta.get("train_config") or {}
    lines.append("train     " + ", ".join(f"{k}={tc[k]}" for k in sorted(tc)))
    return "\n".join(lines)


def cpu_per_step(data: SampleData, cfg: TrainConfig, steps: int = 8, warmup: int = 4) -> float:
    """CPU seconds (this process, all its threads) per optimiser step of ``cfg`` on
    ``data``: ``warmup + steps`` real steps of a throwaway run whose checkpoints go to a
    temporary directory, read between steps after the first ``warmup`` (start-up is not
    a rate; as many epochs as steps, so that data of under one batch still makes them).
    The held-out evaluation at an epoch's end is not in it (on data of several batches):
    a rate from this runs a little ahead of a whole training's positions per CPU second.
    ``data`` needs samples on each side of a 5% hold-out split."""
    import tempfile

    if steps < 1 or warmup < 1:
        raise ValueError(f"cpu_per_step: steps and warmup must be >= 1, got {steps} and {warmup}")
    probe = dataclasses.replace(cfg, max_steps=warmup + steps, epochs=max(cfg.epochs, warmup + steps), early_stopping=0,
                                checkpoint_every=10**9, holdout=0.05)
    marks: dict = {}

    def mark(step: int) -> None:
        me = os.times()
        marks.setdefault(step, me.user + me.system)

    with tempfile.TemporaryDirectory() as tmp:
        fit(data, probe, Path(tmp) / "probe", progress=False, on_step=mark)
    first, last = warmup, max(marks, default=0)
    if last <= first:
        raise ValueError(f"cpu_per_step: the probe ran {last} step(s), fewer than warmup + 1 ({warmup + 1}); "
                         "the data is too small for one batch")
    return (marks[last] - marks[first]) / (last - first)


__all__ = ["FitResult", "MODEL_FILE", "STATE_FILE", "autocast_for", "cpu_per_step", "data_fingerprint", "describe", "epoch_order",
           "fit", "lr_at", "pick_device", "resume_conflict"]
