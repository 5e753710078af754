"""The closed loop, in-process: selfplay with the best -> samples -> candidate -> gate.

Generation ``g`` of a partition:

1. **selfplay**: ``games`` games by the current best model under Gumbel search
   (``nn:<best>:<simulations>``; generation 0 and every generation before a first
   promotion: the ``bootstrap`` player), labelled ``loop:<partition>:g<g>`` in their
   generator config, written to ``lake.games`` and merged;
2. **samples**: the generation's games become one sample set (``run_id`` = the label);
3. **candidate**: trained on the replay window (the newest ``window`` sample sets of
   the partition), warm-started from the best, the best held-out epoch kept; a
   candidate that does not beat the trivial baseline (uniform policy, value 0) on its
   held-out games is rejected without a match;
4. **gate**: the candidate against the best at equal simulations, seats alternating,
   a sequential probability ratio test (``elo0`` / ``elo1``) that may stop after
   ``gate_min_games``; undecided after ``gate_max_games``, ``gate_truncation`` decides;
5. **registry**: one ``lake.model_registry`` row (promoted or rejected, why, the gate's
   figures, CPU and wall time): the generation's commit point.

Everything before the registry row is idempotent: game ids are content hashes (a
rerun adds nothing twice), an existing sample set of the generation is reused,
training resumes from its saved state, and the gate replays the same seeded games.
So a loop killed anywhere resumes where it stopped, and a generation is never lost
or counted twice.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Optional

from ..arena import SPRT, sequential_match
from ..lake import LakeStore
from ..version import code_version, file_digest
from .config import LoopConfig
from .generations import (FAILED, PROMOTED, REJECTED, ROLLED_BACK, current_best, generation_states,
                          process_cpu_seconds, registry, write_registry_row)


def label_of(cfg: LoopConfig, g: int) -> str:
    return f"loop:{cfg.partition}:g{g}"


@dataclasses.dataclass
class Step:
    """What one generation did (also the registry row's content)."""

    generation: int
    status: str
    reason: str
    row: dict


def run_loop(store: LakeStore, cfg: LoopConfig, generations: int, hours: Optional[float] = None,
             progress: bool = True, log: Callable[[str], None] = print, retries: int = 2,
             cpu_hours: Optional[float] = None, stop: Optional[Callable[[], Optional[str]]] = None) -> list:
    """Run generations until the partition has ``generations`` of them (counting those
    of earlier runs: a rerun after a kill finishes the rest), ``hours`` of wall clock
    pass, the partition's registry holds ``cpu_hours`` of CPU (:func:`registry_cpu_hours`:
    all its generations and their ladder games, earlier runs included, so a campaign's
    budget survives interruptions) or would hold more after the next generation
    (:func:`budget_spent`), or ``stop`` (asked before each generation) returns why the
    loop has done enough.  After each promotion the ladder gets the new
    generation's rungs and the regression watch runs (``ladder_games`` > 0).  A generation that raises is retried
    ``retries`` times (each try resumes what the last one left); then it is recorded
    as ``failed`` with the error and the loop goes on with the next one (its games
    stay in the window).  Interrupts (a kill, Ctrl-C) are not caught.  Returns the
    registry rows written by this call (rollbacks and failures included)."""
    if retries < 0:
        raise ValueError(f"retries: must be >= 0, got {retries}")
    if generations < 1:
        raise ValueError(f"generations: must be positive, got {generations}")
    if hours is not None and not hours > 0:
        raise ValueError(f"hours: must be positive, got {hours}")
    if cpu_hours is not None and not cpu_hours > 0:
        raise ValueError(f"cpu_hours: must be positive, got {cpu_hours}")
    t0 = time.time()
    written = []
    while True:
        rows = registry(store, cfg.board, cfg.players)
        done = generation_states(rows)
        g = max(done) + 1 if done else 0
        if g >= generations:
            log(f"{cfg.partition}: {len(done)} generation(s) done")
            break
        if hours is not None and time.time() - t0 >= hours * 3600:
            log(f"{cfg.partition}: the {hours} h budget is spent after generation {g - 1}")
            break
        why = budget_spent(store, cfg, cpu_hours, states=done) if cpu_hours is not None else None
        if why is None and stop is not None:
            why = stop()
        if why is not None:
            log(f"{cfg.partition}: {why} after generation {g - 1}")
            break
        row = None
        # A generation whose every attempt fails still spent CPU (its selfplay games may
        # be in the lake): the failed row counts what the lake recorded for it before
        # these attempts and what they spent.
        spent_before, c0 = recorded_generation_cpu(store, cfg, g), process_cpu_seconds()
        for attempt in range(retries + 1):
            try:
                row = run_generation(store, cfg, g, rows, progress=progress, log=log)
                break
            except Exception as e:  # noqa: BLE001 - any error of a step; KeyboardInterrupt passes
                error = f"{type(e).__name__}: {e}"
                log(f"{cfg.partition} g{g}: attempt {attempt + 1} of {retries + 1} failed: {error}")
        if row is None:
            row = record_failure(store, cfg, g, current_best(rows), error, retries + 1, log,
                                 cpu_seconds=spent_before + process_cpu_seconds() - c0)
        written.append(row)
        from .. import metrics

        metrics.generation_done(row)
        if row["status"] == PROMOTED and cfg.ladder_games:
            from .ladder import loop_ladder

            out = loop_ladder(store, cfg, progress=progress, log=log)
            written.extend(out["rolled_back"])
            for r in out["rolled_back"]:
                metrics.generation_done(r)
    return written


def registry_cpu_hours(states: dict) -> float:
    """CPU hours of a partition's generations (``generation_states``): each row's
    ``cpu_seconds`` (selfplay, training, gate) plus its ``ladder_cpu_seconds`` (the
    ladder games played since the previous row; a promotion's ladder is paid by the next
    row, so the newest promotion's ladder is not counted yet)."""
    return sum((r["cpu_seconds"] or 0.0) + (r.get("ladder_cpu_seconds") or 0.0) for r in states.values()) / 3600


def budget_spent(store: LakeStore, cfg: LoopConfig, cpu_hours: float,
                 states: Optional[dict] = None) -> Optional[str]:
    """Why the partition should start no further generation within ``cpu_hours`` of CPU,
    or None when the next one fits: the registry already holds the budget
    (:func:`registry_cpu_hours`), or it holds less but the next generation would end
    past it, at the low end of the partition's registry estimate
    (:func:`ringrift_ml.loop.generations.from_registry`: the medians of its recent
    generations' selfplay, training and gate, without a ladder).  Without measured
    generations the next one starts: nothing says what it costs.  ``states``: the
    partition's ``generation_states`` where the caller has them (None: read here)."""
    from .generations import from_registry

    if states is None:
        states = generation_states(registry(store, cfg.board, cfg.players))
    spent = registry_cpu_hours(states)
    if spent >= cpu_hours:
        return f"{spent:.2f} of {cpu_hours:g} CPU hours spent"
    est = from_registry(store, cfg, states=states)
    if est is not None and spent + est["cpu_hours"][0] > cpu_hours:
        return (f"{spent:.2f} of {cpu_hours:g} CPU hours spent, and the next generation would take about "
                f"{est['cpu_hours'][0]:.2f} more ({est['basis']} estimate of generations "
                f"{', '.join(map(str, est['generations']))})")
    return None


def next_generation(store: LakeStore, cfg: LoopConfig) -> tuple:
    """``(g, best)``: the partition's next generation number (one past the newest in the
    registry, 0 on a fresh lake) and its current best's registry row (None before the
    first promotion).  Every step of a generation starts here, so the steps run as one
    call (``run_generation``) or one asset each name the same generation."""
    rows = registry(store, cfg.board, cfg.players)
    states = generation_states(rows)
    return (max(states) + 1 if states else 0), current_best(rows)


def selfplay_player(store: LakeStore, cfg: LoopConfig, best: Optional[dict]) -> str:
    """The spec of every seat of a generation's selfplay: the best under search, or the
    bootstrap player before the first promotion."""
    return f"nn:{store.root / best['path']}:{cfg.simulations}" if best else cfg.bootstrap


def play_generation(store: LakeStore, cfg: LoopConfig, g: int, best: Optional[dict], progress: bool = True,
                    log: Callable[[str], None] = print) -> dict:
    """Step 1: generation ``g``'s selfplay (label ``loop:<partition>:g<g>``) in the lake,
    merged.  Plays only when the lake holds fewer of the generation's games than
    ``games`` (game ids are content hashes: a replay adds nothing).  Returns ``{label,
    player, games and game_ids (the generation's in the lake), records (played by this
    call), new_in_lake}``."""
    from ..lake.generated import commit_cpu_seconds, write_generated
    from ..lake.merge import merge_partition
    from ..selfplay import SelfplayConfig, run_selfplay

    label = label_of(cfg, g)
    spec = selfplay_player(store, cfg, best)
    records, new = [], 0
    if len(generation_games(store, cfg, g)) < cfg.games:
        sp = SelfplayConfig(board=cfg.board, players=(spec,) * cfg.players, games=cfg.games,
                            seed=cfg.seed * 1_000_003 + g * 100_000, batch_games=cfg.batch_games,
                            full_search_prob=cfg.full_search_prob if best else 1.0, device=cfg.device,
                            label=label, workers=cfg.workers, ray_address=cfg.ray_address)
        log(f"{cfg.partition} g{g}: selfplay {cfg.games} games with {spec}")
        c0 = process_cpu_seconds()
        records = run_selfplay(sp, progress=progress)
        wrote = write_generated(store, records, run_id=label, cpu_seconds=process_cpu_seconds() - c0)
        new, snapshot = wrote["games"], wrote["snapshot"]
    else:
        snapshot = None
    merge_partition(store, cfg.board, cfg.players, run_id=label)
    ids = generation_games(store, cfg, g)
    # The selfplay CPU of earlier attempts at this generation whose games landed before
    # their process stopped: this call did not spend it, but the generation did.
    earlier = commit_cpu_seconds(store, label, exclude=(snapshot,) if snapshot is not None else ())
    return {"label": label, "player": spec, "games": len(ids), "game_ids": ids, "records": records,
            "new_in_lake": new, "earlier_cpu_seconds": earlier}


def generation_games(store: LakeStore, cfg: LoopConfig, g: int) -> list:
    """The ids of generation ``g``'s selfplay games in the lake."""
    return [r["game_id"] for r in store.query(
        "SELECT game_id FROM lake.games WHERE board = ? AND players = ? AND "
        "json_extract_string(generator_config, '$.label') = ? ORDER BY game_id",
        [cfg.board, cfg.players, label_of(cfg, g)]).to_pylist()]


def generation_sample_set(store: LakeStore, cfg: LoopConfig, g: int) -> Optional[dict]:
    """Generation ``g``'s ``lake.sample_sets`` row (its ``run_id`` is the generation's
    label), or None before :func:`generation_samples` wrote it."""
    rows = store.query("SELECT * FROM lake.sample_sets WHERE run_id = ? AND board = ? AND players = ? "
                       "ORDER BY created_at LIMIT 1", [label_of(cfg, g), cfg.board, cfg.players]).to_pylist()
    return rows[0] if rows else None


SAMPLE_READ_BYTES = 256 << 20
"""At most this many bytes of moves and targets per read of a sample set's games."""


def generation_samples(store: LakeStore, cfg: LoopConfig, g: int, log: Callable[[str], None] = print,
                       export_npz: bool = False) -> str:
    """Step 2: generation ``g``'s sample set (``run_id`` = its label; an existing one is
    reused): every merged game of the partition that no earlier sample set of the
    partition holds - the generation's selfplay, the previous gate's kept games, and
    games that landed or were written to the lake since - each game training exactly
    one generation's set.  ``export_npz``: also write the set as
    ``exports/<partition>/<sample set>.npz`` (recorded with its digest).  Returns the
    sample set id."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..lake.layout import Layout
    from ..lake.lineage import read_games, sample_set_id_for, unsampled_games, write_sample_set
    from ..lake.scratch import make_scratch, sweep_scratch
    from ..lake.samples import build_samples
    from ..nn.samples import SAMPLE_SCHEMA

    label = label_of(cfg, g)
    old = generation_sample_set(store, cfg, g)
    if old:
        return old["sample_set_id"]
    c0 = process_cpu_seconds()
    # Only the unseen games are read, in batches of bounded size (a partition's merged
    # games can hold more than DuckDB's 2 GiB Arrow string buffers allow: hexagonal 2p,
    # 344 games, 3.1 GB of moves and targets), and each batch's samples go to a Parquet
    # part at once, which the set's one commit takes in: the set is never held whole
    # (hexagonal g3's 82,352 positions ran at 12 GB held whole).
    keys, snap = unsampled_games(store, cfg.board, cfg.players)
    scratch = Layout(store.root).scratch
    for d in sweep_scratch(scratch):  # left by a build of this host that was killed
        log(f"{cfg.partition} g{g}: removed the scratch of a stopped process: {d.name}")
    work = make_scratch(scratch, f"samples-{cfg.board}-{cfg.players}p-g{g}")
    try:
        parts, used, stats, rows_out = [], [], {}, 0
        for batch in read_games(store, "games_merged", cfg.board, cfg.players, snap, keys, SAMPLE_READ_BYTES):
            rows = batch.to_pylist()
            part, st = build_samples(rows)
            in_part = set(part.column("game_id").to_pylist())
            used.extend((r["game_id"], r["entry_id"]) for r in rows if r["game_id"] in in_part)
            del batch, rows  # the batch's games, before the next batch is read
            if part.num_rows:
                path = work / f"part-{len(parts):05d}.parquet"
                pq.write_table(part, path)
                parts.append(path)
                rows_out += part.num_rows
            for k, v in st.items():
                stats[k] = stats.get(k, 0) + v if isinstance(v, int) else v
        if rows_out == 0:
            raise RuntimeError(f"{cfg.partition} g{g}: no new games gave samples "
                               f"({stats or {'games': len(keys)}})")
        used.sort()
        conf = {"loop_generation": g, "features": stats["features"]}
        npz = {}
        if export_npz:
            table = pa.concat_tables(pq.read_table(p, schema=SAMPLE_SCHEMA) for p in parts)
            npz = _export_npz(store, cfg, table, sample_set_id_for(cfg.board, cfg.players, snap, conf, label), snap)
            del table
        sid, _ = write_sample_set(store, board=cfg.board, players=cfg.players, games_snapshot=snap, games=used,
                                  samples=parts, config=conf, run_id=label, code_version=code_version(),
                                  cpu_seconds=process_cpu_seconds() - c0, **npz)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{cfg.partition} g{g}: sample set {sid}: {rows_out} samples from {len(used)} games")
    return sid


def _export_npz(store: LakeStore, cfg: LoopConfig, table, sid: str, snap: int) -> dict:
    """The sample set as an NPZ for other tools: ``{npz_path, npz_sha256}``."""
    import hashlib

    from ..lake.layout import Layout, Partition
    from ..nn.augment import symmetry_perms
    from ..train.dataset import from_table, save_npz

    layout = Layout(store.root)
    data = from_table(table, cfg.board, sym_perms=symmetry_perms(cfg.board))
    path = save_npz(data, layout.export(Partition(cfg.board, cfg.players), sid),
                    {"sample_set_id": sid, "lake_snapshot": snap, "players": cfg.players})
    return {"npz_path": layout.relative(path), "npz_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def newest_candidate(layout, part) -> Optional[Path]:
    """The newest generation's trained checkpoint of a partition (``layout``: a
    ``lake.layout.Layout``), gated or not; None when no generation has trained yet."""
    found = layout.candidates(part)
    return found[-1][1] if found else None


@dataclasses.dataclass
class Candidate:
    """A generation's trained candidate (step 3's result)."""

    path: Path  # the checkpoint the registry will name
    window: list  # the sample sets it trained on, newest last
    samples: int
    init: Optional[Path]  # the checkpoint it started from (None: from scratch)
    result: object  # train.loop.FitResult (history, best held-out figures)
    config: object  # the TrainConfig it trained with
    set_aside_cpu_seconds: float = 0.0  # training CPU of an earlier attempt that could not be resumed


def train_candidate(store: LakeStore, cfg: LoopConfig, g: int, best: Optional[dict], sid: str,
                    progress: bool = True, log: Callable[[str], None] = print, run_id: Optional[str] = None,
                    selfplay_cpu: Optional[float] = None) -> Candidate:
    """Step 3: the candidate of generation ``g`` trained on the replay window ending at
    sample set ``sid``, warm-started from ``best`` (its registry row; None: from
    scratch); resumes a killed run.  Its ``lake.models`` row is written here.
    ``selfplay_cpu``: the CPU seconds of the generation's selfplay, which with
    ``train_share`` caps the training steps (:func:`train_budget`; None: no such cap)."""
    from ..lake.layout import Layout, Partition
    from ..lake.lineage import record_model
    from ..nn.checkpoint import read_net
    from ..train.dataset import from_lake
    from ..train.loop import fit, resume_conflict

    root = store.root
    data = from_lake(store, cfg.board, cfg.players, window=cfg.window, recency=cfg.recency, upto=sid,
                     window_positions=cfg.window_positions)
    run_dir = Layout(root).generation_dir(Partition(cfg.board, cfg.players), g)
    start = best if best is not None else (previous_candidate(store, cfg, g) if cfg.continue_rejected else None)
    if start is not None and best is None:
        # A rejected candidate of another network size (the board's or the loop's
        # defaults changed since) cannot be continued; the best always can, or fails loudly.
        from ..nn.net import net_config

        size = cfg.train_config(seed=None).preset
        if read_net(root / start["path"])[1]["net_config"] != net_config(cfg.board, size):
            log(f"{cfg.partition} g{g}: g{start['generation']}'s network has another size than this run "
                f"trains; from scratch")
            start = None
    init = root / start["path"] if start else None
    # Before any generation measured a training rate, a few timed steps of this very
    # training (its config, its window) give one, so the first generation keeps to its
    # share too (hexagonal 2p's first generation trained 2,972 CPU s uncapped against 532
    # of selfplay, and put the partition 13% over its campaign budget).
    train_args = {"seed": cfg.seed + g, "warm": start is not None, "window_positions": len(data)}
    budget = train_budget(store, cfg, g, selfplay_cpu,
                          probe=lambda: rate_probe(data, cfg.train_config(**train_args)))
    tcfg = cfg.train_config(**train_args, budget_positions=budget["positions"] if budget else None)
    if budget and "max_steps" not in {**dict(cfg.train), **dict(cfg.warm_train)}:
        tcfg, kept = keep_saved_steps(run_dir, tcfg)
        if kept:
            log(f"{cfg.partition} g{g}: resuming with the step budget of its first attempt ({tcfg.max_steps} steps)")
    # An attempt killed under another configuration (the loop's or the board's defaults
    # changed before the rerun) cannot be resumed: keep it beside the run and train
    # afresh, counting its CPU, instead of failing the generation on every retry.
    conflict = resume_conflict(run_dir, tcfg, data)
    if conflict is not None:
        aside = run_dir.with_name(f"{run_dir.name}.set-aside-{time.strftime('%Y%m%dT%H%M%S')}")
        run_dir.rename(aside)
        log(f"{cfg.partition} g{g}: {conflict[0]}; that attempt is kept in {aside.name} "
            f"({conflict[1]:.0f} CPU s) and the training starts afresh")
    # Every attempt set aside so far counts, also those an earlier process set aside.
    set_aside_cpu = set_aside_cpu_seconds(run_dir)
    log(f"{cfg.partition} g{g}: training on {len(data.value)} samples of {len(data.source['sample_sets'])} "
        f"generation(s){', warm start from g' + str(start['generation']) if start else ''}"
        + (f" ({start['status']}: no network promoted yet)" if start is not None and best is None else "")
        + (f"; at most {tcfg.max_steps} steps" if tcfg.max_steps else "")
        + (f" (train_share {cfg.train_share}: {budget['cpu_seconds']:.0f} CPU s at {budget['rate']:.0f} "
           f"positions/s, rate of {budget['rate_from']})" if budget else ""))
    res = fit(data, tcfg, run_dir, resume=True, progress=progress, init=init,
              extra_meta={"loop_generation": g, "sample_set_id": sid})
    path = Path(res.model_path)
    record_model(store, board=cfg.board, players=cfg.players, model_id=file_digest(path),
                 path=str(path.relative_to(root)), sample_set_id=sid, samples=len(data), history=res.history,
                 best=res.best, meta=read_net(path)[1], config=tcfg.to_dict(), code_version=code_version(),
                 run_id=run_id or label_of(cfg, g))
    return Candidate(path=path, window=list(data.source["sample_sets"]), samples=len(data), init=init,
                     result=res, config=tcfg, set_aside_cpu_seconds=set_aside_cpu)


def rate_probe(data, tcfg) -> float:
    """Training positions per CPU second of ``tcfg`` on ``data``, from a few timed
    optimiser steps (:func:`ringrift_ml.train.loop.cpu_per_step`)."""
    from ..train.loop import cpu_per_step

    return tcfg.batch_size / cpu_per_step(data, tcfg)


def previous_candidate(store: LakeStore, cfg: LoopConfig, g: int) -> Optional[dict]:
    """The registry row of the newest generation before ``g`` whose candidate was gated
    and kept its checkpoint (rejected or rolled back), or None: where a candidate
    continues from while no network is promoted (``LoopConfig.continue_rejected``)."""
    states = generation_states(registry(store, cfg.board, cfg.players))
    for prev in sorted((k for k in states if k < g), reverse=True):
        row = states[prev]
        if row["status"] in (REJECTED, ROLLED_BACK) and row["path"] and (store.root / row["path"]).is_file():
            return row
    return None


def set_aside_cpu_seconds(run_dir: Path) -> float:
    """The training CPU recorded by the attempts set aside beside ``run_dir``
    (``<run dir>.set-aside-<time>``, :func:`train_candidate`)."""
    from ..train.checkpoint import state_exists, state_record
    from ..train.loop import STATE_FILE

    run_dir = Path(run_dir)
    total = 0.0
    if run_dir.parent.is_dir():
        for d in sorted(run_dir.parent.glob(f"{run_dir.name}.set-aside-*")):
            if state_exists(d / STATE_FILE):
                total += float(state_record(d / STATE_FILE).get("cpu_seconds") or 0.0)
    return total


def keep_saved_steps(run_dir: Path, tcfg) -> tuple:
    """``(tcfg, kept)``: ``tcfg`` with the ``max_steps`` of the training state saved in
    ``run_dir`` when that is all the two configs differ in.  ``train_share``'s step cap
    derives from the CPU its generation measured (selfplay, the sample set), which a
    rerun that finds those steps done measures again differently; without this every
    restart during a training would set the attempt aside and train afresh."""
    from ..train.checkpoint import state_exists, state_record
    from ..train.config import TrainConfig
    from ..train.loop import STATE_FILE

    path = Path(run_dir) / STATE_FILE
    if not state_exists(path):
        return tcfg, False
    saved = TrainConfig.from_dict(state_record(path).get("train_config") or {}, f"resume {path}")
    if saved.max_steps != tcfg.max_steps and saved.same_training(tcfg, "max_steps"):
        return dataclasses.replace(tcfg, max_steps=saved.max_steps), True
    return tcfg, False


def gate_seed(cfg: LoopConfig, g: int) -> int:
    """The seed of generation ``g``'s first gate game (game ``i`` plays seed + ``i``)."""
    return cfg.seed * 7919 + g * 10_007


