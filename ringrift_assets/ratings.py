"""The Elo tournament of a partition's newest candidate (``ringrift_ml.loop.ratings``)."""

import time

import dagster as dg

from ringrift_ml.loop.ratings import RoundRobinConfig

from .configs import config_from_dataclass
from .model import candidate_model
from .partitions import board_players, partition_of
from .provenance import column_schema, provenance, table
from .resources import LakeResource
from .weights import heuristic_weights

EloConfig = config_from_dataclass("EloConfig", RoundRobinConfig, {})


@dg.asset(
    code_version="elo-2",
    metadata=column_schema("elo"),
    owners=["team:ringrift-lab"],
    tags={"stage": "ratings"},
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python", "parquet"},
    deps=[candidate_model, heuristic_weights],
    description="Round robin of random, heuristic (tuned weights), a search player and the candidate model "
    "(policy only, and under network-guided search); maximum-likelihood Elo with standard errors, anchored at "
    "random = 0.",
)
def elo_ratings(context: dg.AssetExecutionContext, config: EloConfig, lake_root: LakeResource):
    from ringrift_ml.loop.ratings import rate_candidate
    from ringrift_ml.loop.run import newest_candidate

    part = partition_of(context)
    layout = lake_root.layout()
    weights = layout.weights_file if layout.weights_file.is_file() else None
    model_path = newest_candidate(layout, part)
    if model_path is None:
        raise dg.Failure(f"partition {part}: no candidate yet; materialize candidate_model first")
    try:
        cfg = RoundRobinConfig(**config.model_dump())
    except ValueError as e:
        raise dg.Failure(f"partition {part}: elo config: {e}") from e
    done = []

    def log(res):
        done.append(res)
        context.log.info(f"{part} game {len(done)}: {res.seats} -> winner seat {res.winner_seat} "
                         f"({res.reason}, {res.moves} moves)")

    t0 = time.time()
    try:
        out = rate_candidate(lake_root.store(), part.board, part.players, model_path, cfg, weights=weights,
                             run_id=context.run.run_id, on_game=log)
    except ValueError as e:
        raise dg.Failure(f"partition {part}: {e} (re-materialize candidate_model)") from e
    elo, se, games_of = out["elo"], out["se"], out["games_of"]
    rows = sorted(elo, key=lambda k: -elo[k])
    elo_table = table([{"player": k, "elo": round(float(elo[k]), 1), "se": round(float(se[k]), 1),
                        "games": int(games_of[k])} for k in rows],
                      [("player", "text"), ("elo", "float"), ("se", "float"), ("games", "int")])
    inputs = {"candidate_model": out["model_id"]}
    if weights:
        inputs["heuristic_weights"] = out["weights_version"]
    return dg.MaterializeResult(metadata={
        **provenance(config, inputs),
        "elo_table": elo_table,
        **{f"elo/{k}": float(elo[k]) for k in rows},  # numbers: charted across materializations
        "ratings": dg.MetadataValue.json({k: {"elo": elo[k], "se": se[k]} for k in rows}),
        "games": out["games"],
        "seconds": round(time.time() - t0, 1),
    })
