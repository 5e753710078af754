"""Heuristic weights: CMA-ES per partition, each result a versioned, content-addressed file."""

import time

import dagster as dg

from ringrift_ml.lake.layout import Partition

from .partitions import board_players, split_key
from .provenance import column_schema, config_hash, provenance, table
from .resources import LakeResource


class HeuristicWeightsConfig(dg.Config):
    generations: int = 2
    popsize: int = 4
    games_per_eval: int = 2
    sigma0: float = 0.5
    seed: int = 0
    confirm_max_games: int = 100
    """The confirming test of the tuned weights against the current ones: at most this many games."""
    confirm_min_games: int = 20
    """... and (2 players) no decision before this many."""
    confirm_elo1: float = 35.0
    """2 players: the SPRT's alternative (tuned weights this many Elo stronger)."""
    evaluator: str = "games"
    """Fitness: ``games`` against random and the current heuristic, or ``neural``: the
    partition's best model (best_model) rates the positions each candidate's choices
    reach; refused unless that model first beats the heuristic."""
    positions: int = 256
    """Neural fitness: positions every candidate is scored on."""
    gate_games: int = 100
    """Neural fitness: games of the best model against the heuristic before tuning."""
    gate_simulations: int = 64


@dg.asset(
    code_version="cmaes-3",
    metadata=column_schema("heuristic_weights"),
    owners=["team:ringrift-lab"],
    tags={"stage": "tuning"},
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python"},
    deps=["best_model"],
    description="CMA-ES on the heuristic's feature weights for the partition (resumable; fitness from games, or "
    "from the best model's evaluations once it beats the heuristic), then a confirming "
    "test against the weights they would replace.  Only accepted weights are merged into "
    "<storage>/weights/heuristic.json (tuned['board|players']); every result is kept as a content-addressed "
    "version under weights/versions/ and recorded in lake.heuristic_weights with the test; selfplay names the "
    "version it plays with.",
)
def heuristic_weights(context: dg.AssetExecutionContext, config: HeuristicWeightsConfig, lake_root: LakeResource):
    from ringrift_ml.lake.weights import record_weights_version
    from ringrift_ml.tuning import TuneConfig, tune_and_accept

    board, n = split_key(context)
    try:
        cfg = TuneConfig(board=board, players=n, generations=config.generations, popsize=config.popsize,
                         games_per_eval=config.games_per_eval, sigma0=config.sigma0, seed=config.seed,
                         evaluator=config.evaluator, positions=config.positions, gate_games=config.gate_games,
                         gate_simulations=config.gate_simulations)
        model = None
        if cfg.evaluator == "neural":
            from ringrift_ml.loop.run import resolve_ref

            model = resolve_ref(lake_root.store(), board, n, "best")
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    layout = lake_root.layout()
    part = Partition(board, n)
    t0 = time.time()
    try:
        # This storage root's weights, never those of the working directory or the
        # environment: a root starts from the packaged defaults.
        out = tune_and_accept(cfg, layout.tuning_dir(part, config_hash(config)), layout.weights_file,
                              confirm_games=config.confirm_max_games, confirm_min_games=config.confirm_min_games,
                              confirm_elo1=config.confirm_elo1, model=model, progress=False)
    except ValueError as e:  # e.g. the network does not beat the heuristic
        raise dg.Failure(f"partition {part}: {e}") from e
    result, confirm = out["result"], out["confirmation"]
    for h in result["history"]:
        context.log.info(f"{part} generation {h['generation']}: best {h['best_score']:.3f}, "
                         f"mean {h['mean_score']:.3f}")
    context.log.info(f"{part}: confirming test of the tuned weights: {confirm['score']:.3f} over "
                     f"{confirm['games']} games -> {'accepted' if out['accepted'] else 'rejected'}")
    rec = record_weights_version(lake_root.store(), board, n, out, config.model_dump(), context.run.run_id)
    version, vfile = rec["weights_version"], rec["path"]
    return dg.MaterializeResult(
        metadata={
            **provenance(config),
            "weights_version": version,
            "accepted": out["accepted"],
            "confirmation": dg.MetadataValue.json(confirm),
            "path": dg.MetadataValue.path(str(vfile)),
            "best_score": float(result["best_score"]),
            "generations": result["generations"],
            "seconds": round(time.time() - t0, 1),
            "weights": dg.MetadataValue.json({k: float(v) for k, v in result["mean_weights"].items()}),
            # The CMA-ES history as a table with its schema; the scores below are numbers,
            # which the Plots tab charts across materializations.
            "history": table([{k: h[k] for k in ("generation", "best_score", "mean_score")}
                              for h in result["history"]],
                             [("generation", "int"), ("best_score", "float"), ("mean_score", "float")]),
            "confirmation_score": float(confirm["score"]),
            "evaluator": cfg.evaluator,
            "network_gate": dg.MetadataValue.json(result.get("network_gate")),
        },
        data_version=dg.DataVersion(version),
    )