def gate_players(store: LakeStore, cfg: LoopConfig, g: int, model_path: Path, best: Optional[dict]) -> tuple:
    """The gate's two sides at equal simulations, ``((cand, budget), (opp, budget),
    opp_spec)``: the candidate ``g<g>`` against ``best`` (its registry row) or, without
    one, the bootstrap player."""
    from ..nn.players import make_player

    opp_spec = f"nn:{store.root / best['path']}:{cfg.simulations}" if best else gate_bootstrap_spec(cfg)
    cand, cb = make_player(f"nn:{model_path}:{cfg.simulations}", cfg.board, cfg.players, device=cfg.device)
    opp, ob = make_player(opp_spec, cfg.board, cfg.players, device=cfg.device)
    cand.name, opp.name = f"g{g}", (f"g{best['generation']}" if best else opp_spec)
    return (cand, cb), (opp, ob), opp_spec


def gate_bootstrap_spec(cfg: LoopConfig) -> str:
    """The bootstrap player as the gate plays it.  A search that counts simulations
    (``mcts``, ``gumbel``) searches at the loop's ``simulations``, the candidate's budget,
    whatever budget its selfplay spec names (a cheap ``mcts:4`` plays more selfplay
    games, but the candidate must beat the heuristic search at equal simulations);
    engines with another budget unit play as named (``heuristic`` evaluates every legal
    move, ``minimax:N`` its N nodes)."""
    from ..ai.factory import engine_unit, parse_player

    p = parse_player(cfg.bootstrap)
    if p.seconds is None and engine_unit(p.engine) == "simulations":
        return f"{p.engine}:{cfg.simulations}"
    return cfg.bootstrap


