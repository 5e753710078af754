"""What would a loop generation have scored with other training options?  Its candidate
retrained on the same window, then its gate's games replayed.

    python benchmarks/retrain_gate.py --storage S --partition 'square19|2' --generation 0 \
        --train '{"value_target_mix": 0.5}' --games 36 --out DIR

The generation's registry row gives everything but the training options: the loop
configuration it ran with, its sample set (the window ends there), the training seed,
the ``train_share`` step cap (the one its candidate trained with, as positions; from
the recorded selfplay CPU where the candidate is gone), the gate's opponent (the
bootstrap player or the best network of the time) and the gate's game seeds.  The
candidate is trained with the row's configuration plus ``--train`` (TrainConfig
overrides) in ``DIR``, and plays ``--games`` games against the gate's opponent at the
loop's simulations, seats alternating, with the gate's seeds and random openings: with
``--train '{}'`` it replays the loop's own candidate (the same games, as many as the
gate played), so options are compared on the same data and the same games.  The lake
is only read.  One JSON line: the training's CPU and held-out figures, and the score
with its 95% interval.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", type=Path, required=True, help="the loop's lake root")
    ap.add_argument("--partition", required=True, help="'board|players'")
    ap.add_argument("--generation", type=int, required=True)
    ap.add_argument("--train", default="{}", help="TrainConfig overrides as JSON, on top of the loop's")
    ap.add_argument("--games", type=int, default=48, help="gate games to replay (the gate's seeds)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", type=Path, required=True, help="directory of the retrained candidate")
    args = ap.parse_args(argv)

    from ringrift_ml.arena.match import head_to_head
    from ringrift_ml.lake.layout import Partition
    from ringrift_ml.lake.store import LakeStore
    from ringrift_ml.loop import LoopConfig, registry
    from ringrift_ml.loop.generations import generation_states
    from ringrift_ml.loop.run import gate_players, gate_seed, train_budget
    from ringrift_ml.nn.checkpoint import read_net
    from ringrift_ml.train.dataset import from_lake
    from ringrift_ml.train.loop import fit

    try:
        part = Partition.parse(args.partition)
        over = json.loads(args.train)
        if not isinstance(over, dict):
            raise ValueError(f"--train: a JSON object of TrainConfig fields, got {args.train!r}")
        if args.games < 1:
            raise ValueError(f"--games: must be positive, got {args.games}")
        store = LakeStore.open(args.storage)
        row = generation_states(registry(store, part.board, part.players)).get(args.generation)
        if row is None or not row.get("sample_set_id") or not row.get("gate_opponent"):
            raise ValueError(f"{args.partition} g{args.generation}: no registry row with a sample set and a gate")
        d = json.loads(row["config"])
        cfg = LoopConfig.from_dict({**d, "train": {**(d.get("train") or {}), **over}})
    except (ValueError, json.JSONDecodeError) as e:
        print(f"retrain_gate: {e}", file=sys.stderr)
        return 2
    g = args.generation
    best = None
    if row.get("parent_id"):  # warm start from the best the loop started from
        best = next((r for r in generation_states(registry(store, part.board, part.players)).values()
                     if r["model_id"] == row["parent_id"]), None)
    data = from_lake(store, cfg.board, cfg.players, window=cfg.window, recency=cfg.recency,
                     upto=row["sample_set_id"], window_positions=cfg.window_positions)
    # The loop's candidate trained within a budget measured in CPU (``train_share``),
    # which a rerun would measure differently: its recorded step budget is the budget
    # here (in positions, so that another batch size draws as many), and only without a
    # candidate checkpoint is the budget recomputed from the registry.
    saved = (read_net(store.root / row["path"])[1].get("train_config") or {}) if row.get("path") and (
        store.root / row["path"]).is_file() else None
    if saved is not None:
        positions = saved["max_steps"] * saved["batch_size"] if saved.get("max_steps") else None
    else:
        budget = train_budget(store, cfg, g, row.get("selfplay_cpu_seconds"))
        positions = budget["positions"] if budget else None
    tcfg = cfg.train_config(seed=cfg.seed + g, warm=best is not None, window_positions=len(data),
                            budget_positions=positions)
    tcfg = dataclasses.replace(tcfg, threads=args.threads)
    t0 = time.process_time()
    res = fit(data, tcfg, args.out, resume=True, progress=False,
              init=store.root / best["path"] if best else None)
    train_cpu = time.process_time() - t0
    held = res.best or {}
    best_epoch = read_net(res.model_path)[1].get("best_epoch")

    t1 = time.process_time()
    (cand, cb), (opp, ob), opp_spec = gate_players(store, cfg, g, Path(res.model_path), best)
    out = head_to_head(cand, opp, cb, ob, cfg.board, args.games, seed=gate_seed(cfg, g),
                       concurrency=cfg.batch_games, random_opening=cfg.gate_random_opening, progress=False,
                       num_players=cfg.players)
    print(json.dumps({
        "bench": "retrain_gate", "partition": args.partition, "generation": g, "train": over,
        "samples": len(data), "train_cpu_seconds": round(train_cpu, 1), "epochs": len(res.history),
        "best_epoch": best_epoch, "max_steps": tcfg.max_steps,
        "heldout_value_mse": round(held.get("value_mse", float("nan")), 4),
        "heldout_policy_ce": round(held.get("policy_ce", float("nan")), 4),
        "heldout_gap_closed": round(held.get("policy_gap_closed", float("nan")), 4),
        "opponent": opp_spec, "games": args.games, "score": out["score"], "ci95": out["ci95"],
        "wins": out["wins"], "draws": out["draws"], "losses": out["losses"],
        "loop_gate": {"games": row["gate_games"], "score": round(row["gate_score"], 4)},
        "match_cpu_seconds": round(time.process_time() - t1, 1),
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
