"""A campaign: the closed loop on a list of partitions, each within a CPU budget, then
each partition's final best against ``heuristic`` and one summary table.

``ringrift campaign`` runs it from a shell; in Dagster the loop sensor runs the same
generations from the budget file (``cpu_hours`` per partition) and the
``campaign_summary`` asset evaluates and tabulates.  Everything is resumable: a
partition's budget is counted from its registry (earlier runs included), and an
evaluation already in ``lake.evaluations`` for the same network, opponent, games and
seed is read back instead of replayed.  So the same command after an interruption
finishes the rest.

Each partition's loop settings come from :func:`ringrift_ml.boards.loop_defaults`
(small boards: the loop's own defaults; big boards: fewer games and simulations), its
budget from :attr:`CampaignConfig.cpu_hours` or, for big partitions,
:attr:`CampaignConfig.big_cpu_hours`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

from ..boards import is_big, loop_defaults
from ..lake import LakeStore
from ..partition import Partition
from .config import LoopConfig
from .generations import PROMOTED, ROLLED_BACK, current_best, generation_states, process_cpu_seconds, registry

OPPONENT = "heuristic"

TARGETS = {"small": 0.65, "big2": 0.55}
"""The scores against ``heuristic`` a partition's final best is asked for: small boards
(square8, hex8; 2-4 players) 65%, square19 and hexagonal 2p 55% after at least one
promotion; big boards with 3-4 players: one complete generation."""


@dataclasses.dataclass(frozen=True)
class CampaignConfig:
    """Which partitions, what each may spend, and how the final best is measured."""

    partitions: tuple = ()
    """Partition keys (``square8|2``), run in this order."""
    cpu_hours: float = 1.5
    """CPU budget of a small partition (its registry's CPU, earlier runs included)."""
    big_cpu_hours: float = 3.0
    """CPU budget of a big partition (``ringrift_ml.boards.is_big``)."""
    eval_games: int = 200
    """Games of the final best against ``heuristic`` (seats alternating or rotated); 0: none."""
    eval_random_opening: int = 4
    """Random decisions at the start of each evaluation game."""
    seed: int = 1
    """The loops' seed; the evaluation's is 10,000 + seed."""
    workers: int = 1
    """Selfplay worker processes, or Ray actors with ``ray_address``."""
    ray_address: str = ""
    """Selfplay, gate, ladder and evaluation games on this Ray cluster (empty: this machine)."""
    device: str = "cpu"
    """Where networks run: cpu, cuda[:N] or mps."""
    until_target: bool = False
    """Stop a partition's loop once its target is met, leaving the rest of its budget:
    before each generation, a best whose ladder rung against ``heuristic`` reaches the
    target at the lower end of its 95% interval (or any new best, without a ladder) is
    evaluated (``eval_games``, stored as usual), and a score at or above the target
    stops the partition; a big 3-4 player partition stops after its first complete
    generation.  The table then reads as usual (its ``met`` needs the same score)."""
    loop: tuple = ()
    """LoopConfig overrides for every partition, on top of its board's defaults, as
    ``(name, value)`` pairs (``train`` as a dict of TrainConfig overrides)."""

    def __post_init__(self):
        if not self.partitions:
            raise ValueError("campaign: partitions: at least one partition needed")
        parts = [Partition.parse(k).key for k in self.partitions]  # a clear error for a bad key
        if len(set(parts)) != len(parts):
            raise ValueError(f"campaign: partitions: each partition once, got {list(self.partitions)}")
        object.__setattr__(self, "partitions", tuple(parts))
        if not self.cpu_hours > 0 or not self.big_cpu_hours > 0:
            raise ValueError(f"campaign: cpu_hours and big_cpu_hours must be positive, got {self.cpu_hours} and "
                             f"{self.big_cpu_hours}")
        if self.eval_games < 0 or self.eval_random_opening < 0 or self.workers < 1:
            raise ValueError("campaign: eval_games >= 0, eval_random_opening >= 0 and workers >= 1 required")
        fields = {f.name for f in dataclasses.fields(LoopConfig)} - {"board", "players"}
        for name, _ in self.loop:
            if name not in fields:
                raise ValueError(f"campaign: loop: {name!r} is not a loop setting ({', '.join(sorted(fields))})")
        for key in parts:
            self.loop_config(Partition.parse(key))  # validates the overrides on every board

    def budget(self, part: Partition) -> float:
        return self.big_cpu_hours if is_big(part.board, part.players) else self.cpu_hours

    def loop_config(self, part: Partition) -> LoopConfig:
        """The partition's loop: its board's defaults, the campaign's seed and workers."""
        over = {**loop_defaults(part.board, part.players), "seed": self.seed, "workers": self.workers,
                "ray_address": self.ray_address, "device": self.device}
        for name, value in self.loop:
            over[name] = {**over.get("train", {}), **value} if name == "train" else value
        if isinstance(over.get("train"), dict):
            over["train"] = tuple(sorted(over["train"].items()))
        return LoopConfig(board=part.board, players=part.players, **over)


def all_partitions() -> tuple:
    """The 12 partition keys, the cheapest first (``ringrift_ml.boards.game_cost``): what
    ``--all`` and an empty ``partitions`` setting run."""
    from ..boards import game_cost

    return tuple(p.key for p in sorted(Partition.all(), key=lambda p: game_cost(p.board, p.players)))


def _subject(best: dict, simulations: int) -> str:
    return f"nn:g{best['generation']}:{simulations}"


def stored_evaluation(store: LakeStore, part: Partition, model_id: str, subject: str, games: int,
                      seed: int) -> Optional[dict]:
    rows = store.query("SELECT * FROM lake.evaluations WHERE board = ? AND players = ? AND model_id = ? AND "
                       "subject = ? AND opponent = ? AND games = ? AND seed = ? ORDER BY created_at DESC LIMIT 1",
                       [part.board, part.players, model_id, subject, OPPONENT, games, seed]).to_pylist()
    return rows[0] if rows else None


def evaluate_best(store: LakeStore, part: Partition, cfg: CampaignConfig, progress: bool = True,
                  log: Callable[[str], None] = print, loop: Optional[LoopConfig] = None,
                  play: bool = True) -> Optional[dict]:
    """The partition's current best under search at its loop's simulations against
    ``heuristic``: ``cfg.eval_games`` games (seats alternating, or the best in one seat
    and heuristic in the others, rotated), recorded in ``lake.evaluations``; a stored
    row for the same network, games and seed is returned instead.  None before the
    first promotion or with ``eval_games`` 0, and, with ``play`` False, when no row is
    stored (nothing is played).  ``loop``: the partition's loop settings where they do
    not come from ``cfg`` (a loop sensor's run)."""
    best = current_best(registry(store, part.board, part.players))
    if best is None or not cfg.eval_games:
        return None
    loop = loop or cfg.loop_config(part)
    subject = _subject(best, loop.simulations)
    seed = 10_000 + cfg.seed
    old = stored_evaluation(store, part, best["model_id"], subject, cfg.eval_games, seed)
    if old is not None or not play:
        return old
    from ..arena import head_to_head
    from ..lake.lineage import record_row
    from ..nn.players import make_player

    entrants = {subject: (f"nn:{store.root / best['path']}:{loop.simulations}", None), OPPONENT: (OPPONENT, None)}
    built = {}
    for name, (spec, weights) in entrants.items():
        built[name] = make_player(spec, part.board, part.players, weights=weights, device=cfg.device)
        built[name][0].name = name
    runner = None
    if cfg.ray_address:
        from .remote import RayMatches

        runner = RayMatches(cfg.ray_address, cfg.workers, part.board, part.players, entrants, cfg.device)
    log(f"{part}: {subject} against {OPPONENT}, {cfg.eval_games} games")
    c0 = process_cpu_seconds()
    (pa, ba), (pb, bb) = built[subject], built[OPPONENT]
    out = head_to_head(pa, pb, ba, bb, part.board, cfg.eval_games, seed=seed, concurrency=loop.batch_games,
                       random_opening=cfg.eval_random_opening, progress=progress, num_players=part.players,
                       runner=runner)
    row = {"board": part.board, "players": part.players, "generation": best["generation"],
           "model_id": best["model_id"], "subject": subject, "opponent": OPPONENT, "games": out["games"],
           "score": out["score"], "ci_low": out["ci95"][0], "ci_high": out["ci95"][1], "wins": out["wins"],
           "draws": out["draws"], "losses": out["losses"], "seed": seed, "random_opening": cfg.eval_random_opening,
           "cpu_seconds": round(process_cpu_seconds() - c0, 2)}
    record_row(store, "evaluations", [dict(row)], f"evaluation of {subject} for {part}")
    log(f"{part}: {subject} scores {out['score']:.3f} [{out['ci95'][0]:.3f}, {out['ci95'][1]:.3f}] against "
        f"{OPPONENT}")
    return row


def _target(part: Partition) -> tuple:
    """``(what is asked, score asked for or None)``."""
    if not is_big(part.board, part.players):
        return f">= {TARGETS['small']:.0%} vs {OPPONENT}", TARGETS["small"]
    if part.players == 2:
        return f"a promotion and >= {TARGETS['big2']:.0%} vs {OPPONENT}", TARGETS["big2"]
    return "one complete generation", None


def partition_summary(store: LakeStore, part: Partition, cfg: CampaignConfig) -> dict:
    """One row of the campaign table, from the lake alone: the loop's CPU and games,
    promotions, selfplay games per CPU hour, the best's stored evaluation and whether
    the partition's target is met (and by how much it is missed).  A score target is
    met within the budget: ``best_cpu_hours``, the CPU of the generations up to the
    best's, must not exceed it (``over_budget_by`` says by how much it did; a later
    generation that ran past the budget without a promotion does not count against the
    best)."""
    from .run import registry_cpu_hours

    states = generation_states(registry(store, part.board, part.players))
    sp_cpu = sum((r.get("selfplay_cpu_seconds") or 0.0) for r in states.values())
    sp_games = sum(int(r["selfplay_games"] or 0) for r in states.values())
    gate_games = sum(int(r.get("gate_games") or 0) for r in states.values())
    ladder_games = store.query("SELECT count(*) AS n FROM lake.ladder_games WHERE board = ? AND players = ?",
                               [part.board, part.players]).to_pylist()[0]["n"]
    promotions = sum(r["status"] in (PROMOTED, ROLLED_BACK) for r in states.values())
    best = current_best(list(states.values()))
    asked, want = _target(part)
    row = {"partition": part.key, "budget_cpu_hours": cfg.budget(part),
           "cpu_hours": round(registry_cpu_hours(states), 3),
           "generations": len(states), "promotions": promotions, "selfplay_games": sp_games,
           "games": sp_games + gate_games + ladder_games,
           "selfplay_games_per_cpu_hour": round(sp_games / (sp_cpu / 3600), 1) if sp_cpu else None,
           "best_generation": best["generation"] if best else None,
           "best_cpu_hours": None, "target": asked}
    if best is not None:
        spent = registry_cpu_hours({g: r for g, r in states.items() if g <= best["generation"]})
        row["best_cpu_hours"] = round(spent, 4)
    ev = None
    if best is not None and cfg.eval_games:
        ev = stored_evaluation(store, part, best["model_id"], _subject(best, cfg.loop_config(part).simulations),
                               cfg.eval_games, 10_000 + cfg.seed)
    row.update({"subject": ev["subject"] if ev else None, "score": ev["score"] if ev else None,
                "ci95": [ev["ci_low"], ev["ci_high"]] if ev else None, "eval_games": ev["games"] if ev else None})
    over = max(0.0, spent - row["budget_cpu_hours"]) if best is not None and want is not None else None
    row["over_budget_by"] = round(over, 4) if over is not None else None
    if want is None:
        row["met"] = any(r["status"] != "failed" for r in states.values())
        row["short_by"] = None
    elif ev is None:
        row["met"], row["short_by"] = False, None
    else:
        row["met"] = ev["score"] >= want and (promotions > 0) and not over
        row["short_by"] = round(max(0.0, want - ev["score"]), 3)
    return row


def summary(store: LakeStore, cfg: CampaignConfig) -> list:
    return [partition_summary(store, Partition.parse(k), cfg) for k in cfg.partitions]


def summary_markdown(rows: list) -> str:
    """The campaign table as Markdown (docs/loop.md keeps a copy of a run's)."""
    head = ("| partition | CPU h (budget) | generations | promotions | games (selfplay) | selfplay games / CPU h "
            "| final best | vs heuristic [95% CI] | target | met |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        score = (f"{r['score']:.1%} [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}] over {r['eval_games']}"
                 if r["score"] is not None else "not evaluated")
        why = ([f"short by {r['short_by']:.1%}"] if r.get("short_by") else []) + (
            [f"best found {r['over_budget_by']:.2f} CPU h over budget"] if r.get("over_budget_by") else [])
        met = "yes" if r["met"] else ", ".join(["no"] + why)
        key = r["partition"].replace("|", "\\|")  # the key's pipe would end its Markdown cell
        lines.append(f"| {key} | {r['cpu_hours']:.2f} ({r['budget_cpu_hours']:g}) | {r['generations']} "
                     f"| {r['promotions']} | {r['games']} ({r['selfplay_games']}) "
                     f"| {r['selfplay_games_per_cpu_hour'] if r['selfplay_games_per_cpu_hour'] is not None else '-'} "
                     f"| {('g' + str(r['best_generation'])) if r['best_generation'] is not None else '-'} "
                     f"| {score} | {r['target']} | {met} |")
    return "\n".join(lines)


