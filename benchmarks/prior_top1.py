"""How often the one-ply heuristic's choice is the top move of the lake's search targets.

    python benchmarks/prior_top1.py --storage S --board hexagonal --num-players 2 \
        --label 'loop:hexagonal|2:g0' --games 12 --rate 0.04

The reference a network's held-out top-1 (``heldout.top1`` of its ``model.json``) can be
read against: games of one generator label (a loop generation's selfplay, say) are
replayed, a share ``--rate`` of their searched decisions with at least ``--min-legal``
legal moves drawn (seeded), and at each the argmax of the heuristic search's prior
(a softmax of the one-ply evaluation of every child, the prior of ``mcts`` and
``gumbel``) is compared with the recorded target's most probable move.  A network that
has learned the heuristic's one-ply choice reaches about this top-1 on the same kind
of targets.  One JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ringrift_ml.ai.heuristic import HeuristicEvaluator, packaged_weights_path
from ringrift_ml.arena import wilson
from ringrift_ml.lake import LakeStore
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame
from ringrift_ml.rules.replay import iter_replay


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", required=True, help="the lake's root")
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2)
    ap.add_argument("--label", required=True, help="generator label of the games (e.g. 'loop:square8|2:g0')")
    ap.add_argument("--games", type=int, default=12, help="at most this many games of the label")
    ap.add_argument("--rate", type=float, default=0.04, help="share of the searched decisions drawn")
    ap.add_argument("--min-legal", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not 0 < args.rate <= 1 or args.games < 1:
        print("prior_top1: --rate in (0, 1] and --games >= 1 required", file=sys.stderr)
        return 2
    store = LakeStore.open(args.storage)
    rows = store.query("SELECT moves_json, policy_json, generator_config FROM lake.games "
                       "WHERE board = ? AND players = ? ORDER BY game_id", [args.board, args.players]).to_pylist()
    rows = [r for r in rows if json.loads(r["generator_config"] or "{}").get("label") == args.label][:args.games]
    if not rows:
        print(f"prior_top1: no {args.board}|{args.players} games labelled {args.label!r} in {args.storage}",
              file=sys.stderr)
        return 2
    # The evaluator whose prior the heuristic searches (mcts, gumbel) search from.
    evaluator = HeuristicEvaluator.for_board(args.board, args.players, packaged_weights_path())
    rng = np.random.default_rng(args.seed)
    hits = n = 0
    for r in rows:
        moves, targets = json.loads(r["moves_json"]), json.loads(r["policy_json"])
        g = FastGame(new_game(args.board, args.players))
        for step, target in zip(iter_replay(new_game(args.board, args.players), moves), targets):
            if target and rng.random() < args.rate:
                legal = g.legal()
                prior = evaluator.priors(g, legal) if len(legal) >= args.min_legal else None
                if prior is not None:
                    top = max(target, key=lambda e: e[1])[0]
                    hits += int(g.move(legal[int(np.argmax(prior))]).to_json() == top)
                    n += 1
            g.apply(step.row)
    lo, hi = wilson(hits, n) if n else (None, None)
    print(json.dumps({"bench": "prior_top1", "board": args.board, "players": args.players, "label": args.label,
                      "games": len(rows), "positions": n, "top1": round(hits / n, 4) if n else None,
                      "ci95": [round(lo, 4), round(hi, 4)] if n else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
