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

from .configs import LoopSettings
from .loop import ladder_metadata, registry_table, signal_metadata
from .model import candidate_model
from .partitions import board_players, split_key
from .provenance import column_schema, provenance
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
def gate_match(context: dg.AssetExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.loop import registry
    from ringrift_ml.loop.run import (finish_generation, generation_games, generation_states, newest_candidate,
                                      next_generation)
    from ringrift_ml.nn.checkpoint import read_net

    part, cfg = loop.for_run(context)
    board, n = part.board, part.players
    store: LakeStore = lake_root.store()
    layout = lake_root.layout()
    g, best = next_generation(store, cfg)
    path = layout.candidate_of(part, g)
    newest = newest_candidate(layout, part)
    states = generation_states(registry(store, board, n))
    if not path.is_file() and newest is not None and layout.relative(newest) in {r["path"] for r in states.values()}:
        # A re-materialization after the gate: the newest candidate is a generation already.
        row = next(r for r in states.values() if r["path"] == layout.relative(newest))
        context.log.info(f"{part}: the newest candidate is generation {row['generation']} already ({row['status']})")
    elif not path.is_file():
        raise dg.Failure(f"partition {part}: generation {g} has no candidate ({path}); materialize candidate_model "
                         "first")
    else:
        _, meta = read_net(path)  # train_candidate records the sample set its window ends at
        games = len(generation_games(store, cfg, g))
        row = finish_generation(store, cfg, g, best, path, meta["sample_set_id"],
                                list((meta.get("data") or {}).get("sample_sets") or []), games,
                                run_id=context.run.run_id, progress=False, log=context.log.info)
    mid = row["model_id"]
    gate = row["gate"] if isinstance(row["gate"], dict) else json.loads(row["gate"] or "{}")
    ci = gate.get("ci95") or [float("nan"), float("nan")]
    return dg.MaterializeResult(
        metadata={
            **provenance(loop, {"candidate_model": mid}),
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
def elo_ladder(context: dg.AssetExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.loop.ladder import loop_ladder

    _, cfg = loop.for_run(context)
    store: LakeStore = lake_root.store()
    if not cfg.ladder_games:
        return dg.MaterializeResult(metadata={"skipped": "the loop settings turn the ladder off (ladder_games 0)"})
    t0 = time.time()
    # As the loop plays it after a promotion: rungs of ladder_games at the loop's simulations.
    out = loop_ladder(store, cfg, progress=False, log=context.log.info)
    gens = [r for r in out["table"] if r["generation"] is not None]
    top = max(gens, key=lambda r: r["generation"]) if gens else None
    md = {
        **provenance(loop),
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