def sensor_budget(cfg: CampaignConfig) -> dict:
    """The campaign as entries of the loop sensor's budget file (``<storage>/loop/budget.json``):
    per partition its CPU budget and its loop settings (the ``loop`` resource's fields;
    ``train`` and ``warm_train`` as JSON), so the Dagster daemon runs the same generations
    as :func:`run_campaign`; the ``campaign_summary`` asset then evaluates and tabulates."""
    import json

    out = {}
    for key in cfg.partitions:
        loop = cfg.loop_config(Partition.parse(key)).to_dict()
        settings = {k: v for k, v in loop.items() if k not in ("board", "players")}
        for name in ("train", "warm_train"):
            settings[name] = json.dumps(dict(settings.get(name) or ()), sort_keys=True)
        out[key] = {"generations": 1_000_000, "cpu_hours": cfg.budget(Partition.parse(key)), "config": settings}
        if cfg.until_target:
            out[key]["until_target"] = {name: getattr(cfg, name) for name in UNTIL_TARGET_FIELDS}
    return out


UNTIL_TARGET_FIELDS = ("eval_games", "eval_random_opening", "seed")
"""What a loop sensor's budget entry keeps of a campaign with ``until_target`` (its
``until_target`` object): how the final evaluation is played.  The rest comes from the
entry's loop settings."""


