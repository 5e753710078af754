"""NNUE evaluation speed against the network and the heuristic (JSON lines).

1. ``kind: eval``: evaluations per second of each evaluator on the children of
   positions from seeded random playouts, visited as a search visits leaves (every
   child of a position in turn, so consecutive positions are siblings; the cost of
   stepping to a child and back is measured alone and taken out): the NNUE (quantised,
   float, and one seat's value alone as alpha-beta asks for it), the hand-weighted
   heuristic, and the network at batch 1 (its cache off: every position a forward pass).
2. ``kind: search``: ``minimax-nnue`` against ``minimax`` (heuristic) on the same
   positions with the same node budget: nodes per second and the depth reached.
3. ``kind: ratio``: the NNUE's evaluations per second over the network's and the
   heuristic's.
3b. ``kind: leaf``: the same siblings valued inside compiled code by the compiled
   search's own leaf (``_k_alphabeta._leaf``: one seat's value, the NNUE's accumulator
   carried from sibling to sibling), heuristic and NNUE: evaluations per second in
   search without Python's call in between, and their ratio.
3c. ``kind: timed``: alpha-beta with either evaluator for ``--seconds`` of wall clock
   per search (compiled, the clock looked at every 256 nodes): the mean depth completed
   and the nodes per second.
4. ``kind: depth`` / ``depth_speedup``: the time of alpha-beta searches to each of
   ``--depths`` with either evaluator, and the heuristic's time over the NNUE's.
   Both searches run compiled (``ai._k_alphabeta``), as ``minimax`` does with a node
   budget.

    python benchmarks/nnue_bench.py --boards square8 --nnue storage/nnue/square8_2p.nnue.npz \\
        --model <checkpoint> [--positions 200] [--nodes 4000]

``--kinds leaf,depth`` runs only those measurements (of ``eval``, ``leaf``, ``search``,
``timed``, ``depth``; default all).

Without ``--nnue`` / ``--model`` the board's default sizes are measured with random
weights (speed does not depend on the weights, apart from how many hidden units the
clipped ReLU zeroes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _children(games: list, limit: int) -> list:
    """``[(game, rows)]``: each position with at most ``limit`` of its moves."""
    return [(g, g.legal()[:limit]) for g in games]


def _walk(values, items: list, min_seconds: float) -> tuple:
    n, t = 0, time.perf_counter()
    while True:
        for g, rows in items:
            for r in rows:
                g.push(r)
                values(g)
                g.pop()
                n += 1
        dt = time.perf_counter() - t
        if dt >= min_seconds:
            return n, dt


def eval_rate(values, items: list, min_seconds: float) -> float:
    """Evaluations per second of ``values(game)`` over every child of every position,
    the cost of stepping to the child and back (measured alone) taken out."""
    g, rows = items[0]
    g.push(rows[0])
    values(g)  # compiles the kernels (numba) outside the measurement
    g.pop()
    n0, dt0 = _walk(lambda g: None, items, min(1.0, min_seconds))
    n, dt = _walk(values, items, min_seconds)
    return n / max(dt - n * dt0 / n0, 1e-9)


def leaf_rates(evaluators: dict, items: list, min_seconds: float, rounds: int = 5) -> dict:
    """``{name: evaluations per second}`` of the compiled search's leaf over the children
    of every position in turn (siblings consecutive), timed inside one compiled loop.
    The evaluators take turns for ``rounds`` rounds and each keeps its fastest round, so
    a load spike on a shared machine does not land on one of them alone."""
    from numba import njit

    from ringrift_ml.ai import _k_alphabeta as A
    from ringrift_ml.rules.kernels import apply_row

    kids, mes = [], []
    for g, rows in items:
        for r in rows:
            c = g.S.copy()
            apply_row(c, g.spec.geo, r)
            kids.append(c)
            mes.append(g.current_player)
    kids, mes = np.stack(kids), np.asarray(mes, dtype=np.int64)
    G = items[0][0].spec.geo

    @njit
    def run(kids, mes, G, reps, kind, hargs, nargs):
        s = 0.0
        for _ in range(reps):
            for i in range(kids.shape[0]):
                s += A._leaf(kids[i], G, mes[i], kind, hargs, nargs)
        return s

    leaves = {name: ev.compiled_leaf(items[0][0]) for name, ev in evaluators.items()}
    reps = {}
    for name, args in leaves.items():
        run(kids[:2], mes[:2], G, 1, *args)  # compiles outside the measurement
        r, t = 1, time.perf_counter()
        while time.perf_counter() - t < min_seconds / rounds / 4:
            r *= 2
            t = time.perf_counter()
            run(kids, mes, G, r, *args)
        reps[name] = r
    best = {name: 0.0 for name in leaves}
    for _ in range(rounds):
        for name, args in leaves.items():
            t = time.perf_counter()
            run(kids, mes, G, reps[name], *args)
            best[name] = max(best[name], reps[name] * len(kids) / (time.perf_counter() - t))
    return best


def _random_nnue(board: str, out: Path, pairwise: bool = False) -> Path:
    from ringrift_ml.nnue import NNUEWeights
    from ringrift_ml.nnue.features import N_GLOBALS, n_features
    from ringrift_ml.nnue.model import board_cells
    from ringrift_ml.train.nnue import NNUETrainConfig

    c = NNUETrainConfig()
    rng = np.random.default_rng(0)
    inputs = c.hidden // 2 if pairwise else c.hidden
    w = NNUEWeights(board, W1=rng.normal(0, 0.02, (n_features(board_cells(board)), c.hidden)),
                    b1=np.full(c.hidden, 0.4), L1w=rng.normal(0, 0.2, (inputs + N_GLOBALS, c.l1)),
                    L1b=np.zeros(c.l1), L2w=rng.normal(0, 0.2, (c.l1, c.l2)), L2b=np.zeros(c.l2),
                    Ow=rng.normal(0, 0.3, c.l2), Ob=0.0, pairwise=pairwise)
    return w.save(out / f"{board}_random.nnue.npz")


KINDS = ("eval", "leaf", "search", "timed", "depth")
"""The measurements, in the order they run (``eval`` includes the ``ratio`` line)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="players per game")
    ap.add_argument("--nnue", help="an NNUE file (default: random weights of the default sizes)")
    ap.add_argument("--pairwise", action="store_true",
                    help="the random weights' head takes the products of the accumulator's halves")
    ap.add_argument("--model", help="a network checkpoint (default: the board's default network, untrained)")
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--children", type=int, default=16, help="moves per position evaluated in turn")
    ap.add_argument("--nodes", type=int, default=4000, help="minimax node budget per search")
    ap.add_argument("--searches", type=int, default=10)
    ap.add_argument("--depths", type=lambda v: [int(x) for x in v.split(",") if x], default=[4, 5],
                    help="comma-separated depths: time of a search to each with either evaluator (default 4,5)")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=1.0, help="wall clock per search of the timed searches")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help=f"comma-separated measurements to run, of {','.join(KINDS)} (default: all)")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    bad = sorted(set(kinds) - set(KINDS))
    if bad or not kinds:
        print(f"nnue_bench: --kinds: unknown {', '.join(bad) or '(none given)'}; expected some of {', '.join(KINDS)}",
              file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    from ringrift_ml.ai import Budget
    from ringrift_ml.ai.games import random_positions
    from ringrift_ml.ai.heuristic import HeuristicEvaluator
    from ringrift_ml.ai.minimax import MinimaxConfig, MinimaxPlayer
    from ringrift_ml.nn.players import make_player
    from ringrift_ml.nnue import NNUEEvaluator, load_nnue

    with tempfile.TemporaryDirectory() as tmp:
        for board in args.boards.split(","):
            nnue = Path(args.nnue) if args.nnue else _random_nnue(board, Path(tmp), args.pairwise)
            if args.model:
                model = Path(args.model)
            else:
                sys.path.insert(0, str(Path(__file__).parent))
                from selfplay_bench import default_model

                model = default_model(board, Path(tmp))
            w = load_nnue(nnue)
            items = _children(random_positions(board, args.players, args.positions, seed=args.seed), args.children)
            heur = HeuristicEvaluator.for_board(board, args.players)
            from ringrift_ml.nn.checkpoint import load_net
            from ringrift_ml.nn.evaluator import NetEvaluator
            from ringrift_ml.nn.infer import NetRunner

            if "eval" in kinds:
                net = NetEvaluator(NetRunner(load_net(model)[0]), cache_size=0)
                rates = {}
                me = NNUEEvaluator(w)
                for name, fn in (("nnue", NNUEEvaluator(w).values),
                                 ("nnue_float", NNUEEvaluator(w, quantised=False).values),
                                 ("nnue_one_seat", lambda g: me.value_of(g, g.current_player)),
                                 ("heuristic", heur.values), ("network_batch1", net.values)):
                    seconds = args.min_seconds if name != "network_batch1" else max(args.min_seconds, 3.0)
                    rates[name] = eval_rate(fn, items if name != "network_batch1" else items[:20], seconds)
                    print(json.dumps({"bench": "nnue", "kind": "eval", "board": board, "players": args.players,
                                      "evaluator": name, "evals_per_s": round(rates[name], 1),
                                      "sizes": list(w.sizes) if name.startswith("nnue") else None,
                                      "pairwise": w.pairwise if name.startswith("nnue") else None}), flush=True)
                print(json.dumps({"bench": "nnue", "kind": "ratio", "board": board,
                                  "nnue_over_network": round(rates["nnue"] / rates["network_batch1"], 1),
                                  "nnue_over_heuristic": round(rates["nnue"] / rates["heuristic"], 2),
                                  "one_seat_over_heuristic": round(rates["nnue_one_seat"] / rates["heuristic"], 2)}),
                      flush=True)
            if "leaf" in kinds:
                leaf = leaf_rates({"heuristic": heur, "nnue": NNUEEvaluator(w)}, items, 2 * args.min_seconds)
                print(json.dumps({"bench": "nnue", "kind": "leaf", "board": board, "players": args.players,
                                  "heuristic_evals_per_s": round(leaf["heuristic"], 1),
                                  "nnue_evals_per_s": round(leaf["nnue"], 1),
                                  "nnue_over_heuristic": round(leaf["nnue"] / leaf["heuristic"], 2),
                                  "sizes": list(w.sizes), "pairwise": w.pairwise}), flush=True)
            games = [g for g, _ in items[:args.searches]]
            if "search" in kinds:
                searchers = {"minimax": MinimaxPlayer(heur),
                             "minimax-nnue": make_player(f"minimax-nnue:{nnue}:1", board, args.players)[0]}
                for name, player in searchers.items():
                    player.think(games[0], Budget(nodes=16), seed=0)  # loads or compiles the search off the clock
                    nodes, depth, t = 0, [], time.perf_counter()
                    for i, g in enumerate(games):
                        player.think(g, Budget(nodes=args.nodes), seed=i)
                        nodes += player.last_nodes
                        depth.append(player.last_depth)
                    dt = time.perf_counter() - t
                    print(json.dumps({"bench": "nnue", "kind": "search", "board": board, "player": name,
                                      "nodes": args.nodes, "searches": len(games),
                                      "nodes_per_s": round(nodes / dt, 1),
                                      "mean_depth": round(float(np.mean(depth)), 2)}), flush=True)
            if "timed" in kinds:
                for name, ev in (("minimax", heur), ("minimax-nnue", NNUEEvaluator(w))):
                    player = MinimaxPlayer(ev)
                    player.think(games[0], Budget(nodes=16), seed=0)
                    depth, nodes = [], 0
                    for i, g in enumerate(games):
                        player.think(g, Budget(seconds=args.seconds), seed=i)
                        depth.append(player.last_depth)
                        nodes += player.last_nodes
                    print(json.dumps({"bench": "nnue", "kind": "timed", "board": board, "player": name,
                                      "seconds": args.seconds, "searches": len(games),
                                      "mean_depth": round(float(np.mean(depth)), 2), "min_depth": int(min(depth)),
                                      "max_depth": int(max(depth)),
                                      "nodes_per_s": round(nodes / (args.seconds * len(games)), 1)}), flush=True)
            # Time to a fixed depth: the trees differ (other values prune other branches),
            # so this, not nodes per second, is what an evaluator buys a search.
            for d in (args.depths if "depth" in kinds else []):
                secs = {}
                for name, ev in (("minimax", heur), ("minimax-nnue", NNUEEvaluator(w))):
                    player = MinimaxPlayer(ev, MinimaxConfig(max_depth=d))
                    player.think(games[0], Budget(nodes=16), seed=0)
                    nodes, t = 0, time.perf_counter()
                    for i, g in enumerate(games):
                        player.think(g, Budget(nodes=10**9), seed=i)
                        nodes += player.last_nodes
                    secs[name] = time.perf_counter() - t
                    print(json.dumps({"bench": "nnue", "kind": "depth", "board": board, "player": name, "depth": d,
                                      "searches": len(games), "seconds": round(secs[name], 3), "nodes": nodes}),
                          flush=True)
                print(json.dumps({"bench": "nnue", "kind": "depth_speedup", "board": board, "depth": d,
                                  "heuristic_over_nnue_time": round(secs["minimax"] / secs["minimax-nnue"], 2)}),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
