"""CMA-ES tuning of the heuristic weights per board x player count.

The objective is the candidate's score (win 1, shared rank 0.5 per pairing, from final
ranks) against a fixed opponent pool over seeded games with rotating seats; CMA-ES
(Hansen, "The CMA Evolution Strategy: A Tutorial", 2016; the ``cma`` package)
minimises its negative.  The history (best and mean score per generation) is saved
as JSON and as an SVG plot.  The tuned vector is written into a weights file under
``tuned["<board>|<players>"]``; by default that is the storage root's file, which
``HeuristicEvaluator.for_board`` reads.

Resuming
--------
Nothing is pickled.  After every generation ``cma_<board>_<players>p_state.json`` in
the work directory is rewritten (temporary name, then rename) as a log from which the
optimiser is rebuilt (format ``ringrift-lab/cma-state``, version 1)::

    {"format": "ringrift-lab/cma-state", "format_version": 1,
     "cma_version": "...", "numpy_version": "...",           (informative)
     "config": {...TuneConfig...}, "features": [...FEATURE_NAMES...],
     "x0": [...start vector...], "sigma0": ..., "options": {"popsize", "seed", "verbose"},
     "generations": [{"generation": g, "candidates": [[...] x popsize], "fitness": [...],
                      "best_score", "mean_score", "best_weights", "time"}, ...],
     "after": {"mean": [...], "sigma": ..., "rng": {numpy RandomState of cma's stream}}}

A resumed run builds ``cma.CMAEvolutionStrategy`` again from ``x0`` (the logged start,
not the weights file, which may have been rewritten with tuned weights since), the
configuration's ``sigma0`` and options (never options from the file: cma evaluates
string options), then replays every logged generation: ``ask()``, check that the
candidates equal the logged ones to within 1e-12, ``tell()`` the logged fitness
values.  Finally the mean, step size and random state must match ``after``.  Any
mismatch (another cma or numpy version, a changed configuration, an edited file)
is refused with a ``ValueError``; move the file away to start anew.

The replay is exact because the only randomness in CMA-ES is numpy's global
``RandomState``, which cma seeds from its ``seed`` option in the constructor and draws
from in ``ask``/``tell``.  :class:`_PrivateRng` makes that a private stream: it swaps
cma's state into the global generator around each call into cma and the caller's
state back out, so nothing else (games, other code in the process, the caller)
consumes cma's draws or is perturbed by them, and cma's stream depends only on the
seed and the sequence of ask/tell calls, which the log reproduces.  Fitness values
and candidates are stored as JSON floats, which round-trip exactly.

A ``cma_<board>_<players>p.pkl`` left by an earlier version (which pickled the
optimiser) is never opened: its presence is an error.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import math
import time
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm import tqdm

from .ai import Budget, HeuristicEvaluator, HeuristicPlayer, RandomPlayer
from .atomic import write_bytes, write_text
from .ai._k_features import FEATURE_NAMES
from .ai.heuristic import load_weights, packaged_weights_path, weight_vector
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
    """Opponent pool: ``random``, ``heuristic`` (the weights the tuned ones would
    replace: the weights file's entry for the partition, else the packaged defaults)
    and ``packaged`` (the packaged defaults always).  One-ply heuristics are far from
    transitive (docs/pipeline.md), so a second round tuned against the first round's
    weights alone can beat them without beating the defaults: ``heuristic,packaged``
    keeps both in view."""
    random_opening: int = 2
    """Decisions played at random (from each game's seed) before the players take over
    in every fitness game.  The one-ply heuristic is nearly deterministic: without them
    a candidate's games against it repeat a few lines, and CMA-ES learns to beat those
    lines rather than the opponent (docs/pipeline.md: a vector tuned that way beat the
    weights it was tuned against in 99% of games and was no stronger than them against
    the packaged weights).  0: the games as played before this field existed."""
    evaluator: str = "games"
    """Fitness: ``games`` (score against the opponent pool) or ``neural`` (the network's
    value of the positions the candidate's choices reach, ``ringrift_ml.neural_fitness``;
    needs a model that beats the heuristic first)."""
    positions: int = 256
    """Neural fitness: the fixed positions every candidate is scored on."""
    gate_games: int = 100
    """Neural fitness: games of the network against the heuristic before tuning starts."""
    gate_simulations: int = 64
    """Neural fitness: the network plays that test under search with this budget (0: its policy alone)."""

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"board: unknown board {self.board!r}")
        if not 2 <= self.players <= 4:
            raise ValueError(f"players: 2-4, got {self.players}")
        if self.generations < 1 or self.popsize < 2 or self.games_per_eval < 1 or not self.sigma0 > 0:
            raise ValueError("generations >= 1, popsize >= 2, games_per_eval >= 1 and sigma0 > 0 required")
        if self.seed < 0:
            # cma treats seed + 1 == 0 as "seed from the clock", which no run could resume.
            raise ValueError(f"seed: must be >= 0, got {self.seed}")
        bad = set(self.opponents) - {"random", "heuristic", "packaged"}
        if bad or not self.opponents:
            raise ValueError(f"opponents: choose from random, heuristic, packaged; got {self.opponents}")
        if self.evaluator not in ("games", "neural"):
            raise ValueError(f"evaluator: 'games' or 'neural', got {self.evaluator!r}")
        if self.random_opening < 0:
            raise ValueError(f"random_opening: must be >= 0, got {self.random_opening}")
        if self.positions < 1 or self.gate_games < 1 or self.gate_simulations < 0:
            raise ValueError("positions and gate_games must be positive, gate_simulations >= 0")


def _opponent(name: str, board: str, n: int, weights: Path):
    if name == "random":
        return RandomPlayer()
    if name == "packaged":
        return HeuristicPlayer(HeuristicEvaluator.for_board(board, n, path=packaged_weights_path()), name="packaged")
    return HeuristicPlayer(HeuristicEvaluator.for_board(board, n, path=weights), name="heuristic")


def score_weights(w: np.ndarray, cfg: TuneConfig, seed: int, scale: float = 0.35,
                  weights: Optional[Path] = None) -> float:
    """Mean pairwise score of a weight vector against the opponent pool (the
    ``heuristic`` opponent plays the weights file ``weights``, default ``packaged_weights_path()``)."""
    weights = Path(weights) if weights else packaged_weights_path()
    cand = HeuristicPlayer(HeuristicEvaluator(w, scale), name="candidate")
    n = cfg.players
    total = 0.0
    for g in range(cfg.games_per_eval):
        opps = [_opponent(cfg.opponents[(g + k) % len(cfg.opponents)], cfg.board, n, weights) for k in range(n - 1)]
        seat = g % n
        seats = opps[:seat] + [cand] + opps[seat:]
        res = play_game(seats, [Budget(nodes=100_000)] * n, cfg.board, seed * 1000 + g,
                        random_opening=cfg.random_opening)
        if not res.ranks:
            total += 0.5
            continue
        mine = res.ranks[seat + 1]
        others = [r for s, r in res.ranks.items() if s != seat + 1]
        total += np.mean([1.0 if mine < r else (0.5 if mine == r else 0.0) for r in others])
    return total / cfg.games_per_eval


STATE_FORMAT = "ringrift-lab/cma-state"
STATE_FORMAT_VERSION = 1
REPLAY_TOLERANCE = 1e-12
"""Largest difference allowed between a replayed and a logged candidate coordinate."""


class _PrivateRng:
    """cma's stream of numpy's global ``RandomState``, swapped in only while cma runs."""

    def __init__(self):
        self.state = None

    @contextlib.contextmanager
    def active(self):
        outer = np.random.get_state()
        if self.state is not None:
            np.random.set_state(self.state)
        try:
            yield
        finally:
            self.state = np.random.get_state()
            np.random.set_state(outer)

    def to_json(self) -> dict:
        name, key, pos, has_gauss, cached = self.state
        key = base64.b64encode(np.asarray(key, dtype="<u4").tobytes()).decode("ascii")
        return {"bit_generator": str(name), "pos": int(pos), "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached), "key_uint32_le_base64": key}


def _state_paths(workdir: Path, cfg: TuneConfig) -> tuple:
    stem = f"cma_{cfg.board}_{cfg.players}p"
    return workdir / f"{stem}_state.json", workdir / f"{stem}.pkl"


def _cma_options(cfg: TuneConfig) -> dict:
    return {"popsize": cfg.popsize, "seed": cfg.seed + 1, "verbose": -9}


_LATER_FIELDS = {"evaluator": "games", "positions": 256, "gate_games": 100, "gate_simulations": 64,
                 "random_opening": 0}
"""TuneConfig fields added after format version 1 logs were first written, with the values those runs used."""


def _config_json(cfg: TuneConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _new_strategy(cma, x0: list, cfg: TuneConfig) -> tuple:
    rng = _PrivateRng()
    with rng.active(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = cma.CMAEvolutionStrategy(list(x0), float(cfg.sigma0), _cma_options(cfg))
    return es, rng


def _numbers(value, n: Optional[int]) -> bool:
    """``value`` is a list of ``n`` (any if None) finite JSON numbers (no bools, no strings)."""
    return (isinstance(value, list) and (n is None or len(value) == n)
            and all((type(v) is float and math.isfinite(v)) or (type(v) is int and abs(v) < 2 ** 53)
                    for v in value))


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


def _after(es, rng: _PrivateRng) -> dict:
    return {"mean": [float(v) for v in es.mean], "sigma": float(es.sigma), "rng": rng.to_json()}


def _write_state(path: Path, doc: dict) -> None:
    write_text(path, json.dumps(doc, indent=1, allow_nan=False))


def _resume(cma, state_path: Path, cfg: TuneConfig) -> tuple:
    """Rebuild the strategy from the log in ``state_path``; ``(es, rng, doc)``."""
    again = "; move it away to start anew"
    try:
        doc = json.loads(state_path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{state_path}: not a JSON tuning state ({type(e).__name__}: {e}){again}") from None
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        fmt = doc.get("format") if isinstance(doc, dict) else None
        raise ValueError(f"{state_path}: format {fmt!r} is not {STATE_FORMAT!r}{again}")
    if type(doc.get("format_version")) is not int or doc["format_version"] != STATE_FORMAT_VERSION:
        raise ValueError(f"{state_path}: format_version {doc.get('format_version')!r} is not supported "
                         f"(this code reads version {STATE_FORMAT_VERSION}){again}")
    saved = doc.get("config")
    if isinstance(saved, dict):  # logs written before the evaluator existed scored by games
        saved = {**_LATER_FIELDS, **saved}
    if not isinstance(saved, dict) or saved != _config_json(cfg) | {"generations": saved.get("generations")}:
        raise ValueError(f"{state_path}: saved run has a different configuration{again}")
    if doc.get("features") != list(FEATURE_NAMES):
        raise ValueError(f"{state_path}: saved run tuned other features ({doc.get('features')}){again}")
    n = len(FEATURE_NAMES)
    x0, log, after = doc.get("x0"), doc.get("generations"), doc.get("after")
    if not _numbers(x0, n):
        raise ValueError(f"{state_path}: x0 is not a list of {n} finite numbers{again}")
    if doc.get("sigma0") != cfg.sigma0 or doc.get("options") != _cma_options(cfg):
        raise ValueError(f"{state_path}: saved sigma0/options {doc.get('sigma0')!r}/{doc.get('options')!r} "
                         f"differ from this configuration's{again}")
    if not isinstance(log, list) or not isinstance(after, dict):
        raise ValueError(f"{state_path}: generations log or final state missing{again}")
    for g, entry in enumerate(log):
        ok = (isinstance(entry, dict) and entry.get("generation") == g
              and isinstance(entry.get("candidates"), list) and len(entry["candidates"]) == cfg.popsize
              and all(_numbers(x, n) for x in entry["candidates"])
              and _numbers(entry.get("fitness"), cfg.popsize)
              and _numbers([entry.get("best_score"), entry.get("mean_score"), entry.get("time")], 3)
              and _numbers(entry.get("best_weights"), n))
        if not ok:
            raise ValueError(f"{state_path}: generation {g} of the log is malformed{again}")

    es, rng = _new_strategy(cma, x0, cfg)
    mismatch = (f"the log does not match this cma version ({cma.__version__}), numpy version "
                f"({np.__version__}) or configuration (it was written with cma {doc.get('cma_version')}, "
                f"numpy {doc.get('numpy_version')}){again}")
    for g, entry in enumerate(log):
        with rng.active():
            xs = es.ask()
        diff = _max_diff(xs, entry["candidates"])
        if not diff <= REPLAY_TOLERANCE:
            raise ValueError(f"{state_path}: replaying generation {g}, cma asked candidates {diff:.3g} away "
                             f"from the logged ones (tolerance {REPLAY_TOLERANCE:g}): {mismatch}")
        with rng.active():
            es.tell(xs, [float(f) for f in entry["fitness"]])
    now = _after(es, rng)
    if (not _numbers(after.get("mean"), n) or not _numbers([after.get("sigma")], 1)
            or not _max_diff(now["mean"], after["mean"]) <= REPLAY_TOLERANCE
            or not abs(now["sigma"] - after["sigma"]) <= REPLAY_TOLERANCE * max(1.0, now["sigma"])
            or now["rng"] != after.get("rng")):
        raise ValueError(f"{state_path}: after replaying {len(log)} generations the optimiser's mean, step "
                         f"size or random state differ from the saved ones: {mismatch}")
    return es, rng, doc


def tune(cfg: TuneConfig, workdir: Path, progress: bool = True, weights: Optional[Path] = None,
         model: Optional[Path] = None) -> dict:
    """Run (or resume) CMA-ES; returns the result record written to ``workdir``.

    ``weights`` is the weights file a new search starts from and the ``heuristic``
    opponent plays (default ``packaged_weights_path()``).  A run resumes from the JSON log in
    ``workdir`` (see the module docstring); a log that cannot be replayed exactly is
    refused with a ``ValueError``.  ``model``: the network of the ``neural`` evaluator;
    a new run first plays it against the heuristic and refuses to tune (``ValueError``)
    unless it wins (the test's figures are kept in the log)."""
    weights = Path(weights) if weights else packaged_weights_path()
    if (cfg.evaluator == "neural") != (model is not None):
        raise ValueError("model: the neural evaluator needs a model, and only it uses one")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cma warns when matplotlib is absent
        import cma  # imported here: only tuning needs it

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    state_path, legacy_path = _state_paths(workdir, cfg)
    hist_path = workdir / f"cma_{cfg.board}_{cfg.players}p_history.json"
    if legacy_path.exists():
        raise ValueError(f"{legacy_path}: optimiser state pickled by an earlier version; it is never loaded "
                         "(unpickling a file can run arbitrary code). Move it away to start this run anew.")
    if state_path.exists():
        es, rng, doc = _resume(cma, state_path, cfg)
    else:
        x0 = [float(v) for v in weight_vector(load_weights(cfg.board, cfg.players, weights))]
        es, rng = _new_strategy(cma, x0, cfg)
        doc = {"format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION,
               "features": list(FEATURE_NAMES), "x0": x0, "sigma0": cfg.sigma0, "options": _cma_options(cfg),
               "generations": []}
    doc.update(cma_version=cma.__version__, numpy_version=np.__version__, config=_config_json(cfg))
    fitness_of = None
    if cfg.evaluator == "neural":
        from .neural_fitness import NeuralFitness, require_network_beats_heuristic

        if "network_gate" not in doc:
            out = require_network_beats_heuristic(model, cfg.board, cfg.players, simulations=cfg.gate_simulations,
                                                  games=cfg.gate_games, seed=cfg.seed, weights=weights)
            doc["network_gate"] = {"model": str(model), "score": out["score"], "ci95": list(out["ci95"]),
                                   "games": out["games"]}
        nf = NeuralFitness(model, cfg.board, cfg.players, positions=cfg.positions, seed=cfg.seed)
        fitness_of = nf.score
    log = doc["generations"]
    bar = tqdm(total=cfg.generations, initial=len(log), desc=f"cma {cfg.board} {cfg.players}p",
               disable=not progress)
    while len(log) < cfg.generations:
        gen = len(log)
        with rng.active():
            xs = es.ask()
        if fitness_of is not None:
            scores = [float(fitness_of(np.asarray(x))) for x in xs]
        else:
            scores = [float(score_weights(np.asarray(x), cfg, seed=cfg.seed * 10_000 + gen * 100 + i,
                                          weights=weights))
                      for i, x in enumerate(xs)]
        fitness = [-s for s in scores]
        with rng.active():
            es.tell(xs, fitness)
        best = int(np.argmax(scores))
        log.append({"generation": gen, "best_score": scores[best], "mean_score": float(np.mean(scores)),
                    "best_weights": [float(v) for v in xs[best]], "time": time.time(),
                    "candidates": [[float(v) for v in x] for x in xs], "fitness": fitness})
        doc["after"] = _after(es, rng)
        _write_state(state_path, doc)
        bar.update(1)
    bar.close()
    with rng.active():
        xfavorite = [float(v) for v in es.result.xfavorite]
    best_gen = max(log, key=lambda h: h["best_score"])
    result = {
        "board": cfg.board,
        "players": cfg.players,
        "weights": dict(zip(FEATURE_NAMES, best_gen["best_weights"])),
        "mean_weights": dict(zip(FEATURE_NAMES, xfavorite)),
        "best_score": best_gen["best_score"],
        "generations": len(log),
        "history": [{**{k: h[k] for k in ("generation", "best_score", "mean_score")},
                     "mean_score_se": _mean_se([-f for f in h.get("fitness") or []])} for h in log],
        "evaluator": cfg.evaluator,
        "network_gate": doc.get("network_gate"),
    }
    hist_path.write_text(json.dumps(result, indent=2))
    from .plots import tuning_plot

    tuning_plot(result["history"], f"CMA-ES {cfg.board} {cfg.players}p ({cfg.evaluator})",
                workdir / f"cma_{cfg.board}_{cfg.players}p_history.svg")
    return result


def _mean_se(scores: list) -> Optional[float]:
    """Standard error of a generation's mean score (None below two candidates)."""
    if len(scores) < 2:
        return None
    return float(np.std(scores, ddof=1) / math.sqrt(len(scores)))


def save_tuned(result: dict, weights_file: Path, version: Optional[str] = None, base: Optional[Path] = None) -> Path:
    """Store ``result``'s mean weights under ``tuned["board|players"]``, written to a
    temporary name and renamed.  A new file starts as a copy of ``base`` (default
    ``packaged_weights_path()``)."""
    weights_file = Path(weights_file)
    base = Path(base) if base else packaged_weights_path()
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
    write_text(weights_file, json.dumps(data, indent=2) + "\n")
    return weights_file


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock beside ``path``: partitions share one weights file, and tuning
    runs of several partitions must not lose one's update to another's."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclasses.dataclass(frozen=True)
class ConfirmConfig:
    """The confirming test tuned weights must pass before they replace the current ones
    (:func:`confirm_weights`)."""

    max_games: int = 100
    """At most this many games (0: no test; the tuned weights are always accepted)."""
    min_games: int = 20
    """Two players: no decision before this many games."""
    elo1: float = 35.0
    """Two players: the SPRT's alternative (the tuned weights this many Elo stronger)."""

    def __post_init__(self):
        if self.max_games < 0 or self.min_games < 1 or not self.elo1 > 0:
            raise ValueError("confirm: max_games >= 0, min_games >= 1 and elo1 > 0 required")


def recorded_config(cfg: TuneConfig, confirm: ConfirmConfig) -> dict:
    """A run's settings as ``lake.heuristic_weights`` records them (JSON values): every
    ``TuneConfig`` field but the partition's, then ``ConfirmConfig``'s as
    ``confirm_<field>`` (the ``heuristic_weights`` asset's config has these keys)."""
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()
           if k not in ("board", "players")}
    out.update({f"confirm_{k}": v for k, v in dataclasses.asdict(confirm).items()})
    return out


def tune_and_accept(cfg: TuneConfig, workdir: Path, target: Path, *, confirm: ConfirmConfig = ConfirmConfig(),
                    model: Optional[Path] = None, progress: bool = True) -> dict:
    """Tune, then let the tuned weights replace the partition's entry of the weights file
    ``target`` only if they pass a confirming test against the weights they would
    replace (``target`` if it exists, else the packaged defaults; ``confirm.max_games``
    0: no test, always accepted).  The tuned vector is tested in a copy of the current file
    (``<workdir>/candidate_weights.json``); ``target`` is updated under a lock.  Returns
    ``{result, confirmation (None without a test), accepted, weights (bytes: the file
    now in force if accepted, else the rejected candidate's)}``."""
    target = Path(target)
    current = target if target.is_file() else packaged_weights_path()
    result = tune(cfg, workdir, progress=progress, weights=current, model=model)
    test = confirm
    confirm = None
    cand = Path(workdir) / "candidate_weights.json"
    write_bytes(cand, current.read_bytes())
    save_tuned(result, cand)
    if test.max_games:
        confirm = confirm_weights(cfg.board, cfg.players, cand, current, max_games=test.max_games,
                                  min_games=min(test.min_games, test.max_games), elo1=test.elo1, seed=cfg.seed)
    accepted = confirm is None or bool(confirm["accepted"])
    if accepted:
        with _locked(target):
            save_tuned(result, target, base=packaged_weights_path())
            data = target.read_bytes()
    else:
        data = cand.read_bytes()  # kept for inspection; the current weights stay
    return {"result": result, "confirmation": confirm, "accepted": accepted, "weights": data}


def confirm_weights(board: str, players: int, candidate: Path, current: Path,
                    max_games: int = ConfirmConfig.max_games, min_games: int = ConfirmConfig.min_games,
                    elo1: float = ConfirmConfig.elo1, seed: int = 0, concurrency: int = 8) -> dict:
    """A confirming test of tuned weights (``candidate``, a weights file) against the
    weights they would replace (``current``), one-ply heuristic players on the
    partition's own player count.  Two players: a sequential probability ratio test
    (H1: the candidate is ``elo1`` Elo stronger), seats alternating, two random opening
    decisions per game.  Three or four: ``max_games`` games with the candidate in one
    seat (rotating) against the current weights in the others, scored pairwise from
    the final ranks; accepted when the 95% interval of that score lies above 0.5.
    Returns ``{"accepted", "games", "score", "ci95", ...}``."""
    from .ai.games import GameJob, play_games
    from .arena import SPRT, sequential_match, wilson

    cand = HeuristicPlayer(HeuristicEvaluator.for_board(board, players, Path(candidate)), name="tuned")
    cur = HeuristicPlayer(HeuristicEvaluator.for_board(board, players, Path(current)), name="current")
    budget = Budget(nodes=100_000)
    if players == 2:
        out = sequential_match(cand, cur, budget, budget, board, SPRT(elo0=0.0, elo1=elo1), max_games=max_games,
                               min_games=min_games, seed=seed, progress=False, concurrency=concurrency,
                               random_opening=2)
        return {"accepted": out["decision"] == "H1", "test": f"SPRT 0/{elo1:g} Elo", **out}
    jobs = []
    for g in range(max_games):
        seat = g % players
        seats = [cur] * players
        seats[seat] = cand
        jobs.append(GameJob(board, seats, [budget] * players, seed + g, random_opening=2, tag=seat + 1))
    points = games = 0.0
    for pg in play_games(jobs, concurrency=concurrency):
        ranks = pg.ranks
        me = pg.job.tag
        for s in range(1, players + 1):
            if s != me:
                games += 1
                if ranks:
                    points += 1.0 if ranks[me] < ranks[s] else (0.5 if ranks[me] == ranks[s] else 0.0)
                else:
                    points += 0.5
    lo, hi = wilson(points, int(games))
    return {"accepted": lo > 0.5, "test": "pairwise score interval above 0.5", "games": max_games,
            "pairs": int(games), "score": round(points / games, 4), "ci95": [round(lo, 4), round(hi, 4)]}
