"""Operating characteristic of the loop's gate: how often a candidate of a given true
strength passes, and after how many games, under each rule at the horizon.

    python benchmarks/gate_oc.py --elo0 0 --elo1 35 --min-games 40 --max-games 200 \
        --diffs=-35,-17,0,17,35,70 --draw-rate 0

Rules: ``reject`` (an SPRT undecided at the horizon rejects), ``llr`` (the truncated
SPRT of ``LoopConfig.gate_truncation``: at the horizon the sign of the statistic
decides), and for reference ``katago`` (a fixed ``--max-games`` match passed at a score
of at least 50%, KataGo's gatekeeper), all three on the same simulated games
(``arena.simulated_scores``: independent results with the expected score of the Elo
difference).  Prints one JSON line per difference.
"""

import argparse
import json
import sys


def main(argv=None) -> int:
    from ringrift_ml.arena import SPRT, TRUNCATIONS, simulated_scores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elo0", type=float, default=0.0)
    ap.add_argument("--elo1", type=float, default=35.0)
    ap.add_argument("--min-games", type=int, default=40)
    ap.add_argument("--max-games", type=int, default=200)
    ap.add_argument("--diffs", default="-35,-17,0,17,35,70", help="true Elo differences, comma-separated")
    ap.add_argument("--draw-rate", type=float, default=0.0)
    ap.add_argument("--trials", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        diffs = [float(x) for x in args.diffs.split(",") if x.strip()]
        test = SPRT(elo0=args.elo0, elo1=args.elo1)
        if not diffs:
            raise ValueError("--diffs: give at least one Elo difference")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for d in diffs:
        try:
            out = {rule: test.operating_characteristic(d, args.min_games, args.max_games, rule, args.draw_rate,
                                                       args.trials, args.seed)
                   for rule in TRUNCATIONS}
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        # KataGo's rule on the very games the SPRT rules saw (same seed, same draws).
        scores = simulated_scores(d, args.draw_rate, args.trials, args.max_games, args.seed)
        katago = float((scores.mean(axis=1) >= 0.5).mean())
        p = out["llr"]["expected_score"]
        print(json.dumps({"elo_diff": d, "expected_score": p,
                          "pass_reject": round(out["reject"]["pass"], 4), "pass_llr": round(out["llr"]["pass"], 4),
                          "pass_katago": round(katago, 4),
                          "mean_games": round(out["llr"]["mean_games"], 1),
                          "sprt": f"{args.elo0:g}/{args.elo1:g}", "games": [args.min_games, args.max_games],
                          "draw_rate": args.draw_rate, "trials": args.trials}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