def gate_candidate(store: LakeStore, cfg: LoopConfig, g: int, model_path: Path, best: Optional[dict],
                   progress: bool = True, log: Callable[[str], None] = print) -> tuple:
    """Step 4: the held-out check, then the sequential match of the candidate against
    ``best`` (or the bootstrap player) at equal simulations.  Returns (status, reason,
    gate figures)."""
    from ..nn.checkpoint import read_net
    from ..train.checkpoint import judge_checkpoint

    _, meta = read_net(model_path)
    problems = judge_checkpoint(meta)
    if problems:
        return REJECTED, "candidate fails its held-out check: " + "; ".join(problems), {}
    (cand, cb), (opp, ob), opp_spec = gate_players(store, cfg, g, model_path, best)
    test = SPRT(elo0=cfg.elo0, elo1=cfg.elo1)
    log(f"{cfg.partition} g{g}: gate {cand.name} vs {opp.name} (SPRT {cfg.elo0}/{cfg.elo1} Elo, "
        f"{cfg.gate_min_games}-{cfg.gate_max_games} games)")
    played: list = []
    runner = None
    if cfg.ray_address:  # the games on the cluster; the test, scores and kept games here
        from .remote import RayMatches

        runner = RayMatches(cfg.ray_address, cfg.workers, cfg.board, cfg.players,
                            {cand.name: (f"nn:{model_path}:{cfg.simulations}", None), opp.name: (opp_spec, None)},
                            device=cfg.device)
    out = sequential_match(cand, opp, cb, ob, cfg.board, test, max_games=cfg.gate_max_games,
                           min_games=cfg.gate_min_games, seed=gate_seed(cfg, g),
                           progress=progress, concurrency=cfg.batch_games,
                           random_opening=cfg.gate_random_opening, num_players=cfg.players,
                           on_played=(lambda pg, seat: played.append((pg, seat))) if cfg.gate_games_train else None,
                           runner=runner)
    gate = {"opponent": opp_spec, **out}
    if played:
        from .kept import keep_match_games

        # Both sides search at the loop's budget; the random opening moves are no targets.
        keep_match_games(store, cfg.board, cfg.players, f"{label_of(cfg, g)}:gate", f"nn:{model_path}:{cfg.simulations}",
                         opp_spec, played, searched_only=True, log=log)
    if out["decision"] == "H1":
        return PROMOTED, (f"gate passed: {out['score']:.3f} over {out['games']} games "
                          f"(95% CI {out['ci95'][0]:.3f}-{out['ci95'][1]:.3f}) against {opp.name}"), gate
    if out["decision"] == "H0":
        return REJECTED, f"gate failed: {out['score']:.3f} over {out['games']} games against {opp.name}", gate
    # Undecided at the horizon (the test may also stop early on an H1/H0 boundary).
    gate["truncated"] = cfg.gate_truncation
    if test.at_horizon(out["llr"], cfg.gate_truncation) == "H1":
        return PROMOTED, (f"gate passed at its horizon: {out['score']:.3f} over {out['games']} games "
                          f"(95% CI {out['ci95'][0]:.3f}-{out['ci95'][1]:.3f}) against {opp.name}, "
                          f"truncated SPRT leans to +{cfg.elo1:g} Elo (LLR {out['llr']:.2f} > 0)"), gate
    why = (f"truncated SPRT leans to no gain (LLR {out['llr']:.2f} <= 0)" if cfg.gate_truncation == "llr"
           else "gate_truncation 'reject': a candidate must reach the H1 bound")
    return REJECTED, (f"gate undecided after {out['games']} games ({out['score']:.3f}) against {opp.name}; "
                      f"{why}"), gate


