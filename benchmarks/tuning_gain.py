"""Gain of one CMA-ES run: tuned heuristic weights against the defaults.

Runs CMA-ES on one board (2 players), then plays the tuned heuristic against the
default heuristic with alternating seats and prints JSON lines: the tuning history
and the tuned player's score with a 95% Wilson interval.

    python benchmarks/tuning_gain.py --board square8 --generations 8 --popsize 8 --games 8 --eval-games 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ringrift_ml.ai import Budget, HeuristicEvaluator, HeuristicPlayer
from ringrift_ml.ai.heuristic import load_weights, weight_vector
from ringrift_ml.arena import play_game, wilson
from ringrift_ml.tuning import TuneConfig, save_tuned, tune



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", default="square8")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--popsize", type=int, default=8)
    ap.add_argument("--games", type=int, default=8)
    ap.add_argument("--eval-games", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tune-"))
    cfg = TuneConfig(board=args.board, generations=args.generations, popsize=args.popsize,
                     games_per_eval=args.games, seed=args.seed)
    result = tune(cfg, work, progress=False)
    print(json.dumps({"bench": "cma_history", "board": args.board, "history": result["history"]}))
    wfile = save_tuned(result, work / "weights.json", version="bench")
    tuned = HeuristicPlayer(HeuristicEvaluator(weight_vector(load_weights(args.board, 2, wfile)), 0.35), "tuned")
    default = HeuristicPlayer(HeuristicEvaluator.for_board(args.board, 2), "default")
    pts = 0.0
    for g in range(args.eval_games):
        seats = [tuned, default] if g % 2 == 0 else [default, tuned]
        res = play_game(seats, [Budget(nodes=100_000)] * 2, args.board, seed=10_000 + g)
        tuned_seat = 1 if g % 2 == 0 else 2
        if res.ranks:
            pts += 1.0 if res.ranks[tuned_seat] < res.ranks[3 - tuned_seat] else (
                0.5 if res.ranks[tuned_seat] == res.ranks[3 - tuned_seat] else 0.0)
    lo, hi = wilson(pts, args.eval_games)
    print(json.dumps({"bench": "cma_gain", "board": args.board, "games": args.eval_games,
                      "tuned_score_vs_default": round(pts / args.eval_games, 3), "ci95": [round(lo, 3), round(hi, 3)],
                      "weights_file": str(wfile)}))


if __name__ == "__main__":
    main()
