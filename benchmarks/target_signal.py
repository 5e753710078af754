"""How reproducible are a player's policy targets?  Searches of one position under several seeds.

    python benchmarks/target_signal.py --board square8 --num-players 2 --specs mcts:64,gumbel:64 \
        --positions 100 --seeds 9 --noise both

Positions come from real games: ``--source-games`` selfplay games of ``--source``
(default ``mcts:64``, with selfplay's temperature and noise), from which ``--positions``
decisions with at least ``--min-legal`` legal moves are drawn (seeded), leaving out
those the player answers without searching (a move that wins on the spot).  Every
position is then searched ``--seeds`` times by each spec, without root noise
(``noise off``: an arena search) and with it (``noise on``: a selfplay search).

One JSON line per spec and noise setting:

* ``best_agree``: how often two searches (seeds 0 and 1) play the same move, and
  ``best_agree_all``: the same over every pair of seeds;
* ``loo_gain``: how much better than uniform the mean of the other seeds' targets
  (smoothed with ``--smoothing`` of uniform) predicts each search's target, in nats:
  ``log K - CE(target_i, mean_{j != i})``, averaged over searches and positions.  Zero
  or less: the target is the seed, not the position;
* ``entropy``, ``kl_prior``, ``kl_uniform``: the target's mean entropy, its KL from the
  search's own (noise-free) root prior and from uniform over the legal moves (nats);
* ``seconds_per_search``.

``--prior-temperature`` overrides the heuristic prior's temperature (0: uniform prior,
the searches of earlier versions); ``--set key=value`` overrides a search setting
(``--set rescale_q=false --set prune_target=false``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from ringrift_ml.ai import Budget
from ringrift_ml.ai.factory import parse_player
from ringrift_ml.ai.search import SearchConfig
from ringrift_ml.ai.signal import target_stats
from ringrift_ml.nn.players import make_player
from ringrift_ml.selfplay import sample_decisions


def _setting(text: str) -> tuple:
    key, sep, value = text.partition("=")
    fields = {f.name: f.type for f in dataclasses.fields(SearchConfig)}
    if not sep or key not in fields:
        raise ValueError(f"--set {text!r}: expected key=value with key one of {', '.join(fields)}")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    try:
        return key, int(value)
    except ValueError:
        pass
    try:
        return key, float(value)
    except ValueError:
        return key, value


def measure(player, budget: Budget, positions: list, seeds: int, explore: bool, smoothing: float,
            progress: bool) -> dict:
    agree, agree_all, gains, ent, klp, klu = [], [], [], [], [], []
    t0 = time.perf_counter()
    searches = 0
    for pi, g in enumerate(tqdm(positions, desc=f"{player.name} noise={'on' if explore else 'off'}",
                                disable=not progress, unit="pos")):
        res = [player.think(g, budget, seed=1000 * pi + s, explore=explore) for s in range(seeds)]
        searches += seeds
        k = len(res[0].rows)
        T = np.stack([r.policy for r in res])
        chosen = [r.chosen for r in res]
        agree.append(chosen[0] == chosen[1])
        agree_all.append(np.mean([chosen[a] == chosen[b] for a in range(seeds) for b in range(a + 1, seeds)]))
        for i, r in enumerate(res):
            others = (T.sum(0) - T[i]) / (seeds - 1)
            q = (1 - smoothing) * others + smoothing / k
            ce = -float((T[i] * np.log(q)).sum())
            gains.append(np.log(k) - ce)
            st = target_stats(r.policy, r.prior)
            ent.append(st["entropy"])
            klu.append(st["kl_uniform"])
            klp.append(st["kl_prior"])
    dt = time.perf_counter() - t0
    return {"best_agree": float(np.mean(agree)), "best_agree_all": float(np.mean(agree_all)),
            "loo_gain": float(np.mean(gains)), "entropy": float(np.mean(ent)),
            "kl_prior": float(np.mean(klp)), "kl_uniform": float(np.mean(klu)),
            "positions": len(positions), "seeds": seeds, "seconds_per_search": round(dt / max(1, searches), 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="player count")
    ap.add_argument("--specs", default="mcts:64,gumbel:64", help="comma-separated player specs to measure")
    ap.add_argument("--source", default="mcts:64", help="player spec of the games positions come from")
    ap.add_argument("--source-games", type=int, default=12)
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=9, help="searches per position (>= 3)")
    ap.add_argument("--min-legal", type=int, default=4)
    ap.add_argument("--noise", choices=("off", "on", "both"), default="both")
    ap.add_argument("--smoothing", type=float, default=0.01, help="share of uniform mixed into the prediction")
    ap.add_argument("--prior-temperature", type=float, default=None,
                    help="heuristic prior temperature of heuristic searches (0: uniform prior)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a search setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.seeds < 3:
            raise ValueError("--seeds: at least 3 (two to compare, others to predict)")
        if not 0 < args.smoothing < 1:
            raise ValueError("--smoothing: must be in (0, 1)")
        overrides = dict(_setting(t) for t in args.set)
        specs = [s.strip() for s in args.specs.split(",") if s.strip()]
        for s in specs + [args.source]:
            parse_player(s)
        if any(parse_player(s).uses_network for s in specs + [args.source]):
            import torch

            torch.set_num_threads(args.threads)
        positions = sample_decisions(args.board, args.players, args.source, args.source_games,
                                     args.positions, args.min_legal, args.seed)
    except ValueError as e:
        print(f"target_signal: {e}", file=sys.stderr)
        return 2
    for spec in specs:
        player, budget = make_player(spec, args.board, args.players)
        if not hasattr(player, "config"):
            print(f"target_signal: {spec!r} does not search", file=sys.stderr)
            return 2
        player.config = dataclasses.replace(player.config, **overrides)
        if args.prior_temperature is not None and hasattr(player.evaluator, "prior_temperature"):
            player.evaluator.prior_temperature = args.prior_temperature
        for explore in {"off": [False], "on": [True], "both": [False, True]}[args.noise]:
            out = measure(player, budget, positions, args.seeds, explore, args.smoothing, not args.no_progress)
            print(json.dumps({"bench": "target_signal", "board": args.board, "players": args.players,
                              "spec": spec, "noise": "on" if explore else "off",
                              "prior_temperature": getattr(player.evaluator, "prior_temperature", None),
                              "settings": overrides, **out}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
