"""How closely an NNUE's integer head follows its float head (JSON lines).

For an NNUE file, on the positions of ``--games`` seeded heuristic games (8 random
opening decisions each), the quantised value of every seat against the float value:
correlation, RMS difference and mean difference, for three quantisations of the same
float weights:

* ``single``: one scale of ``1 / QB`` for every head weight and the division's floor
  (the scheme before per-output scales; computed here in NumPy);
* ``own``: each output's own power-of-two scale and rounding, no bias correction
  (``NNUEWeights.quantised`` with ``qbias`` emptied; the compiled evaluator);
* ``corrected``: the same with bias corrections: the file's own, or, with
  ``--calibrate-games N``, measured on N other games' positions
  (``nnue.calibrate.correct_quantisation``, as ``ringrift nnue calibrate`` does).

    python benchmarks/nnue_quant.py --nnue F --num-players 3 --games 40 --seed 5 --calibrate-games 60 --calibrate-seed 7
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np


def _single_scale_values(weights, states) -> np.ndarray:
    """Every seat's value under one head scale of ``1 / QB`` and floored divisions: the
    integer arrays of that scheme run through the NumPy integer head of
    ``nnue.calibrate.head_layers``."""
    from ringrift_ml.ai._k_nnue import QA, QB
    from ringrift_ml.nnue.calibrate import head_inputs, head_layers

    xf, xq = head_inputs(weights, states)
    q = {}
    for key, w, b in (("L1", weights.L1w, weights.L1b), ("L2", weights.L2w, weights.L2b)):
        q[key + "wq"] = np.rint(w * QB).astype(np.int64)
        q[key + "bq"] = np.rint(b * QA * QB).astype(np.int64)
        q[key + "dq"] = np.full(w.shape[1], QB, dtype=np.int64)
    q.update(Owq=np.rint(weights.Ow * QB).astype(np.int64), Obq=int(round(weights.Ob * QA * QB)), Odq=QB)
    if max(np.abs(q["L1wq"]).max(), np.abs(q["L2wq"]).max(), np.abs(q["Owq"]).max()) > 127:
        raise ValueError("nnue_quant: a head weight exceeds int8 at one scale of 1/QB")
    return head_layers(weights, xf, xq, q)["value"][0]


def _figures(q: np.ndarray, f: np.ndarray) -> dict:
    d = q - f
    corr = None if q.std() == 0 or f.std() == 0 else round(float(np.corrcoef(q, f)[0, 1]), 5)
    return {"corr": corr, "rms": round(float(np.sqrt(np.mean(d ** 2))), 5),
            "mean": round(float(np.mean(d)), 5), "max_abs": round(float(np.max(np.abs(d))), 5)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnue", required=True, help="an NNUE file")
    ap.add_argument("--num-players", dest="players", type=int, required=True, help="players per game")
    ap.add_argument("--games", type=int, default=40, help="heuristic games whose positions are measured")
    ap.add_argument("--seed", type=int, default=5, help="those games' seed")
    ap.add_argument("--calibrate-games", type=int, default=0,
                    help="measure the bias corrections on this many other games (default 0: the file's own)")
    ap.add_argument("--calibrate-seed", type=int, default=7, help="the calibration games' seed")
    args = ap.parse_args(argv)
    checks = (("--num-players", args.players, args.players in (2, 3, 4), "2, 3 or 4"),
              ("--games", args.games, args.games >= 1, "at least 1"),
              ("--calibrate-games", args.calibrate_games, args.calibrate_games >= 0, "at least 0"))
    for name, value, ok, want in checks:
        if not ok:
            print(f"error: {name} must be {want}, got {value}", file=sys.stderr)
            return 2

    from ringrift_ml.distill import _games, played_positions
    from ringrift_ml.nnue import NNUEEvaluator, load_nnue
    from ringrift_ml.nnue.calibrate import correct_quantisation

    try:
        w = load_nnue(args.nnue)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    quiet = lambda m: None  # noqa: E731
    states = played_positions(w.board, args.players, args.games, seed=args.seed, log=quiet)
    games = _games(w.board, states)
    # One seat per row, as the head sees them (position-major, seat-minor).
    f = np.ravel([NNUEEvaluator(w, quantised=False).values(g) for g in games])
    plain = dataclasses.replace(w, qbias={})
    corrected = w
    if args.calibrate_games:
        cal = played_positions(w.board, args.players, args.calibrate_games, seed=args.calibrate_seed, log=quiet)
        corrected, _ = correct_quantisation(w, cal, seed=args.calibrate_seed)
    rows = {"single": _single_scale_values(w, states), "own": np.ravel([NNUEEvaluator(plain).values(g) for g in games])}
    if corrected.qbias:
        rows["corrected"] = np.ravel([NNUEEvaluator(corrected).values(g) for g in games])
    for scheme, q in rows.items():
        print(json.dumps({"kind": "nnue_quant", "nnue": args.nnue, "board": w.board, "players": args.players,
                          "positions": len(states), "scheme": scheme, **_figures(q, f)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