def record_generation(store: LakeStore, cfg: LoopConfig, g: int, *, model_path: Path, best: Optional[dict],
                      sample_set_id: str, window: list, selfplay_games: int, status: str, reason: str, gate: dict,
                      cpu_seconds: float, wall_seconds: float, run_id: str,
                      log: Callable[[str], None] = print, step_cpu_seconds: Optional[dict] = None) -> dict:
    """Step 5: the generation's registry row (its commit point); returns it.
    ``step_cpu_seconds``: CPU seconds of the steps that ran in this call (``selfplay``,
    ``train``, ``gate``; a step a resumed generation found done counts what was left)."""
    unknown = set(step_cpu_seconds or {}) - set(STEPS)
    if unknown:
        raise ValueError(f"step_cpu_seconds: unknown step(s) {sorted(unknown)}; expected {', '.join(STEPS)}")
    figures = generation_figures(store, model_path, sample_set_id)
    figures.update(compute_figures(store, cfg, g, step_cpu_seconds or {}))
    figures.update(gate_columns(gate))
    row = {
        "board": cfg.board, "players": cfg.players, "generation": g, "model_id": file_digest(model_path),
        "parent_id": best["model_id"] if best else None, "path": str(Path(model_path).relative_to(store.root)),
        "sample_set_id": sample_set_id, "window": window, "selfplay_games": selfplay_games,
        "status": status, "reason": reason, "gate": gate, "rating": None, "rating_se": None,
        "cpu_seconds": round(cpu_seconds, 1), "wall_seconds": round(wall_seconds, 1),
        "config": cfg.to_dict(), "run_id": run_id, **figures,
        **{f"{k}_cpu_seconds": round(v, 1) for k, v in (step_cpu_seconds or {}).items()},
    }
    write_registry_row(store, row, f"{cfg.partition} generation {g}: {status}", run_id)
    split = ", ".join(f"{k} {v:.0f}" for k, v in {**(step_cpu_seconds or {}),
                                                  "ladder": figures["ladder_cpu_seconds"]}.items() if v)
    log(f"{cfg.partition} g{g}: {status.upper()}: {reason} ({row['wall_seconds']:.0f} s, "
        f"{row['cpu_seconds']:.0f} CPU s{': ' + split if split else ''}; data share {_f(figures['data_share'])}, "
        f"{figures['positions'] or 0} new positions, window {figures['window_positions'] or 0}, "
        f"trained on {figures['trained_positions'] or 0})")
    if figures["targets"]:
        log(f"{cfg.partition} g{g}: targets H {_f(figures['target_entropy'])}, KL(target||prior) "
            f"{_f(figures['target_kl_prior'])}, KL(target||uniform) {_f(figures['target_kl_uniform'])} nats "
            f"({figures['targets']} targets); held-out policy CE {_f(figures['heldout_policy_ce'])} "
            f"(uniform {_f(figures['heldout_policy_ce_uniform'])}, H {_f(figures['heldout_target_entropy'])}, "
            f"gap closed {_f(figures['heldout_gap_closed'])})")
    return row


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"


