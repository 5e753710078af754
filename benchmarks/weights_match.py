"""Heuristic weights against each other: fixed-size matches of one-ply heuristic players.

Each pair ``A:B`` of weights files (``packaged`` for the packaged defaults; a storage
root's version files are ``<root>/weights/versions/<version>.json``) plays ``--games``
games on the partition's own player count, through the same code as the confirming test
of ``ringrift tune`` (``tuning.confirm_weights``: two random opening decisions per game;
two players with seats alternating, 3-4 players with ``A`` in one rotating seat against
``B`` in the others, scored pairwise from the final ranks), but never stopped early.  One
JSON line per pair: ``A``'s score and its 95% interval.  One-ply weight vectors are far
from transitive, so a tuned vector is worth checking against more than the weights it
was tuned against (docs/pipeline.md).

    python benchmarks/weights_match.py --board square8 --pairs S/weights/versions/X.json:packaged,S/weights/versions/X.json:S/weights/versions/Y.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def weights_path(name: str) -> Path:
    """A weights file, or the packaged defaults for ``packaged``; ``ValueError`` if missing."""
    from ringrift_ml.ai.heuristic import packaged_weights_path

    if name == "packaged":
        return packaged_weights_path()
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"--pairs: {name} is not a file (give a weights file or 'packaged')")
    return path


def parse_pairs(text: str) -> list:
    """``"A:B,C:D"`` as ``[(A, B), (C, D)]``; ``ValueError`` naming a malformed pair."""
    pairs = []
    for item in text.split(","):
        parts = item.strip().rsplit(":", 1)
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--pairs: {item!r} is not A:B")
        pairs.append((parts[0], parts[1]))
    return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--num-players", dest="players", type=int, default=2, help="player count")
    ap.add_argument("--pairs", required=True, help="comma-separated A:B pairs of weights files or 'packaged'")
    ap.add_argument("--games", type=int, default=400, help="games per pair (all played)")
    ap.add_argument("--seed", type=int, default=50_000, help="game i of a pair has seed seed + i")
    args = ap.parse_args(argv)

    from ringrift_ml.tuning import confirm_weights

    try:
        if args.games < 1 or not 2 <= args.players <= 4:
            raise ValueError(f"--games >= 1 and --num-players 2-4 required, got {args.games}, {args.players}")
        pairs = [(a, b, weights_path(a), weights_path(b)) for a, b in parse_pairs(args.pairs)]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for a, b, pa, pb in pairs:
        out = confirm_weights(args.board, args.players, pa, pb, max_games=args.games, min_games=args.games,
                              seed=args.seed)
        print(json.dumps({"bench": "weights_match", "board": args.board, "players": args.players, "a": a, "b": b,
                          "games": out["games"], "score": round(float(out["score"]), 4), "ci95": out["ci95"]}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
