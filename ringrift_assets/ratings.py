"""The Elo tournament of a partition."""

import time

import dagster as dg

from ringrift_ml.ai.heuristic import packaged_weights_path
from ringrift_ml.lake.lineage import record_row

from .model import candidate_model
from .partitions import board_players, partition_of
from .provenance import column_schema, file_version, provenance, table
from .resources import LakeResource
from .weights import heuristic_weights


class EloConfig(dg.Config):
    games_per_pairing: int = 4
    search_player: str = "mcts:64"
    candidate_simulations: int = 32
    """The candidate also plays under search (``nn:<candidate>:<this>``); 0 leaves it out."""
    concurrency: int = 8
    """Games in flight (network evaluations are batched across them)."""
    random_opening: int = 2
    """Decisions played at random from each game's seed, so deterministic players meet in different games."""
    seed: int = 0


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
    from ringrift_ml.ai.base import Budget
    from ringrift_ml.ai.heuristic import HeuristicEvaluator, HeuristicPlayer
    from ringrift_ml.ai.simple import RandomPlayer
    from ringrift_ml.arena.elo import fit_elo
    from ringrift_ml.arena.match import round_robin
    from ringrift_ml.ai.factory import parse_spec
    from ringrift_ml.nn.players import make_player
    from ringrift_ml.nn.evaluator import NetPolicyPlayer
    from ringrift_ml.nn.infer import NetRunner
    from ringrift_ml.nn.checkpoint import load_net

    part = partition_of(context)
    board, n = part.board, part.players
    layout = lake_root.layout()
    weights = layout.weights_file
    from ringrift_ml.loop.run import newest_candidate

    model_path = newest_candidate(layout, part)
    if model_path is None:
        raise dg.Failure(f"partition {part}: no candidate yet; materialize candidate_model first")
    try:
        parse_spec(config.search_player)
        if config.candidate_simulations < 0 or config.concurrency < 1 or config.random_opening < 0:
            raise ValueError("candidate_simulations and random_opening must be >= 0, concurrency positive")
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: elo config: {e}") from e
    ev = HeuristicEvaluator.for_board(board, n, weights if weights.is_file() else packaged_weights_path())
    try:
        net, _ = load_net(model_path)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e} (re-materialize candidate_model)") from e
    model_version = file_version(model_path)
    search, search_budget = make_player(config.search_player, board, n,
                                        weights=str(weights) if weights.is_file() else None)
    players = {"random": RandomPlayer(), "heuristic": HeuristicPlayer(ev), config.search_player: search,
               "candidate": NetPolicyPlayer(NetRunner(net), "candidate")}
    budgets = {"random": Budget(nodes=1), "heuristic": Budget(nodes=1), config.search_player: search_budget,
               "candidate": Budget(nodes=1)}
    if config.candidate_simulations:
        key = f"candidate+search:{config.candidate_simulations}"
        players[key], budgets[key] = make_player(f"nn:{model_path}:{config.candidate_simulations}", board, n)
    for key, p in players.items():
        p.name = key  # game results name seats by player name
    done = []

    def log(res):
        done.append(res)
        context.log.info(f"{board}|{n} game {len(done)}: {res.seats} -> winner seat {res.winner_seat} "
                         f"({res.reason}, {res.moves} moves)")

    t0 = time.time()
    results, records = round_robin(players, budgets, board, n, config.games_per_pairing, seed=config.seed,
                                   progress=False, on_game=log, concurrency=config.concurrency,
                                   random_opening=config.random_opening)
    elo, se = fit_elo(records, anchor="random")
    games_of = {name: sum(name in r.seats for r in results) for name in players}
    rows = sorted(elo, key=lambda k: -elo[k])
    wv = file_version(weights) if weights.is_file() else "packaged"
    record_row(lake_root.store(), "elo", [
        {"board": board, "players": n, "player": k, "elo": float(elo[k]), "se": float(se[k]), "games": games_of[k],
         "model_id": model_version, "weights_version": wv} for k in rows], f"elo {board}|{n}", context.run.run_id)
    elo_table = table([{"player": k, "elo": round(float(elo[k]), 1), "se": round(float(se[k]), 1),
                        "games": int(games_of[k])} for k in rows],
                      [("player", "text"), ("elo", "float"), ("se", "float"), ("games", "int")])
    inputs = {"candidate_model": model_version}
    if weights.is_file():
        inputs["heuristic_weights"] = file_version(weights)
    return dg.MaterializeResult(metadata={
        **provenance(config, inputs),
        "elo_table": elo_table,
        **{f"elo/{k}": float(elo[k]) for k in rows},  # numbers: charted across materializations
        "ratings": dg.MetadataValue.json({k: {"elo": elo[k], "se": se[k]} for k in rows}),
        "games": len(results),
        "seconds": round(time.time() - t0, 1),
    })