STEPS = ("selfplay", "train", "gate")
"""The steps whose CPU seconds the registry keeps (``<step>_cpu_seconds``)."""


def gate_columns(gate: dict) -> dict:
    """The registry's typed columns of a gate's figures (``gate_candidate``'s dict;
    nulls where no gate was played, e.g. a candidate that failed its held-out check)."""
    ci = gate.get("ci95") or [None, None]
    return {"gate_opponent": gate.get("opponent"), "gate_games": gate.get("games"), "gate_score": gate.get("score"),
            "gate_ci_low": ci[0], "gate_ci_high": ci[1], "gate_llr": gate.get("llr"),
            "gate_decision": gate.get("decision")}


COMPUTE_FIGURES = ("ladder_cpu_seconds", "data_cpu_seconds", "data_share")
REGISTRY_FIGURES = ("targets", "target_entropy", "target_kl_prior", "target_kl_uniform", "heldout_policy_ce",
                    "heldout_policy_ce_uniform", "heldout_target_entropy", "heldout_gap_closed", "heldout_value_mse",
                    "heldout_value_mse_zero", "heldout_top1", "best_epoch", "positions", "window_positions",
                    "trained_positions") + COMPUTE_FIGURES
"""The registry's typed figures of a generation: its selfplay targets' signal, its
candidate's held-out evaluation, and where its CPU went (positions made and used)."""
COUNTS = ("targets", "best_epoch", "positions", "window_positions", "trained_positions")