def until_target_config(key: str, entry: dict, loop: LoopConfig) -> Optional[CampaignConfig]:
    """The one-partition campaign of a loop sensor budget entry with ``until_target``
    (:func:`sensor_budget`), for :func:`target_reached` with the entry's loop settings
    ``loop``; None when the entry has none.  A bad entry raises ``ValueError`` naming
    the field."""
    spec = entry.get("until_target")
    if spec is None or spec is False:
        return None
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise ValueError(f"until_target: expected an object of {', '.join(UNTIL_TARGET_FIELDS)}, got {spec!r}")
    unknown = sorted(set(spec) - set(UNTIL_TARGET_FIELDS))
    if unknown:
        raise ValueError(f"until_target: unknown field(s) {unknown}; known: {', '.join(UNTIL_TARGET_FIELDS)}")
    kw = {}
    for name in UNTIL_TARGET_FIELDS:
        if name in spec:
            if isinstance(spec[name], bool) or not isinstance(spec[name], int):
                raise ValueError(f"until_target: {name}: expected an integer, got {spec[name]!r}")
            kw[name] = spec[name]
    return CampaignConfig(partitions=(key,), until_target=True, workers=loop.workers, ray_address=loop.ray_address,
                          device=loop.device, **kw)


def plan(store: LakeStore, cfg: CampaignConfig, calibrate_games: int = 2,
         log: Callable[[str], None] = print) -> list:
    """What the campaign would still cost, before any of it runs: per partition its
    budget, the CPU its registry already holds, one generation's CPU range
    (:func:`ringrift_ml.loop.estimate.estimate`: the partition's recent generations, or a
    calibration of ``calibrate_games`` games on this machine, whose games are not kept),
    the generations that still fit and the CPU they would take, and the final
    evaluation's.

    The loop starts a generation while what is left of the budget holds one at the low
    end of its estimate (``lo``; :func:`ringrift_ml.loop.run.budget_spent`), and a
    partition without generations starts its first whatever it costs.  With generations
    of ``lo`` to ``hi`` each, that is ``floor((left - lo) / hi) + 1`` to
    ``floor(left / lo)`` more, and ``cpu_hours`` is ``[left - lo, left - lo + hi]``: the
    budget is overrun only where generations cost more than the low end.  The
    evaluation is costed at half a selfplay game per game (one seat is the one-ply
    heuristic, whose moves cost next to nothing); a stored one costs nothing.
    """
    import math

    from .estimate import estimate
    from .run import registry_cpu_hours

    rows = []
    for key in cfg.partitions:
        part = Partition.parse(key)
        loop = cfg.loop_config(part)
        states = generation_states(registry(store, part.board, part.players))
        spent = registry_cpu_hours(states)
        left = max(0.0, cfg.budget(part) - spent)
        row = {"partition": part.key, "budget_cpu_hours": cfg.budget(part), "spent_cpu_hours": round(spent, 3),
               "left_cpu_hours": round(left, 3), "basis": None, "generation_cpu_hours": None,
               "generation_cpu_seconds": None,
               "generations": [0, 0], "cpu_hours": [0.0, 0.0]}
        est = None
        if left > 0:
            if not states:
                log(f"{part}: no generations yet: calibrating ({calibrate_games} games of its first selfplay "
                    f"player, a few training steps)")
            est = estimate(store, loop, calibrate_games=calibrate_games)
            row.update(basis=est["basis"], generation_cpu_hours=est["cpu_hours"],
                       generation_cpu_seconds=est["cpu_seconds"])
            lo, hi = (max(x / 3600, 1e-9) for x in est["cpu_seconds"])  # unrounded: tiny loops cost < 0.001 h
            if left >= lo:
                row["generations"] = [math.floor((left - lo) / hi) + 1, math.floor(left / lo)]
                row["cpu_hours"] = [round(left - lo, 3), round(left - lo + hi, 3)]
            elif not states:
                row["generations"], row["cpu_hours"] = [1, 1], [round(lo, 3), round(hi, 3)]
        eval_hours = 0.0
        if cfg.eval_games:
            best = current_best(list(states.values()))
            stored = best is not None and stored_evaluation(
                store, part, best["model_id"], _subject(best, loop.simulations), cfg.eval_games,
                10_000 + cfg.seed) is not None
            if not (stored and left == 0):
                per_game = _selfplay_cpu_per_game(states, loop, est)
                eval_hours = cfg.eval_games * per_game / 2 / 3600 if per_game is not None else None
        row["eval_cpu_hours"] = round(eval_hours, 3) if eval_hours is not None else None
        rows.append(row)
        log(f"{part}: budget {row['budget_cpu_hours']:g} CPU h, spent {spent:.2f}, left {left:.2f}"
            + (f"; one generation {row['generation_cpu_hours'][0]:.3f}-{row['generation_cpu_hours'][1]:.3f} "
               f"CPU h ({row['basis']}): {row['generations'][0]}-{row['generations'][1]} more, "
               f"{row['cpu_hours'][0]:.2f}-{row['cpu_hours'][1]:.2f} CPU h" if row["basis"] else "")
            + (f"; evaluation {row['eval_cpu_hours']:.2f} CPU h" if row["eval_cpu_hours"] else ""))
    return rows


