"""The loop's steps as assets of the main graph: the best model, the gate, the ladder.

One generation through the graph is one run of the ``generation`` job::

    best_model -> selfplay_games -> games_merged -> training_samples -> candidate_model
               \\                                                          |
                `-------------------------------------------------> gate_match -> elo_ladder

``best_model`` reads the partition's current best from ``lake.model_registry``
(selfplay plays it, the candidate starts from it, the gate plays against it);
``gate_match`` writes the generation's registry row (promoted or rejected);
``elo_ladder`` rates the promotions and rolls a worse one back.  The next run's
``best_model`` sees the result: the registry is the loop's state, shared with
``loop_generation`` (the same generation as one asset) and ``ringrift loop``.
The work is in ``ringrift_ml.loop``; these functions only run it and show it.
"""

import json
import time

import dagster as dg

from ringrift_ml.lake import LakeStore
from ringrift_ml.loop import LoopConfig

from .loop import ladder_metadata, registry_table, signal_metadata
from .model import candidate_model
from .partitions import board_players, partition_of, split_key
from .provenance import column_schema, file_version, provenance
from .resources import LakeResource


@dg.asset(
    code_version="best-1",
    metadata=column_schema("model_registry"),
    owners=["team:ringrift-lab"],
    tags={"stage": "loop"},
    partitions_def=board_players,
    group_name="loop",
    kinds={"pytorch", "ducklake"},
    description="The partition's current best network according to lake.model_registry: the newest promoted "
    "generation that was not rolled back (none before the first promotion: selfplay then uses its bootstrap "
    "player and the gate plays the bootstrap search).  Its metadata carry the whole registry as a table.",
)
def best_model(context: dg.AssetExecutionContext, lake_root: LakeResource):
    from ringrift_ml.loop import registry
    from ringrift_ml.loop.run import current_best, generation_states

    board, n = split_key(context)
    store: LakeStore = lake_root.store()
    rows = registry(store, board, n)
    best = current_best(rows)
    states = generation_states(rows)
    if best is None:
        context.log.info(f"{board}|{n}: no promoted generation yet; selfplay uses the bootstrap player")
    md = {
        "best_generation": best["generation"] if best else -1,
        "best_model_id": best["model_id"] if best else "bootstrap",
        "generations": len(states),
        "promoted": sum(r["status"] == "promoted" for r in states.values()),
        "registry": registry_table(rows, store),
        "dagster/row_count": len(states),
    }
    if best:
        md["path"] = dg.MetadataValue.path(str(store.root / best["path"]))
        md["reason"] = best["reason"]
    return dg.MaterializeResult(metadata=md, data_version=dg.DataVersion(best["model_id"] if best else "bootstrap"))


class GateConfig(dg.Config):
    """The gate: the candidate against the best at equal simulations."""

    simulations: int = 64
    min_games: int = 40
    """The test decides no earlier (seats rotate)."""
    max_games: int = 200
    """The test's horizon."""
    truncation: str = "llr"
    """Undecided at the horizon: promote when the statistic leans to the gain ("llr") or reject ("reject")."""
    elo0: float = 0.0
    elo1: float = 35.0
    """SPRT hypotheses: the candidate is elo0 (H0) or elo1 (H1) Elo above the best."""
    random_opening: int = 2
    concurrency: int = 16
    bootstrap: str = ""
    """The opponent before the first promotion (empty: mcts:<simulations>)."""
    seed: int = 0
    device: str = "cpu"