def ladder_cpu_since(store: LakeStore, cfg: LoopConfig, g: int) -> tuple:
    """``(all, kept as data)``: CPU seconds of the partition's ladder games played since
    its previous generation row (what generation ``g`` pays for)."""
    since = store.query("SELECT max(created_at) AS t FROM lake.model_registry WHERE board = ? AND players = ? "
                        "AND generation < ? AND status <> ?", [cfg.board, cfg.players, g, ROLLED_BACK]
                        ).to_pylist()[0]["t"]
    sql = ("SELECT coalesce(sum(cpu_seconds), 0) AS c, coalesce(sum(cpu_seconds) FILTER (WHERE training), 0) AS d "
           "FROM lake.ladder_games WHERE board = ? AND players = ?" + (" AND created_at > ?" if since is not None else ""))
    params = [cfg.board, cfg.players] + ([since] if since is not None else [])
    got = store.query(sql, params).to_pylist()[0]
    return float(got["c"] or 0.0), float(got["d"] or 0.0)


def train_budget(store: LakeStore, cfg: LoopConfig, g: int, selfplay_cpu: Optional[float],
                 probe: Optional[Callable[[], float]] = None) -> Optional[dict]:
    """The training budget of ``train_share`` for generation ``g`` (None when there is
    none: the share is 0 or the generation's selfplay CPU is unknown):
    ``{cpu_seconds, positions, rate, rate_from}``, the CPU allowed and the positions the
    partition's training rate draws in it.  The rate (positions per CPU second) is the
    newest earlier generation's; before any generation measured one (the first), it is
    ``probe()``'s, a few timed steps on the generation's own window, whose CPU the
    budget has already spent (no probe: no budget)."""
    if not cfg.train_share or selfplay_cpu is None:
        return None
    rows = store.query("SELECT generation AS g, train_cpu_seconds AS c, trained_positions AS n "
                       "FROM lake.model_registry WHERE board = ? AND players = ? AND generation < ? "
                       "AND train_cpu_seconds > 0 AND trained_positions > 0 ORDER BY generation DESC LIMIT 1",
                       [cfg.board, cfg.players, g]).to_pylist()
    spent = 0.0
    if rows:
        rate, rate_from = float(rows[0]["n"]) / float(rows[0]["c"]), f"g{rows[0]['g']}"
    elif probe is not None:
        c0 = process_cpu_seconds()
        rate, rate_from = probe(), "probe"
        spent = process_cpu_seconds() - c0
    else:
        return None
    ladder, ladder_data = ladder_cpu_since(store, cfg, g)
    cpu = cfg.train_share / (1 - cfg.train_share) * (selfplay_cpu + ladder_data) - (ladder - ladder_data) - spent
    cpu = max(cpu, 0.0)
    return {"cpu_seconds": round(cpu, 1), "positions": cpu * rate, "rate": round(rate, 1), "rate_from": rate_from}


