"""What one selfplay game costs on each board and player count (JSON lines).

For every partition: CPU seconds of one ``mcts:<sims>`` selfplay game (every seat the
same player, one torch-free process, after a warm-up game that compiles the kernels),
its length, and the cost relative to square8 2p.  ``ringrift_ml.boards.GAME_COST``
holds the relative costs the quick job and the per-board defaults are derived from;
rerun this after changing the engine or the search and update it.

    python benchmarks/board_cost.py --sims 16 --games 2
"""

from __future__ import annotations

import argparse
import json
import resource


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    from ringrift_ml.rules import BOARD_TYPES
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=16)
    ap.add_argument("--games", type=int, default=2, help="games per partition")
    ap.add_argument("--boards", default=",".join(BOARD_TYPES))
    ap.add_argument("--num-players", dest="players", default="2,3,4", help="player counts, comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    spec = f"mcts:{args.sims}"
    run_selfplay(SelfplayConfig(board="square8", players=(spec, spec), games=1, seed=1), progress=False)
    base = None
    for board in args.boards.split(","):
        for n in (int(x) for x in args.players.split(",")):
            c = cpu()
            recs = run_selfplay(SelfplayConfig(board=board, players=(spec,) * n, games=args.games, seed=args.seed,
                                               batch_games=args.games), progress=False)
            per = (cpu() - c) / args.games
            if base is None:
                base = per
            print(json.dumps({"bench": "board_cost", "board": board, "players": n, "player": spec,
                              "games": args.games, "cpu_seconds_per_game": round(per, 3),
                              "mean_moves": sum(r["length"] for r in recs) / len(recs),
                              "relative_cost": round(per / base, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