@dg.asset(
    code_version="gate-1",
    metadata=column_schema("model_registry"),
    owners=["team:ringrift-lab"],
    tags={"stage": "loop"},
    partitions_def=board_players,
    group_name="loop",
    kinds={"python", "pytorch", "ducklake"},
    deps=[candidate_model, best_model],
    description="The partition's candidate against its best (the bootstrap search before any promotion) at equal "
    "simulations, seats rotating, a sequential probability ratio test with minimum and maximum games; the "
    "candidate becomes a new generation in lake.model_registry, promoted only when the test passes (at its "
    "horizon: when its statistic leans to the gain, a truncated SPRT).  A candidate "
    "already in the registry is not gated twice.",
)
def gate_match(context: dg.AssetExecutionContext, config: GateConfig, lake_root: LakeResource):
    from ringrift_ml.loop import registry
    from ringrift_ml.loop.run import (current_best, gate_candidate, generation_states, process_cpu_seconds,
                                      record_generation)
    from ringrift_ml.nn.checkpoint import copy_net, read_net

    part = partition_of(context)
    board, n = part.board, part.players
    store: LakeStore = lake_root.store()
    layout = lake_root.layout()
    src = layout.candidate(part)
    if not src.is_file():
        raise dg.Failure(f"partition {board}|{n}: {src} does not exist; materialize candidate_model first")
    try:
        cfg = LoopConfig(board=board, players=n, simulations=config.simulations,
                         bootstrap=config.bootstrap or f"mcts:{config.simulations}", gate_min_games=config.min_games,
                         gate_max_games=config.max_games,
                         gate_truncation=config.truncation, elo0=config.elo0, elo1=config.elo1,
                         gate_random_opening=config.random_opening, batch_games=config.concurrency,
                         seed=config.seed, device=config.device)
        _, meta = read_net(src)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    rows = registry(store, board, n)
    states = generation_states(rows)
    mid = file_version(src)
    seen = [r for r in states.values() if r["model_id"] == mid]
    if seen:
        row = seen[0]
        context.log.info(f"{board}|{n}: this candidate is generation {row['generation']} already ({row['status']})")
    else:
        t0, c0 = time.time(), process_cpu_seconds()
        g = max(states) + 1 if states else 0
        best = current_best(rows)
        path = layout.generation_dir(part, g) / "model.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_net(src, path)  # the registry keeps the generation's file; candidate.pt is overwritten later
        status, reason, gate = gate_candidate(store, cfg, g, path, best, progress=False, log=context.log.info)
        sid = meta.get("sample_set_id")  # candidate_model records the sample set its window ends at
        games = store.query("SELECT games FROM lake.sample_sets WHERE sample_set_id = ?", [sid]).to_pylist()
        row = record_generation(store, cfg, g, model_path=path, best=best, sample_set_id=sid,
                                window=list((meta.get("data") or {}).get("sample_sets") or [sid]),
                                selfplay_games=games[0]["games"] if games else 0, status=status, reason=reason,
                                gate=gate, cpu_seconds=process_cpu_seconds() - c0, wall_seconds=time.time() - t0,
                                run_id=context.run.run_id, log=context.log.info,
                                step_cpu_seconds={"gate": process_cpu_seconds() - c0})
    gate = row["gate"] if isinstance(row["gate"], dict) else json.loads(row["gate"] or "{}")
    ci = gate.get("ci95") or [float("nan"), float("nan")]
    return dg.MaterializeResult(
        metadata={
            **provenance(config, {"candidate_model": mid}),
            "generation": row["generation"],
            "status": row["status"],
            "reason": row["reason"],
            # Numbers, so the Plots tab charts the gate across generations without a click.
            "gate_score": float(gate.get("score", float("nan"))),
            "gate_ci_low": float(ci[0]),
            "gate_ci_high": float(ci[1]),
            "gate_games": int(gate.get("games", 0)),
            **signal_metadata(row),
            "gate": dg.MetadataValue.json(json.loads(json.dumps(gate, default=float))),
            "registry": registry_table(registry(store, board, n), store),
        },
        data_version=dg.DataVersion(f"g{row['generation']}-{row['status']}-{mid}"),
    )


class LadderConfig(dg.Config):
    games: int = 40
    """Games per rung (rungs with fewer are topped up)."""
    simulations: int = 64
    concurrency: int = 16
    seed: int = 0


@dg.asset(
    code_version="ladder-1",
    metadata=column_schema("ladder_games"),
    owners=["team:ringrift-lab"],
    tags={"stage": "loop"},
    partitions_def=board_players,
    group_name="loop",
    kinds={"python", "ducklake"},
    deps=[gate_match],
    description="The partition's rating ladder: every promoted generation and the baselines (random, heuristic, "
    "mcts) rated together by maximum likelihood with standard errors from the games in lake.ladder_games (games "
    "of other partitions refused); then the regression watch rolls back a promotion rated below its predecessor "
    "beyond the interval and says why.  Plot: rating against CPU hours.",
)
def elo_ladder(context: dg.AssetExecutionContext, config: LadderConfig, lake_root: LakeResource):
    from ringrift_ml.loop.ladder import update_ladder

    board, n = split_key(context)
    store: LakeStore = lake_root.store()
    if config.games < 1 or config.simulations < 1 or config.concurrency < 1:
        raise dg.Failure(f"partition {board}|{n}: ladder config: games, simulations and concurrency must be positive")
    t0 = time.time()
    out = update_ladder(store, board, n, simulations=config.simulations, games=config.games,
                        concurrency=config.concurrency, seed=config.seed, progress=False, log=context.log.info)
    gens = [r for r in out["table"] if r["generation"] is not None]
    top = max(gens, key=lambda r: r["generation"]) if gens else None
    md = {
        **provenance(config),
        **ladder_metadata(out),
        "dagster/row_count": len(out["table"]),
        "games_played": out["played"],
        "seconds": round(time.time() - t0, 1),
    }
    if top:
        md["newest_generation"] = int(top["generation"])
        md["newest_elo"] = float(top["elo"])
        md["newest_elo_se"] = float(top["se"])
    return dg.MaterializeResult(metadata=md)