def compute_figures(store: LakeStore, cfg: LoopConfig, g: int, step_cpu_seconds: dict) -> dict:
    """Where generation ``g``'s CPU went: ``ladder_cpu_seconds`` (the ladder games played
    since the partition's previous generation row: a promotion's ladder is paid by the
    next generation), ``data_cpu_seconds`` (selfplay, plus the gate when its games join
    the training data, plus the ladder games kept as training data) and ``data_share``,
    that over all the CPU (selfplay, training, gate, ladder; None when nothing was
    measured)."""
    ladder, ladder_data = ladder_cpu_since(store, cfg, g)
    data = (step_cpu_seconds.get("selfplay", 0.0) + (step_cpu_seconds.get("gate", 0.0) if cfg.gate_games_train else 0.0)
            + ladder_data)
    total = sum(step_cpu_seconds.values()) + ladder
    return {"ladder_cpu_seconds": round(ladder, 1), "data_cpu_seconds": round(data, 1),
            "data_share": round(data / total, 4) if total > 0 else None}


def generation_figures(store: LakeStore, model_path: Optional[Path], sample_set_id: Optional[str]) -> dict:
    """The :data:`REGISTRY_FIGURES` of a generation: the means of the signal figures of
    the search targets in its sample set's games (:mod:`ringrift_ml.ai.signal`; null
    where the games predate them) and the candidate checkpoint's best held-out
    evaluation (policy CE next to uniform and the targets' entropy, the share of the
    gap closed, value MSE next to predicting 0)."""
    from ..ai.signal import columns, summarize
    from ..nn.checkpoint import read_net

    out = {k: None for k in REGISTRY_FIGURES if k not in COMPUTE_FIGURES}
    if sample_set_id:
        n = store.query("SELECT samples FROM lake.sample_sets WHERE sample_set_id = ?", [sample_set_id]).to_pylist()
        out["positions"] = int(n[0]["samples"]) if n else None
        rows = store.query("SELECT g.search_json FROM lake.sample_set_games s JOIN lake.games g "
                           "ON g.entry_id = s.entry_id WHERE s.sample_set_id = ?", [sample_set_id]).to_pylist()
        out.update(columns(summarize({"search": json.loads(r["search_json"] or "null")} for r in rows)))
    if model_path is not None:
        meta = read_net(model_path)[1]
        samples = meta.get("samples") or {}
        if samples:
            out["window_positions"] = int(samples.get("train", 0)) + int(samples.get("heldout", 0))
        if meta.get("best_epoch") is not None:
            out["best_epoch"] = int(meta["best_epoch"])
        if meta.get("steps") is not None:
            world = int((meta.get("distributed") or {}).get("world_size", 1) or 1)
            out["trained_positions"] = int(meta["steps"]) * int(meta["train_config"]["batch_size"]) * world
        held = meta.get("heldout") or {}
        for k, src in (("heldout_policy_ce", "policy_ce"), ("heldout_policy_ce_uniform", "policy_ce_uniform"),
                       ("heldout_target_entropy", "policy_target_entropy"),
                       ("heldout_gap_closed", "policy_gap_closed"), ("heldout_value_mse", "value_mse"),
                       ("heldout_value_mse_zero", "value_mse_zero"), ("heldout_top1", "top1")):
            if held.get(src) is not None:
                out[k] = float(held[src])
    return out


def recorded_generation_cpu(store: LakeStore, cfg: LoopConfig, g: int) -> float:
    """The CPU seconds the lake and the run directory record for generation ``g``'s steps
    so far: its selfplay commits, its sample set's commit, and its training state (and
    the attempts set aside beside it)."""
    from ..lake.generated import commit_cpu_seconds
    from ..lake.layout import Layout, Partition
    from ..lake.lineage import sample_set_cpu_seconds
    from ..train.checkpoint import state_exists, state_record
    from ..train.loop import STATE_FILE

    total = commit_cpu_seconds(store, label_of(cfg, g))
    built = generation_sample_set(store, cfg, g)
    if built:
        total += sample_set_cpu_seconds(store, built["sample_set_id"])
    run_dir = Layout(store.root).generation_dir(Partition(cfg.board, cfg.players), g)
    if state_exists(run_dir / STATE_FILE):
        total += float(state_record(run_dir / STATE_FILE).get("cpu_seconds") or 0.0)
    return total + set_aside_cpu_seconds(run_dir)


def record_failure(store: LakeStore, cfg: LoopConfig, g: int, best: Optional[dict], error: str, attempts: int,
                   log: Callable[[str], None] = print, cpu_seconds: Optional[float] = None) -> dict:
    """The registry row of a generation whose every attempt raised (no model).
    ``cpu_seconds``: what the attempts cost (None: what the lake records for the
    generation, :func:`recorded_generation_cpu`); its selfplay share, as the lake
    records it, is the row's ``selfplay_cpu_seconds``, and the ladder games played since
    the previous row are its ``ladder_cpu_seconds``, as for any generation."""
    from ..lake.generated import commit_cpu_seconds

    selfplay = commit_cpu_seconds(store, label_of(cfg, g))
    if cpu_seconds is None:
        cpu_seconds = recorded_generation_cpu(store, cfg, g)
    # the ladder of the promotion before it, which the next generation's row pays
    ladder, _ = ladder_cpu_since(store, cfg, g)
    row = {
        "board": cfg.board, "players": cfg.players, "generation": g, "model_id": None,
        "parent_id": best["model_id"] if best else None, "path": None, "sample_set_id": None, "window": [],
        "selfplay_games": len(generation_games(store, cfg, g)), "status": FAILED,
        "reason": f"{attempts} attempt(s) failed; last: {error}",
        "gate": {}, "rating": None, "rating_se": None, "cpu_seconds": round(max(cpu_seconds, selfplay), 1),
        "selfplay_cpu_seconds": round(selfplay, 1), "ladder_cpu_seconds": round(ladder, 1), "wall_seconds": 0.0,
        "config": cfg.to_dict(), "run_id": label_of(cfg, g),
    }
    write_registry_row(store, row, f"{cfg.partition} generation {g}: failed", row["run_id"])
    log(f"{cfg.partition} g{g}: FAILED: {row['reason']} ({row['cpu_seconds']:.0f} CPU s spent)")
    return row


