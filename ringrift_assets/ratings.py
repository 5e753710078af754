"""CMA-ES-tuned heuristic weights and the Elo tournament of a partition."""

import fcntl
import json
import time
from contextlib import contextmanager

import dagster as dg
import pyarrow as pa

from ringrift_ml import lake
from ringrift_ml.ai.heuristic import packaged_weights_path

from .model import _model_dir, candidate_model
from .partitions import board_players, split_key
from .provenance import config_hash, file_version, provenance
from .resources import LakeResource


@contextmanager
def _locked(path):
    """An exclusive lock beside ``path``: partitions share one weights file, and a
    parallel backfill must not lose one partition's update to another's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class HeuristicWeightsConfig(dg.Config):
    generations: int = 2
    popsize: int = 4
    games_per_eval: int = 2
    sigma0: float = 0.5
    seed: int = 0


@dg.asset(
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python"},
    description="CMA-ES on the heuristic's feature weights for the partition (resumable), stored under "
    "tuned['board|players'] in <storage>/weights/heuristic.json, where heuristic players read them.",
)
def heuristic_weights(context: dg.AssetExecutionContext, config: HeuristicWeightsConfig, lake_root: LakeResource):
    from ringrift_ml.tuning import TuneConfig, save_tuned, tune

    board, n = split_key(context)
    root = lake_root.path()
    try:
        cfg = TuneConfig(board=board, players=n, generations=config.generations, popsize=config.popsize,
                         games_per_eval=config.games_per_eval, sigma0=config.sigma0, seed=config.seed)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    workdir = root / "tuning" / f"{board}_{n}p" / config_hash(config)
    target = root / "weights" / "heuristic.json"
    # This storage root's weights, never those of the working directory or the
    # environment: a root starts from the packaged defaults.
    start = target if target.is_file() else packaged_weights_path()
    t0 = time.time()
    result = tune(cfg, workdir, progress=False, weights=start)
    for h in result["history"]:
        context.log.info(f"{board}|{n} generation {h['generation']}: best {h['best_score']:.3f}, "
                         f"mean {h['mean_score']:.3f}")
    with _locked(target):
        save_tuned(result, target, base=packaged_weights_path())
    return dg.MaterializeResult(metadata={
        **provenance(config),
        "path": dg.MetadataValue.path(str(target)),
        "best_score": float(result["best_score"]),
        "generations": result["generations"],
        "seconds": round(time.time() - t0, 1),
        "weights": dg.MetadataValue.json({k: float(v) for k, v in result["mean_weights"].items()}),
        "history": dg.MetadataValue.json(json.loads(json.dumps(result["history"], default=float))),
    })


class EloConfig(dg.Config):
    games_per_pairing: int = 4
    search_player: str = "mcts:64"
    seed: int = 0


@dg.asset(
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python", "parquet"},
    deps=[candidate_model, heuristic_weights],
    description="Round robin of random, heuristic (tuned weights), a search player and the candidate model "
    "(policy only); maximum-likelihood Elo with standard errors, anchored at random = 0.",
)
def elo_ratings(context: dg.AssetExecutionContext, config: EloConfig, lake_root: LakeResource):
    from ringrift_ml.ai.base import Budget
    from ringrift_ml.ai.heuristic import HeuristicEvaluator, HeuristicPlayer
    from ringrift_ml.ai.simple import RandomPlayer
    from ringrift_ml.arena.elo import fit_elo
    from ringrift_ml.arena.match import round_robin
    from ringrift_ml.selfplay import make_player, parse_spec
    from ringrift_ml.train.player import NeuralPolicyPlayer
    from ringrift_ml.train.train import load_model

    board, n = split_key(context)
    root = lake_root.path()
    weights = root / "weights" / "heuristic.json"
    model_path = _model_dir(root, board, n) / "candidate.pt"
    if not model_path.is_file():
        raise dg.Failure(f"partition {board}|{n}: {model_path} does not exist; materialize candidate_model first")
    try:
        parse_spec(config.search_player)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: search_player: {e}") from e
    ev = HeuristicEvaluator.for_board(board, n, weights if weights.is_file() else packaged_weights_path())
    net, _ = load_model(model_path)
    model_version = file_version(model_path)
    search, search_budget = make_player(config.search_player, board, n)
    players = {"random": RandomPlayer(), "heuristic": HeuristicPlayer(ev), config.search_player: search,
               "candidate": NeuralPolicyPlayer(net, "candidate")}
    budgets = {"random": Budget(nodes=1), "heuristic": Budget(nodes=1), config.search_player: search_budget,
               "candidate": Budget(nodes=1)}
    for key, p in players.items():
        p.name = key  # game results name seats by player name
    done = []

    def log(res):
        done.append(res)
        context.log.info(f"{board}|{n} game {len(done)}: {res.seats} -> winner seat {res.winner_seat} "
                         f"({res.reason}, {res.moves} moves)")

    t0 = time.time()
    results, records = round_robin(players, budgets, board, n, config.games_per_pairing, seed=config.seed,
                                   progress=False, on_game=log)
    elo, se = fit_elo(records, anchor="random")
    games_of = {name: sum(name in r.seats for r in results) for name in players}
    rows = sorted(elo, key=lambda k: -elo[k])
    table = pa.table({
        "board": [board] * len(rows), "players": [n] * len(rows), "player": rows,
        "elo": [elo[k] for k in rows], "se": [se[k] for k in rows], "games": [games_of[k] for k in rows],
        "model_version": [model_version] * len(rows), "created_at": [time.time()] * len(rows),
    })
    out = lake.write_parquet_atomic(table, lake.partition_dir(root, "elo", board, n) / "data.parquet")
    md = "| player | Elo | ± SE | games |\n|---|---|---|---|\n" + "\n".join(
        f"| {k} | {elo[k]:.0f} | {se[k]:.0f} | {games_of[k]} |" for k in rows)
    inputs = {"candidate_model": model_version}
    if weights.is_file():
        inputs["heuristic_weights"] = file_version(weights)
    return dg.MaterializeResult(metadata={
        **provenance(config, inputs),
        "elo_table": dg.MetadataValue.md(md),
        "ratings": dg.MetadataValue.json({k: {"elo": elo[k], "se": se[k]} for k in rows}),
        "games": len(results),
        "seconds": round(time.time() - t0, 1),
        "path": dg.MetadataValue.path(str(out)),
    })
