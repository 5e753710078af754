"""Training and inference speed of the spatial network, per size preset (JSON lines).

    python benchmarks/train_bench.py                       # square8: every preset, 1 and 2 threads
    python benchmarks/train_bench.py --boards square8 hexagonal --presets small medium
    python benchmarks/train_bench.py --device cuda --peak-tflops 989   # bf16 and model FLOPs utilisation

Per (board, preset, device, threads): training samples/s (full steps: batch assembly
with symmetry augmentation, forward, all loss terms, backward, AdamW, EMA) and
inference positions/s at batch 1, 16, 64 and 256 (forward only, eval mode).  Samples
come from random games of the board (the speed does not depend on how good the moves
are).  On CUDA the same runs in bf16 autocast, and with ``--peak-tflops`` the model
FLOPs utilisation (forward FLOPs counted by ``torch.utils.flop_counter``; training
counts 3x forward) is reported.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pyarrow as pa
import torch


def bench_samples(board: str, games: int = 4):
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nn.samples import SAMPLE_SCHEMA, game_samples
    from ringrift_ml.selfplay import SelfplayConfig, play_one
    from ringrift_ml.train.dataset import from_table

    small = board in ("square8", "hex8")
    cfg = SelfplayConfig(board=board, players=("random", "random"), games=games, seed=5)
    rows = []
    for i in range(games):
        rows.extend(game_samples(play_one(cfg, i), symmetries=small)[: 400 if small else 120])
    return from_table(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA), board,
                      sym_perms=symmetry_perms(board) if small else None)


def forward_flops(net, batch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        net(batch["planes"][:1], batch["globals"][:1])
    return float(fc.get_total_flops())


def run(board: str, preset: str, device: str, threads: int, bf16: bool, seconds: float, peak: float | None) -> dict:
    from ringrift_ml.nn.net import RingNet, count_parameters, net_config
    from ringrift_ml.train.evaluate import sample_losses, total_loss
    from ringrift_ml.train.loop import _ema_update, _float_state

    torch.set_num_threads(threads)
    data = _DATA[board]
    net = RingNet(net_config(board, preset)).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    ema = _float_state(net)
    w = {"policy": 1.0, "value": 1.0, "ownership": 0.1, "score": 0.1}
    cast = (lambda: torch.autocast(device_type=device, dtype=torch.bfloat16)) if bf16 else \
        (lambda: torch.autocast(device_type="cpu", enabled=False))
    rng = np.random.default_rng(0)
    n = len(data)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    out = {"board": board, "preset": preset, "device": device, "threads": threads, "dtype": "bf16" if bf16 else "fp32",
           "parameters": count_parameters(net)}
    flops = forward_flops(net, data.batch(np.arange(2), None, device))
    out["forward_mflops_per_position"] = round(flops / 1e6, 2)
    # training
    bs = 128
    done = 0
    net.train()
    t0 = time.perf_counter()
    steps = 0
    while time.perf_counter() - t0 < seconds or steps < 3:
        idx = rng.integers(0, n, bs)
        syms = rng.integers(0, data.n_symmetries, bs) if data.n_symmetries > 1 else None
        b = data.batch(idx, syms, device)
        with cast():
            o = net(b["planes"], b["globals"])
        loss = total_loss(sample_losses(o, b), w).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _ema_update(ema, net, 0.99)
        done += bs
        steps += 1
    sync()
    sps = done / (time.perf_counter() - t0)
    out["train_samples_per_s"] = round(sps, 1)
    if peak:
        out["train_mfu"] = round(3 * flops * sps / (peak * 1e12), 5)
    # inference
    net.eval()
    for bsz in (1, 16, 64, 256):
        b = data.batch(rng.integers(0, n, bsz), None, device)
        with torch.no_grad(), cast():
            net(b["planes"], b["globals"])  # warm up
            sync()
            t0 = time.perf_counter()
            k = 0
            while time.perf_counter() - t0 < seconds / 2 or k < 3:
                net(b["planes"], b["globals"])
                k += 1
            sync()
        pps = k * bsz / (time.perf_counter() - t0)
        out[f"infer_b{bsz}_positions_per_s"] = round(pps, 1)
        if peak:
            out[f"infer_b{bsz}_mfu"] = round(flops * pps / (peak * 1e12), 5)
    return out


_DATA: dict = {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boards", nargs="*", default=["square8"])
    ap.add_argument("--presets", nargs="*", default=["tiny", "small", "medium", "large"])
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--seconds", type=float, default=4.0, help="time per measurement")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's peak (for MFU)")
    args = ap.parse_args(argv)
    for board in args.boards:
        _DATA[board] = bench_samples(board)
        for preset in args.presets:
            modes = [(t, False) for t in args.threads] if args.device == "cpu" else [(1, False), (1, True)]
            for threads, bf16 in modes:
                print(json.dumps(run(board, preset, args.device, threads, bf16, args.seconds, args.peak_tflops)),
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