def _selfplay_cpu_per_game(states: dict, loop: LoopConfig, est: Optional[dict]) -> Optional[float]:
    """Selfplay CPU seconds per game: the registry's newest measured generation after the
    first promotion (a network's games, as the estimate counts them), else the estimate's."""
    from .estimate import first_promotion

    first = first_promotion(states)
    measured = [r for g, r in sorted(states.items()) if first is not None and g > first
                and r.get("selfplay_cpu_seconds") and r.get("selfplay_games")]
    if measured:
        return float(measured[-1]["selfplay_cpu_seconds"]) / int(measured[-1]["selfplay_games"])
    if est is not None:
        return est.get("cpu_seconds_per_game") or est["steps"]["selfplay_cpu_seconds"] / max(1, loop.games)
    return None


def target_reached(store: LakeStore, part: Partition, cfg: CampaignConfig, progress: bool = True,
                   log: Callable[[str], None] = print, play: bool = True,
                   loop: Optional[LoopConfig] = None) -> Optional[str]:
    """Why the partition's loop may stop with its target met (:attr:`CampaignConfig.until_target`),
    or None.  The ladder's rung against ``heuristic`` screens a best first: a full
    evaluation is played only for a best whose rung scores at least the target.  The
    rung's score, not the low end of its interval: the big boards' rungs have 8 games,
    whose interval reaches the target only at 8 of 8, so a best that should pass was
    never evaluated and its partition spent the rest of its budget; an evaluation is
    played once per best, so a screen that lets a weaker one through costs one
    evaluation per promotion at most.  ``play`` False
    reads a stored evaluation and plays none (the loop sensor, which must answer in
    seconds; the generation run it starts plays it).  ``loop``: as in
    :func:`evaluate_best`."""
    from .generations import FAILED
    from .ladder import played

    states = generation_states(registry(store, part.board, part.players))
    asked, want = _target(part)
    if want is None:
        done = [g for g, r in states.items() if r["status"] != FAILED]
        return f"its target ({asked}) is met by generation {min(done)}" if done else None
    best = current_best(list(states.values()))
    if best is None or not cfg.eval_games:
        return None
    name = f"g{best['generation']}"
    rung = [r["score"] for r in played(store, part.board, part.players) if (r["a"], r["b"]) == (name, OPPONENT)]
    if rung and sum(rung) / len(rung) < want:
        return None
    ev = evaluate_best(store, part, cfg, progress=progress, log=log, loop=loop, play=play)
    if ev is None or ev["score"] < want:
        return None
    return (f"its target ({asked}) is met: {ev['subject']} scored {ev['score']:.3f} "
            f"[{ev['ci_low']:.3f}, {ev['ci_high']:.3f}] over {ev['games']} games")


def run_campaign(store: LakeStore, cfg: CampaignConfig, progress: bool = True,
                 log: Callable[[str], None] = print) -> list:
    """Every partition in order: its loop until its CPU budget is spent (or, with
    ``until_target``, its target is met), then its final best against ``heuristic``.
    Returns the summary rows."""
    from .run import run_loop

    for key in cfg.partitions:
        part = Partition.parse(key)
        t0 = time.time()
        stop = (lambda p=part: target_reached(store, p, cfg, progress=progress, log=log)) if cfg.until_target \
            else None
        run_loop(store, cfg.loop_config(part), generations=1_000_000, progress=progress, log=log,
                 cpu_hours=cfg.budget(part), stop=stop)
        evaluate_best(store, part, cfg, progress=progress, log=log)
        log(f"{part}: campaign step done in {time.time() - t0:.0f} s")
    return summary(store, cfg)


__all__ = ["CampaignConfig", "OPPONENT", "TARGETS", "all_partitions", "evaluate_best", "partition_summary", "plan",
           "run_campaign", "sensor_budget", "stored_evaluation", "summary", "summary_markdown", "target_reached",
           "UNTIL_TARGET_FIELDS", "until_target_config"]
