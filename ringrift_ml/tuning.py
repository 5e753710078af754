"""CMA-ES tuning of the heuristic weights per board x player count.

The objective is the candidate's score (win 1, shared rank 0.5 per pairing, from final
ranks) against a fixed opponent pool over seeded games with rotating seats; CMA-ES
(Hansen, "The CMA Evolution Strategy: A Tutorial", 2016; the ``cma`` package)
minimises its negative.  Every generation the optimiser state is pickled next to the
result so an interrupted run resumes where it stopped; the history (best and mean
score per generation) is saved as JSON and as an SVG plot.  The tuned vector is
written into a weights file under ``tuned["<board>|<players>"]``; by default that is
the storage root's file, which ``HeuristicEvaluator.for_board`` reads.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import time
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm import tqdm

from .ai import Budget, HeuristicEvaluator, HeuristicPlayer, RandomPlayer
from .ai._k_features import FEATURE_NAMES
from .ai.heuristic import load_weights, weight_vector, weights_path
from .arena import play_game
from .rules import BOARD_TYPES


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """One CMA-ES run."""

    board: str
    """Board type."""
    players: int = 2
    """Player count (seats beyond the candidate are filled from the opponent pool)."""
    generations: int = 10
    """Generations to run (a resumed run continues up to this total)."""
    popsize: int = 8
    """Candidates per generation."""
    games_per_eval: int = 8
    """Games per candidate; seats rotate over them."""
    sigma0: float = 0.5
    """Initial step size in weight units."""
    seed: int = 0
    """Seeds CMA-ES and, with the generation, every game."""
    opponents: tuple = ("random", "heuristic")
    """Opponent pool: ``random`` and/or ``heuristic`` (the default weights)."""

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"board: unknown board {self.board!r}")
        if not 2 <= self.players <= 4:
            raise ValueError(f"players: 2-4, got {self.players}")
        if self.generations < 1 or self.popsize < 2 or self.games_per_eval < 1 or not self.sigma0 > 0:
            raise ValueError("generations >= 1, popsize >= 2, games_per_eval >= 1 and sigma0 > 0 required")
        bad = set(self.opponents) - {"random", "heuristic"}
        if bad or not self.opponents:
            raise ValueError(f"opponents: choose from random, heuristic; got {self.opponents}")


def _opponent(name: str, board: str, n: int, weights: Path):
    if name == "random":
        return RandomPlayer()
    return HeuristicPlayer(HeuristicEvaluator.for_board(board, n, path=weights), name="heuristic")


def score_weights(w: np.ndarray, cfg: TuneConfig, seed: int, scale: float = 0.35,
                  weights: Optional[Path] = None) -> float:
    """Mean pairwise score of a weight vector against the opponent pool (the
    ``heuristic`` opponent plays the weights file ``weights``, default ``weights_path()``)."""
    weights = Path(weights) if weights else weights_path()
    cand = HeuristicPlayer(HeuristicEvaluator(w, scale), name="candidate")
    n = cfg.players
    total = 0.0
    for g in range(cfg.games_per_eval):
        opps = [_opponent(cfg.opponents[(g + k) % len(cfg.opponents)], cfg.board, n, weights) for k in range(n - 1)]
        seat = g % n
        seats = opps[:seat] + [cand] + opps[seat:]
        res = play_game(seats, [Budget(nodes=100_000)] * n, cfg.board, seed * 1000 + g)
        if not res.ranks:
            total += 0.5
            continue
        mine = res.ranks[seat + 1]
        others = [r for s, r in res.ranks.items() if s != seat + 1]
        total += np.mean([1.0 if mine < r else (0.5 if mine == r else 0.0) for r in others])
    return total / cfg.games_per_eval


def tune(cfg: TuneConfig, workdir: Path, progress: bool = True, weights: Optional[Path] = None) -> dict:
    """Run (or resume) CMA-ES; returns the result record written to ``workdir``.

    ``weights`` is the weights file the search starts from and the ``heuristic``
    opponent plays (default ``weights_path()``)."""
    weights = Path(weights) if weights else weights_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cma warns when matplotlib is absent
        import cma  # imported here: only tuning needs it

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    state_path = workdir / f"cma_{cfg.board}_{cfg.players}p.pkl"
    hist_path = workdir / f"cma_{cfg.board}_{cfg.players}p_history.json"
    x0 = weight_vector(load_weights(cfg.board, cfg.players, weights))
    if state_path.exists():
        with open(state_path, "rb") as fh:
            saved = pickle.load(fh)
        if saved["config"] != dataclasses.asdict(cfg) | {"generations": saved["config"]["generations"]}:
            raise ValueError(f"{state_path}: saved run has a different configuration; move it away to start anew")
        es, history = saved["es"], saved["history"]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            es = cma.CMAEvolutionStrategy(x0.tolist(), cfg.sigma0, {"popsize": cfg.popsize, "seed": cfg.seed + 1,
                                                                   "verbose": -9})
        history = []
    bar = tqdm(total=cfg.generations, initial=len(history), desc=f"cma {cfg.board} {cfg.players}p",
               disable=not progress)
    while len(history) < cfg.generations:
        gen = len(history)
        xs = es.ask()
        scores = [score_weights(np.asarray(x), cfg, seed=cfg.seed * 10_000 + gen * 100 + i, weights=weights)
                  for i, x in enumerate(xs)]
        es.tell(xs, [-s for s in scores])
        best = int(np.argmax(scores))
        history.append({"generation": gen, "best_score": scores[best], "mean_score": float(np.mean(scores)),
                        "best_weights": list(map(float, xs[best])), "time": time.time()})
        with open(state_path.with_suffix(".tmp"), "wb") as fh:
            pickle.dump({"es": es, "history": history, "config": dataclasses.asdict(cfg)}, fh)
        state_path.with_suffix(".tmp").replace(state_path)
        bar.update(1)
    bar.close()
    best_gen = max(history, key=lambda h: h["best_score"])
    result = {
        "board": cfg.board,
        "players": cfg.players,
        "weights": dict(zip(FEATURE_NAMES, best_gen["best_weights"])),
        "mean_weights": dict(zip(FEATURE_NAMES, map(float, es.result.xfavorite))),
        "best_score": best_gen["best_score"],
        "generations": len(history),
        "history": [{k: h[k] for k in ("generation", "best_score", "mean_score")} for h in history],
    }
    hist_path.write_text(json.dumps(result, indent=2))
    (workdir / f"cma_{cfg.board}_{cfg.players}p_history.svg").write_text(history_svg(result["history"]))
    return result


def save_tuned(result: dict, weights_file: Path, version: Optional[str] = None, base: Optional[Path] = None) -> Path:
    """Store ``result``'s mean weights under ``tuned["board|players"]``, written to a
    temporary name and renamed.  A new file starts as a copy of ``base`` (default
    ``weights_path()``)."""
    weights_file = Path(weights_file)
    base = Path(base) if base else Path(weights_path())
    if weights_file.exists():
        data = json.loads(weights_file.read_text())
    else:
        data = json.loads(base.read_text()) if base.exists() else {}
        data.setdefault("tuned", {})
    key = f"{result['board']}|{result['players']}"
    data.setdefault("tuned", {})[key] = {
        "version": version or time.strftime("cma-%Y%m%d-%H%M%S"),
        "scale": 0.35,
        "source": f"CMA-ES, {result['generations']} generations, best score {result['best_score']:.3f}",
        "weights": result["mean_weights"],
    }
    weights_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = weights_file.with_name(weights_file.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(weights_file)
    return weights_file


def history_svg(history: list, width: int = 480, height: int = 240) -> str:
    """A small line plot of best and mean score per generation."""
    pad = 32
    n = max(len(history), 2)

    def pts(key):
        out = []
        for i, h in enumerate(history):
            x = pad + (width - 2 * pad) * i / (n - 1)
            y = height - pad - (height - 2 * pad) * h[key]
            out.append(f"{x:.1f},{y:.1f}")
        return " ".join(out)

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>'
        f'<text x="{pad}" y="{pad - 8}" font-size="12">score (0-1) by generation: best (blue), mean (grey)</text>'
        f'<polyline fill="none" stroke="steelblue" stroke-width="2" points="{pts("best_score")}"/>'
        f'<polyline fill="none" stroke="grey" stroke-width="1" points="{pts("mean_score")}"/>'
        "</svg>"
    )
