"""How often does each player choose the move a stronger reference search chooses?

    python benchmarks/move_agreement.py --board hexagonal --reference mcts:64 \
        --specs mcts:4,mcts:16,nn:M:16,policy:M --source mcts:4 --source-games 4 --positions 150

A cheap proxy of move quality, for boards whose matches cost too much to run often:
positions are drawn (seeded) from ``--source-games`` selfplay games of ``--source``
(selfplay's temperature schedule and root noise, so the games differ), keeping
decisions with at least ``--min-legal`` legal moves that no move wins on the spot.
The reference and every spec then decide each position once, in arena mode (no root
noise, temperature 0, the search seeded by the position's index).  With the
heuristic searches the line ``heuristic_prior`` is the argmax of the heuristic's
prior over the moves (a softmax of the one-ply evaluation of every child), i.e. the
one-ply heuristic's choice.

One JSON line per spec: ``agree`` (share of positions where the spec's move is the
reference's) with its 95% Wilson interval, and ``seconds_per_decision``.  Agreement is
not strength: two players can differ from the reference in ways that matter unequally;
a match decides strength.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from ringrift_ml.ai.factory import parse_player
from ringrift_ml.arena import wilson
from ringrift_ml.nn.players import make_player
from ringrift_ml.selfplay import sample_decisions


def decide(spec: str, board: str, players: int, positions: list, progress: bool) -> tuple:
    """(chosen row index per position, the heuristic prior's argmax per position or None,
    seconds per decision)."""
    player, budget = make_player(spec, board, players)
    chosen, prior_best = [], []
    t0 = time.perf_counter()
    for i, g in enumerate(tqdm(positions, desc=spec, disable=not progress, unit="pos")):
        r = player.think(g, budget, seed=i, explore=False)
        chosen.append(int(r.chosen))
        prior_best.append(int(np.argmax(r.prior)) if getattr(r, "prior", None) is not None else None)
    return chosen, prior_best, (time.perf_counter() - t0) / max(1, len(positions))


def line(spec: str, chosen: list, reference: list, seconds, **extra) -> dict:
    hits = sum(int(a == b) for a, b in zip(chosen, reference))
    lo, hi = wilson(hits, len(reference))
    return {"bench": "move_agreement", "spec": spec, "agree": round(hits / len(reference), 4),
            "ci95": [round(lo, 4), round(hi, 4)], "positions": len(reference),
            "seconds_per_decision": None if seconds is None else round(seconds, 5), **extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="player count")
    ap.add_argument("--reference", default="mcts:64", help="the player whose moves count as right")
    ap.add_argument("--specs", default="mcts:4,mcts:16", help="comma-separated player specs to measure")
    ap.add_argument("--source", default="mcts:4", help="player spec of the games positions come from")
    ap.add_argument("--source-games", type=int, default=4)
    ap.add_argument("--positions", type=int, default=150)
    ap.add_argument("--min-legal", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (network specs)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    specs = [s.strip() for s in args.specs.split(",") if s.strip()]
    try:
        if args.positions < 1 or args.source_games < 1:
            raise ValueError("--positions and --source-games: at least 1")
        if not specs:
            raise ValueError("--specs: name at least one player spec")
        for s in specs + [args.reference, args.source]:
            parse_player(s)
        if any(parse_player(s).uses_network for s in specs + [args.reference, args.source]):
            import torch

            torch.set_num_threads(args.threads)
        positions = sample_decisions(args.board, args.players, args.source, args.source_games, args.positions,
                                     args.min_legal, args.seed)
    except ValueError as e:
        print(f"move_agreement: {e}", file=sys.stderr)
        return 2
    head = {"board": args.board, "players": args.players, "reference": args.reference, "source": args.source,
            "seed": args.seed}
    heuristic_search = ("mcts", "gumbel")  # their root prior is the heuristic's
    reference, ref_prior, ref_s = decide(args.reference, args.board, args.players, positions, not args.no_progress)
    print(json.dumps({**line(args.reference, reference, reference, ref_s), **head}), flush=True)
    prior_best = ref_prior if parse_player(args.reference).engine in heuristic_search else None
    for spec in specs:
        chosen, priors, s = decide(spec, args.board, args.players, positions, not args.no_progress)
        if prior_best is None and parse_player(spec).engine in heuristic_search:
            prior_best = priors
        print(json.dumps({**line(spec, chosen, reference, s), **head}), flush=True)
    if prior_best is not None and all(p is not None for p in prior_best):
        print(json.dumps({**line("heuristic_prior", prior_best, reference, None), **head}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
