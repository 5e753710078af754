"""Strength and speed of the players: win rates with 95% intervals and search speed.

Prints JSON lines: one per (board, player, opponent) pairing with the win rate of the
player (draws half) and its Wilson interval, then one per search engine with nodes/s.

    python benchmarks/strength.py --boards square8 hex8 --games 20
"""

from __future__ import annotations

import argparse
import json
import time

from ringrift_ml.ai import Budget, GumbelPlayer, HeuristicEvaluator, HeuristicPlayer, MCTSPlayer, RandomPlayer
from ringrift_ml.ai.descent import DescentPlayer
from ringrift_ml.ai.minimax import MinimaxPlayer
from ringrift_ml.ai.base import play_forced
from ringrift_ml.arena import round_robin, wilson
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--boards", nargs="*", default=["square8", "hex8"])
    ap.add_argument("--games", type=int, default=20, help="games per pairing (seats alternate)")
    ap.add_argument("--mcts-nodes", type=int, default=200)
    ap.add_argument("--minimax-nodes", type=int, default=2000)
    ap.add_argument("--gumbel-nodes", type=int, default=64)
    ap.add_argument("--descent-nodes", type=int, default=1000)
    ap.add_argument("--engines", nargs="*", default=["heuristic", "mcts", "minimax", "gumbel", "descent"])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    for board in args.boards:
        ev = HeuristicEvaluator.for_board(board, 2)
        players = {"random": RandomPlayer(), "heuristic": HeuristicPlayer(ev), "mcts": MCTSPlayer(ev),
                   "minimax": MinimaxPlayer(ev), "gumbel": GumbelPlayer(ev), "descent": DescentPlayer(ev)}
        budgets = {"random": Budget(nodes=1), "heuristic": Budget(nodes=100_000), "mcts": Budget(nodes=args.mcts_nodes),
                   "minimax": Budget(nodes=args.minimax_nodes), "gumbel": Budget(nodes=args.gumbel_nodes),
                   "descent": Budget(nodes=args.descent_nodes)}
        for name in args.engines:
            for opp in ("random", "heuristic"):
                if opp == name:
                    continue
                t0 = time.perf_counter()
                results, _ = round_robin({name: players[name], opp: players[opp]}, budgets, board, 2,
                                         args.games, seed=args.seed, progress=False)
                pts = sum(1.0 if r.winner_seat and r.seats[r.winner_seat - 1] == name else 0.0 for r in results)
                lo, hi = wilson(pts, len(results))
                print(json.dumps({"bench": "strength", "board": board, "player": name, "opponent": opp,
                                  "budget": budgets[name].nodes, "games": len(results),
                                  "win_rate": round(pts / len(results), 3), "ci95": [round(lo, 3), round(hi, 3)],
                                  "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
        g = FastGame(new_game(board, 2))
        t0 = time.perf_counter()
        sims = MCTSPlayer(ev).think(g, Budget(seconds=2.0), seed=0).simulations
        print(json.dumps({"bench": "search_speed", "board": board, "engine": "mcts",
                          "nodes_per_s": round(sims / (time.perf_counter() - t0), 1)}), flush=True)
        gs = GumbelPlayer(ev)
        t0 = time.perf_counter()
        sims = 0
        while time.perf_counter() - t0 < 2.0:
            sims += gs.think(FastGame(new_game(board, 2)), Budget(nodes=256), seed=sims).simulations
        print(json.dumps({"bench": "search_speed", "board": board, "engine": "gumbel",
                          "nodes_per_s": round(sims / (time.perf_counter() - t0), 1)}), flush=True)
        mm = MinimaxPlayer(ev)
        g = FastGame(new_game(board, 2))
        for _ in range(6):  # a few opening moves so the position has some contact
            g.apply(g.legal()[0])
        play_forced(g)
        t0 = time.perf_counter()
        mm.choose_row(g, Budget(seconds=2.0), seed=0)
        print(json.dumps({"bench": "search_speed", "board": board, "engine": "minimax",
                          "nodes_per_s": round(mm.last_nodes / (time.perf_counter() - t0), 1),
                          "depth_reached": mm.last_depth}), flush=True)


if __name__ == "__main__":
    main()
