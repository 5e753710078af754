"""Game assets: generated selfplay games and the merged, deduplicated table."""

# No "from __future__ import annotations": Dagster reads the config and resource
# annotations of asset functions at definition time.


import hashlib
from typing import List

import dagster as dg

from ringrift_ml.lake.generated import write_generated
from ringrift_ml.lake.layout import Layout, Partition
from ringrift_ml.lake.merge import merge_partition
from ringrift_ml.ai.factory import parse_player
from ringrift_ml.lake.weights import weights_file
from ringrift_ml.selfplay import ENGINES, NET_ENGINES, SelfplayConfig, TemperatureSchedule, run_selfplay, weights_version

from .partitions import board_players, split_key
from .provenance import column_schema, provenance
from .resources import LakeResource
from .weights import heuristic_weights


class SelfplayGamesConfig(dg.Config):
    """How one partition's games are generated."""

    games: int = 8
    players: List[str] = []
    """Player spec per seat (``"mcts:64"``, ``"nn:candidate:64"``, ``"nn:best:64"``,
    ``"nn:/path/model.pt:64"``); empty: ``default_player`` in every seat.  The model
    ``candidate`` is the partition's newest ``candidate_model``; ``best`` and ``g<N>``
    come from the closed loop's registry."""
    default_player: str = "nn:best:64"
    """The player of every seat when ``players`` is empty: by default the partition's
    best model under search (``bootstrap`` until the loop has promoted one)."""
    bootstrap: str = "heuristic"
    """The player of seats whose spec names the registry's best model (``nn:best:N``)
    while the partition has none (generation 0 of the loop)."""
    seed: int = 0
    max_moves: int = 20_000
    workers: int = 1
    opening_moves: int = 12
    opening_temperature: float = 1.0
    temperature: float = 0.0
    batch_games: int = 8
    """Games in flight per worker; their network evaluations share forward passes."""
    full_search_prob: float = 1.0
    """Playout-cap randomization: share of search decisions with a full search (policy targets)."""
    fast_fraction: float = 0.25
    """Budget of a fast search as a share of the full one."""
    device: str = "cpu"
    """Where networks run (cpu, cuda, mps)."""
    weights: str = "packaged"
    """Heuristic weights the players use: ``"packaged"`` (the defaults shipped with the
    package), ``"tuned"`` (the partition's newest ``heuristic_weights``) or a weights
    version (content hash) recorded in ``lake.heuristic_weights``."""


