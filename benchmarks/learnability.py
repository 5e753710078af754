"""Can a network learn the targets selfplay writes?  Fixed bootstrap data, the loop's training.

    python benchmarks/learnability.py --games 1000 --player mcts:64 --workers 2 --out storage/bench/learn

Plays ``--games`` selfplay games of ``--player`` in every seat (written once to
``<out>/games.jsonl`` and reused by later runs with the same settings), turns them into
samples, and trains a network with the closed loop's training config (``LoopConfig``'s
``train_config``: the ``TrainConfig`` defaults, early stopping included) from scratch.
Prints JSON lines:

* ``selfplay``: games, positions, and the targets' mean signal (entropy, KL from the
  search's prior and from uniform; :mod:`ringrift_ml.ai.signal`);
* ``epoch``: per epoch, the training means (policy CE and value MSE while training, on
  augmented positions) and the held-out policy CE next to uniform and to the
  targets' entropy H, the share of the gap closed, value MSE next to predicting 0;
* ``result``: the saved (best held-out) network on the held-out games and on the
  training games (the same figures): how far below uniform the policy gets and
  whether the value beats predicting 0; beside them two references for the value on the
  same held-out positions: a ridge regression on the scalar inputs (the globals and each
  plane's count over the board), fitted on the training positions (``value_probe_mse``:
  what a linear function of material and phase reaches; ``value_mlp_probe_mse``: a small
  nonlinear one on the same inputs), and the root value the search
  recorded (``value_search_mse``: what the player that made the games knew), and the
  mean of the MLP probe and the search's value (``value_blend_mse``); and the
  value MSEs by quarter of the game (``value_mse_by_quarter``), to set beside
  ``value_floor.py``'s floor for the same games.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np


def cached_games(sp, out: Path, progress: bool = True) -> tuple:
    """``(records, played now)``: the games of selfplay run ``sp``, played once into
    ``<out>/games.jsonl`` and read back by later runs with the same generator config,
    games, seed and board (``value_floor.py`` shares the file)."""
    from ringrift_ml.selfplay import generator_config, run_selfplay

    out.mkdir(parents=True, exist_ok=True)
    games_file, conf_file = out / "games.jsonl", out / "games.config.json"
    conf = {"selfplay": generator_config(sp), "games": sp.games, "seed": sp.seed, "board": sp.board}
    if games_file.is_file() and conf_file.is_file() and json.loads(conf_file.read_text()) == conf:
        return [json.loads(line) for line in games_file.open()], False
    records = run_selfplay(sp, games_file, progress=progress)
    conf_file.write_text(json.dumps(conf, sort_keys=True))
    return records, True


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


FIGS = ("policy_ce", "policy_ce_uniform", "policy_target_entropy", "policy_gap_closed", "top1", "top1_uniform",
        "value_mse", "value_mse_zero")


def value_probe(data, train_idx: np.ndarray, held_idx: np.ndarray, ridge: float = 100.0) -> float:
    """Held-out MSE against the outcome (slot 0) of a ridge regression on the scalar
    inputs: the globals and each plane's count over the board, standardised on the
    training positions, prediction clipped to [-1, 1]."""
    z = data.value[held_idx, 0].astype(np.float64)
    return float(np.mean((probe_values(data, train_idx, held_idx, ridge) - z) ** 2))


def scalar_inputs(data, train_idx: np.ndarray) -> np.ndarray:
    """The probes' inputs for every position: the globals and each plane's count over
    the board, standardised on the training positions ``train_idx``."""
    x = np.concatenate([data.globals, data.planes.astype(np.float32).sum(axis=2)], axis=1).astype(np.float64)
    return (x - x[train_idx].mean(0)) / (x[train_idx].std(0) + 1e-6)


def probe_values(data, train_idx: np.ndarray, held_idx: np.ndarray, ridge: float = 100.0) -> np.ndarray:
    """The ridge regression of :func:`value_probe`: its predictions on ``held_idx``."""
    x = scalar_inputs(data, train_idx)
    z = data.value[:, 0].astype(np.float64)
    design = lambda i: np.c_[x[i], np.ones(len(i))]  # noqa: E731
    a = design(train_idx)
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ z[train_idx])
    return np.clip(design(held_idx) @ w, -1.0, 1.0)


def mlp_probe_values(data, train_idx: np.ndarray, held_idx: np.ndarray, hidden: int = 128, dropout: float = 0.5,
                     weight_decay: float = 1e-2, epochs: int = 40, seed: int = 0) -> np.ndarray:
    """A small nonlinear probe on the same inputs as :func:`probe_values` (two hidden
    layers, dropout, AdamW), stopped at its best epoch on a tenth of the training games;
    its predictions on ``held_idx``.  Whether a nonlinear function of the counts beats
    the linear one."""
    import torch

    x = scalar_inputs(data, train_idx).astype(np.float32)
    xt, zt = torch.from_numpy(x), torch.from_numpy(data.value[:, 0].astype(np.float32))
    rng = np.random.default_rng(seed)
    games = np.unique(data.game[train_idx])
    val_games = rng.choice(games, size=max(1, len(games) // 10), replace=False)
    is_val = np.isin(data.game[train_idx], val_games)
    val, fit_idx = train_idx[is_val], train_idx[~is_val]
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
              torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 1),
              torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=weight_decay)
    best, state = float("inf"), None
    for _ in range(epochs):
        net.train()
        order = rng.permutation(fit_idx)
        for a in range(0, len(order), 256):
            b = order[a:a + 256]
            loss = ((net(xt[b])[:, 0] - zt[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            v = float(((net(xt[val])[:, 0] - zt[val]) ** 2).mean())
        if v < best:
            best, state = v, {k: t.clone() for k, t in net.state_dict().items()}
    net.load_state_dict(state)
    net.eval()
    with torch.no_grad():
        return net(xt[held_idx])[:, 0].double().numpy()


def lambda_returns(data, mover: np.ndarray, lam: float) -> np.ndarray:
    """The TD(lambda) return of every position from its mover's view, over the search's
    root values (two players): ``G_t = (1 - lam) * v_t + lam * G_{t+1}``, the last
    position's ``G_{T+1}`` the outcome, a position without a search value taking the
    return after it.  Positions in game order (``data.game``, then ply): the targets a
    value head would learn if it bootstrapped from the search instead of the result
    alone (lam 1: the outcome)."""
    if data.search_value is None:
        raise ValueError("lambda returns need the search's root values (samples schema 3)")
    z_p1 = np.where(mover == 1, data.value[:, 0], data.value[:, 1]).astype(np.float64)  # player 1's outcome
    v_p1 = np.where(mover == 1, data.search_value[:, 0], data.search_value[:, 1]).astype(np.float64)
    out = np.empty(len(mover))
    ends = np.r_[np.flatnonzero(np.diff(data.game)) + 1, len(mover)]
    start = 0
    for end in ends:
        g = z_p1[end - 1]
        for k in range(end - 1, start - 1, -1):
            if not np.isnan(v_p1[k]):
                g = (1 - lam) * v_p1[k] + lam * g
            out[k] = g if mover[k] == 1 else -g
        start = end
    return out


def by_quarter(pred: np.ndarray, z: np.ndarray, quarter: np.ndarray) -> list:
    """MSE of ``pred`` against ``z`` in each quarter of the game (NaN predictions left out)."""
    out = []
    for q in range(4):
        m = (quarter == q) & ~np.isnan(pred)
        out.append(round(float(np.mean((pred[m] - z[m]) ** 2)), 4) if m.any() else None)
    return out


def value_search_mse(data, held_idx: np.ndarray) -> float:
    """Held-out MSE against the outcome of the search's recorded root value (slot 0),
    over the positions that have one; NaN when none has."""
    if data.search_value is None:
        return float("nan")
    q = data.search_value[held_idx, 0]
    has = ~np.isnan(q)
    return float(np.mean((q[has] - data.value[held_idx, 0][has]) ** 2)) if has.any() else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="player count")
    ap.add_argument("--player", default="mcts:64", help="the bootstrap player spec of every seat")
    ap.add_argument("--games", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", default="{}", help="TrainConfig overrides as JSON (default: the loop's config)")
    ap.add_argument("--out", type=Path, default=Path("storage/bench/learn"))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--dirichlet-alpha", type=float, default=None,
                    help="root noise of the selfplay's PUCT searches (default: selfplay's own; 0 disables)")
    ap.add_argument("--probe-lambdas", default="",
                    help="comma-separated lambdas: the probes also fitted to TD(lambda) returns over the search's "
                    "values (two players), scored against the outcome (value_lambda_probes)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    import pyarrow as pa

    from ringrift_ml.ai.signal import columns, summarize
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.nn.checkpoint import load_net
    from ringrift_ml.nn.samples import SAMPLE_SCHEMA, game_samples
    from ringrift_ml.selfplay import SelfplayConfig
    from ringrift_ml.train.dataset import from_table
    from ringrift_ml.train.evaluate import evaluate, predict
    from ringrift_ml.train.loop import fit

    try:
        sp = SelfplayConfig(board=args.board, players=(args.player,) * args.players, games=args.games, seed=args.seed,
                            workers=args.workers, batch_games=8,
                            **({} if args.dirichlet_alpha is None else {"dirichlet_alpha": args.dirichlet_alpha}))
        tcfg = LoopConfig(board=args.board, players=args.players,
                          train=tuple(json.loads(args.train).items())).train_config(args.seed)
        tcfg = dataclasses.replace(tcfg, threads=args.threads)
        try:
            lambdas = [float(x) for x in args.probe_lambdas.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--probe-lambdas: comma-separated numbers expected, got {args.probe_lambdas!r}") from None
        if any(not 0 <= x <= 1 for x in lambdas) or (lambdas and args.players != 2):
            raise ValueError(f"--probe-lambdas: each in [0, 1], two players only; got {args.probe_lambdas!r} "
                             f"with {args.players} players")
    except (ValueError, json.JSONDecodeError) as e:
        print(f"learnability: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    records, played = cached_games(sp, args.out, progress=not args.no_progress)
    rows, quarter, mover = [], [], []
    for rec in records:
        got = game_samples(rec)
        rows.extend(got)
        # The quarter of the game each position falls in (its ply over the game's length).
        quarter.extend(min(3, 4 * r["ply"] // len(rec["moves"])) for r in got)
        mover.extend(r["player"] for r in got)
    quarter, mover = np.asarray(quarter), np.asarray(mover)
    data = from_table(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA), args.board)
    if len(data) != len(quarter):
        raise RuntimeError(f"learnability: {len(data)} samples from {len(quarter)} rows; "
                           "the quarters would not line up")
    print(json.dumps({"bench": "learnability", "kind": "selfplay", "player": args.player, "games": len(records),
                      "positions": len(data), "played_now": played, "seconds": round(time.time() - t0, 1),
                      **_round(columns(summarize(records)))}), flush=True)

    t1 = time.time()
    res = fit(data, tcfg, args.out / "run", resume=False, progress=not args.no_progress)
    for h in res.history:
        tr = h.get("train") or {}
        print(json.dumps({"bench": "learnability", "kind": "epoch", "epoch": h["epoch"],
                          "train_policy_ce": round(tr.get("policy", float("nan")), 4),
                          "train_value_mse": round(tr.get("value", float("nan")), 4),
                          **{f"heldout_{k}": round(h["heldout"][k], 4) for k in FIGS if k in h["heldout"]}}),
              flush=True)
    net, meta = load_net(res.model_path)
    train_idx, held_idx = data.split(tcfg.holdout, tcfg.seed)
    weights = {"policy": tcfg.policy_weight, "value": tcfg.value_weight, "ownership": tcfg.ownership_weight,
               "score": tcfg.score_weight}
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(train_idx, size=min(len(train_idx), len(held_idx)), replace=False))
    on_train = evaluate(net, data, sub, weights, with_calibration=False)
    held = meta["heldout"]
    import torch

    with torch.no_grad():
        net_v = np.concatenate([out["value"][:, 0].float().numpy() for _, _, out in predict(net, data, held_idx)])
    z_held, q_held = data.value[held_idx, 0].astype(np.float64), quarter[held_idx]
    mlp_v = mlp_probe_values(data, train_idx, held_idx)
    search_v = (data.search_value[held_idx, 0] if data.search_value is not None
                else np.full(len(held_idx), np.nan))
    # Two learners with different information (material counts; a 64-simulation
    # lookahead) averaged: how far below either the outcome can be predicted here.
    blend_v = 0.5 * (mlp_v + search_v.astype(np.float64))
    # The probes fitted to TD(lambda) returns instead of the outcome, scored against the
    # outcome: whether bootstrapping from the search's values generalises better.
    lam_probes = {}
    for lam in lambdas:
        g = lambda_returns(data, mover, lam)
        d2 = dataclasses.replace(data, value=np.c_[g, -g, np.zeros((len(g), 2))].astype(np.float32))
        lam_probes[str(lam)] = {
            "target_vs_outcome_mse": round(float(np.mean((g - data.value[:, 0]) ** 2)), 4),
            "ridge": round(float(np.mean((probe_values(d2, train_idx, held_idx) - z_held) ** 2)), 4),
            "mlp": round(float(np.mean((mlp_probe_values(d2, train_idx, held_idx) - z_held) ** 2)), 4)}
    print(json.dumps({"bench": "learnability", "kind": "result", "player": args.player, "games": len(records),
                      "best_epoch": meta["best_epoch"], "epochs": len(res.history),
                      "train_seconds": round(time.time() - t1, 1),
                      "heldout": {k: round(held[k], 4) for k in FIGS},
                      "heldout_policy_below_uniform": round(held["policy_ce_uniform"] - held["policy_ce"], 4),
                      "value_probe_mse": round(value_probe(data, train_idx, held_idx), 4),
                      "value_search_mse": round(value_search_mse(data, held_idx), 4),
                      "value_mlp_probe_mse": round(float(np.mean((mlp_v - z_held) ** 2)), 4),
                      "value_blend_mse": round(float(np.mean((blend_v - z_held) ** 2)), 4),
                      **({"value_lambda_probes": lam_probes} if lam_probes else {}),
                      # By quarter of the game: the network, the probes, the search's value, the blend.
                      "value_mse_by_quarter": {
                          "positions": [int((q_held == q).sum()) for q in range(4)],
                          "network": by_quarter(net_v, z_held, q_held),
                          "probe": by_quarter(probe_values(data, train_idx, held_idx), z_held, q_held),
                          "mlp_probe": by_quarter(mlp_v, z_held, q_held),
                          "search": by_quarter(search_v.astype(np.float64), z_held, q_held),
                          "blend": by_quarter(blend_v, z_held, q_held)},
                      "train": {k: round(on_train[k], 4) for k in FIGS},
                      "train_policy_below_uniform": round(on_train["policy_ce_uniform"] - on_train["policy_ce"], 4),
                      "model": str(res.model_path)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