def failure_rate(rows: list) -> tuple:
    """``(failed, generations)`` of a partition's registry rows."""
    states = generation_states(rows)
    return sum(r["status"] == FAILED for r in states.values()), len(states)


def finish_generation(store: LakeStore, cfg: LoopConfig, g: int, best: Optional[dict], model_path: Path,
                      sample_set_id: str, window: list, selfplay_games: int, run_id: str, progress: bool = True,
                      log: Callable[[str], None] = print, step_cpu_seconds: Optional[dict] = None,
                      cpu_seconds: float = 0.0, wall_seconds: float = 0.0) -> dict:
    """Steps 4 and 5: the gate, then the registry row (its figures: ``cpu_seconds`` and
    ``wall_seconds`` of the steps before, the gate's added).  Returns the row."""
    t0, c0 = time.time(), process_cpu_seconds()
    status, reason, gate = gate_candidate(store, cfg, g, model_path, best, progress, log)
    gate_cpu = process_cpu_seconds() - c0
    return record_generation(store, cfg, g, model_path=model_path, best=best, sample_set_id=sample_set_id,
                             window=window, selfplay_games=selfplay_games, status=status, reason=reason, gate=gate,
                             cpu_seconds=cpu_seconds + gate_cpu, wall_seconds=wall_seconds + time.time() - t0,
                             run_id=run_id, log=log, step_cpu_seconds={**(step_cpu_seconds or {}), "gate": gate_cpu})


def run_generation(store: LakeStore, cfg: LoopConfig, g: int, rows: list, progress: bool = True,
                   log: Callable[[str], None] = print) -> dict:
    """One generation (see the module docstring); returns its registry row."""
    from ..lake.lineage import sample_set_cpu_seconds

    t0, c0 = time.time(), process_cpu_seconds()
    best = current_best(rows)
    played = play_generation(store, cfg, g, best, progress, log)
    games = played["games"]
    built = generation_sample_set(store, cfg, g)
    sid = generation_samples(store, cfg, g, log)
    c1 = process_cpu_seconds()
    # A resumed generation whose games an earlier attempt landed counts that attempt's
    # selfplay CPU (recorded with its games' commit) with this call's, and likewise the
    # CPU of a sample set an earlier attempt built (recorded with its commit).  Games
    # landed by a version that recorded no CPU leave nothing to budget training against:
    # no train_share cap then.
    earlier_samples = sample_set_cpu_seconds(store, sid) if built else 0.0
    selfplay = c1 - c0 + played["earlier_cpu_seconds"] + earlier_samples
    unknown = not played["records"] and not played["earlier_cpu_seconds"]
    cand = train_candidate(store, cfg, g, best, sid, progress, log, selfplay_cpu=None if unknown else selfplay)
    c2 = process_cpu_seconds()
    # Likewise the training of earlier attempts (the training state records its CPU).
    train = c2 - c1 + cand.result.earlier_cpu_seconds + cand.set_aside_cpu_seconds
    earlier = (played["earlier_cpu_seconds"] + earlier_samples + cand.result.earlier_cpu_seconds
               + cand.set_aside_cpu_seconds)
    return finish_generation(store, cfg, g, best, cand.path, sid, cand.window, games, label_of(cfg, g),
                             progress, log, step_cpu_seconds={"selfplay": selfplay, "train": train},
                             cpu_seconds=c2 - c0 + earlier, wall_seconds=time.time() - t0)


def is_registry_ref(model: str) -> bool:
    """Whether a spec's ``<model>`` names the registry (``best``, ``g<N>``) rather than a file."""
    return not Path(model).is_file() and (model == "best" or (model[:1] == "g" and model[1:].isdigit()))


def resolve_ref(store: LakeStore, board: str, players: int, ref: str) -> Path:
    """The checkpoint a registry reference names: ``best`` (the partition's current
    best) or ``g<N>`` (generation N's candidate, promoted or not)."""
    rows = registry(store, board, players)
    if ref == "best":
        row = current_best(rows)
        if row is None:
            raise ValueError(f"model 'best': partition {board}|{players} has no promoted model in "
                             f"{store.root} (run ringrift loop first)")
    elif is_registry_ref(ref):
        row = generation_states(rows).get(int(ref[1:]))
        if row is None:
            raise ValueError(f"model {ref!r}: partition {board}|{players} has no generation {ref[1:]} in {store.root}")
        if not row["path"]:
            raise ValueError(f"model {ref!r}: generation {ref[1:]} of {board}|{players} {row['status']} without a "
                             f"model ({row['reason']})")
    else:
        raise ValueError(f"model {ref!r}: expected a checkpoint file, 'best' or g<N>")
    return store.root / row["path"]


def resolve_specs(specs: list, store: LakeStore, board: str, players: int) -> list:
    """Player specs with registry references (``nn:best:64``, ``policy:g3``) replaced
    by the checkpoint files they name."""
    from ..ai.factory import parse_player

    out = []
    for spec in specs:
        p = parse_player(spec)
        if p.uses_network and is_registry_ref(p.model):
            path = resolve_ref(store, board, players, p.model)
            spec = spec.replace(f":{p.model}", f":{path}", 1)
        out.append(spec)
    return out


# The statuses and the registry reading are defined in .generations (the ladder reads them
# too, and run imports the ladder); they stay importable from here.
__all__ = ["FAILED", "PROMOTED", "REJECTED", "REGISTRY_FIGURES", "ROLLED_BACK", "current_best", "failure_rate",
           "Candidate", "finish_generation", "gate_candidate", "generation_figures", "generation_samples",
           "generation_games", "generation_sample_set", "ladder_cpu_since", "train_budget", "rate_probe", "budget_spent", "newest_candidate", "next_generation", "previous_candidate", "play_generation", "selfplay_player", "generation_states", "is_registry_ref", "label_of", "process_cpu_seconds", "record_failure", "recorded_generation_cpu",
           "record_generation", "registry", "resolve_ref", "resolve_specs", "run_generation", "run_loop",
           "train_candidate", "gate_bootstrap_spec", "gate_players", "gate_seed", "keep_saved_steps",
           "set_aside_cpu_seconds"]