@dg.asset(
    code_version="selfplay-2",
    metadata=column_schema("games"),
    owners=["team:ringrift-lab"],
    tags={"stage": "games"},
    partitions_def=board_players,
    group_name="games",
    kinds={"python", "ducklake"},
    deps=[heuristic_weights, "best_model"],
    description="Selfplay games of the partition by its best model (best_model; the bootstrap player before the "
    "first promotion), appended to lake.games and lake.moves (source 'selfplay'); the generator config of every "
    "game names each seat's model by content hash. "
    "Game ids hash the generator config (weights version included) and the moves: the same config and inputs "
    "give the same games, and a rerun adds nothing twice.",
)
def selfplay_games(context: dg.AssetExecutionContext, config: SelfplayGamesConfig, lake_root: LakeResource):
    board, n = split_key(context)
    store = lake_root.store()
    seats = list(config.players) or [config.default_player] * n
    if len(seats) != n:
        raise dg.Failure(f"partition {board}|{n}: config.players lists {len(seats)} seats, the partition has {n}")
    try:
        once = {s: _bootstrap_if_no_best(s, config.bootstrap, store, board, n, context.log) for s in set(seats)}
        seats = [once[s] for s in seats]
        seats = [resolve_model_ref(s, lake_root.path(), board, n, store) for s in seats]
        weights = weights_file(store, board, n, config.weights)
        cfg = SelfplayConfig(
            board=board,
            players=tuple(seats),
            games=config.games,
            seed=config.seed,
            max_moves=config.max_moves,
            workers=config.workers,
            temperature=TemperatureSchedule(config.opening_moves, config.opening_temperature, config.temperature),
            weights=str(weights) if weights else None,
            batch_games=config.batch_games,
            full_search_prob=config.full_search_prob,
            fast_fraction=config.fast_fraction,
            device=config.device,
        )
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: bad selfplay config: {e} "
                         f"(engines: {', '.join(ENGINES + NET_ENGINES)})") from e
    step = max(1, config.games // 10)

    def log(i: int, rec: dict) -> None:
        if i % step == 0 or i == config.games:
            context.log.info(f"{board}|{n}: game {i}/{config.games} ({rec['length']} moves, winner {rec['winner']})")

    from ringrift_ml.ai.signal import columns, summarize

    records = run_selfplay(cfg, progress=False, on_game=log)
    out = write_generated(store, records, run_id=context.run.run_id)
    finished = sum(r["winner"] is not None for r in records)
    wv = weights_version(cfg.weights)
    return dg.MaterializeResult(
        metadata={
            **provenance(config, {"heuristic_weights": wv}),
            "games": len(records),
            "new_in_lake": out["games"],
            "already_in_lake": out["already_in_lake"],
            "moves": out["moves"],
            "finished_games": finished,
            "mean_length": sum(r["length"] for r in records) / len(records),
            # The targets' signal (nats): entropy, KL from the search's prior and from uniform.
            **{k: v for k, v in columns(summarize(records)).items() if v is not None},
            "weights_version": wv,
            "lake_snapshot": out["snapshot"],
        },
        data_version=dg.DataVersion(_games_version(records)),
    )


def resolve_model_ref(spec: str, root, board: str, n: int, store=None) -> str:
    """A spec whose model is ``candidate`` names the partition's candidate checkpoint;
    ``best`` and ``g<N>`` name the closed loop's current best and generation N (from
    ``lake.model_registry``)."""
    p = parse_player(spec)
    if not p.uses_network:
        return spec
    if p.model == "candidate":
        path = Layout(root).candidate(Partition(board, n))
        if not path.is_file():
            raise ValueError(f"player {spec!r}: the partition has no candidate model yet ({path})")
        return spec.replace(":candidate", f":{path}", 1)
    if store is not None:
        from ringrift_ml.loop.run import resolve_specs

        return resolve_specs([spec], store, board, n)[0]  # best / g<N>; files unchanged
    return spec


def _bootstrap_if_no_best(spec: str, bootstrap: str, store, board: str, n: int, log) -> str:
    """``bootstrap`` for a spec naming the registry's best while the partition has none."""
    from ringrift_ml.loop.run import current_best, registry

    p = parse_player(spec)
    if p.uses_network and p.model == "best" and current_best(registry(store, board, n)) is None:
        if parse_player(bootstrap).uses_network:
            raise ValueError(f"bootstrap {bootstrap!r} must not need a model")
        log.info(f"{board}|{n}: no promoted model yet; {spec} plays as the bootstrap player {bootstrap}")
        return bootstrap
    return spec


def _games_version(records: list) -> str:
    return hashlib.sha256("\n".join(sorted(r["gameId"] for r in records)).encode()).hexdigest()[:16]


@dg.asset(
    code_version="merge-1",
    metadata=column_schema("games_merged"),
    owners=["team:ringrift-lab"],
    tags={"stage": "games"},
    partitions_def=board_players,
    group_name="games",
    kinds={"duckdb", "ducklake"},
    deps=[selfplay_games],
    description="Every distinct game of the partition (generated and landed), one row per move sequence "
    "(dbt_like_sql/games_merged.sql), rebuilt in one lake transaction.  Landed files reach it through the "
    "landed_files asset and the landed_games_sensor.",
)
def games_merged(context: dg.AssetExecutionContext, lake_root: LakeResource):
    board, n = split_key(context)
    try:
        stats = merge_partition(lake_root.store(), board, n, run_id=context.run.run_id)
    except FileNotFoundError as e:
        raise dg.Failure(str(e)) from e
    context.log.info(f"{board}|{n}: {stats['rows_in']} rows in, {stats['rows_out']} out, "
                     f"{stats['duplicates_removed']} duplicates removed")
    return dg.MaterializeResult(
        metadata={
            **provenance(inputs={"lake_snapshot": stats["snapshot"]}),
            "rows_in": stats["rows_in"],
            "rows_out": stats["rows_out"],
            "duplicates_removed": stats["duplicates_removed"],
            "by_source": dg.MetadataValue.json(stats["by_source"]),
            "lake_snapshot": stats["snapshot"],
            "dagster/row_count": stats["rows_out"],
        },
        data_version=dg.DataVersion(f"snapshot-{stats['snapshot']}"),
    )
