"""Game assets: generated selfplay games and the merged, deduplicated table."""

# No "from __future__ import annotations": Dagster reads the config and resource
# annotations of asset functions at definition time.


from typing import List

import dagster as dg

from ringrift_ml import lake
from ringrift_ml.selfplay import ENGINES, SelfplayConfig, TemperatureSchedule, run_selfplay

from .partitions import board_players, split_key
from .provenance import file_version, provenance
from .resources import LakeResource


class SelfplayGamesConfig(dg.Config):
    """How one partition's games are generated."""

    games: int = 8
    players: List[str] = []
    """Player spec per seat (``"mcts:64"``); empty: ``default_player`` in every seat."""
    default_player: str = "heuristic"
    seed: int = 0
    max_moves: int = 20_000
    workers: int = 1
    opening_moves: int = 12
    opening_temperature: float = 1.0
    temperature: float = 0.0


@dg.asset(
    partitions_def=board_players,
    group_name="games",
    kinds={"python", "parquet"},
    description="Selfplay games of the partition, written to lake/games and lake/moves (source 'selfplay').",
)
def selfplay_games(context: dg.AssetExecutionContext, config: SelfplayGamesConfig, lake_root: LakeResource):
    board, n = split_key(context)
    seats = list(config.players) or [config.default_player] * n
    if len(seats) != n:
        raise dg.Failure(f"partition {board}|{n}: config.players lists {len(seats)} seats, the partition has {n}")
    try:
        cfg = SelfplayConfig(
            board=board,
            players=tuple(seats),
            games=config.games,
            seed=config.seed,
            max_moves=config.max_moves,
            workers=config.workers,
            temperature=TemperatureSchedule(config.opening_moves, config.opening_temperature, config.temperature),
        )
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: bad selfplay config: {e} (engines: {', '.join(ENGINES)})") from e
    step = max(1, config.games // 10)

    def log(i: int, rec: dict) -> None:
        if i % step == 0 or i == config.games:
            context.log.info(f"{board}|{n}: game {i}/{config.games} ({rec['length']} moves, winner {rec['winner']})")

    records = run_selfplay(cfg, progress=False, on_game=log)
    out = lake.write_games(lake_root.path(), records, source="selfplay")
    finished = sum(r["winner"] is not None for r in records)
    return dg.MaterializeResult(
        metadata={
            **provenance(config),
            "games": out["games"],
            "moves": out["moves"],
            "finished_games": finished,
            "mean_length": sum(r["length"] for r in records) / len(records),
            "path": dg.MetadataValue.path(out["games_path"]),
        },
        data_version=dg.DataVersion(file_version(out["games_path"], out["moves_path"])),
    )


@dg.asset(
    partitions_def=board_players,
    group_name="games",
    kinds={"duckdb", "parquet"},
    deps=[selfplay_games],
    description="Generated and landed games of the partition, deduplicated by game id and move-sequence hash "
    "(dbt_like_sql/games_merged.sql, moves_merged.sql).",
)
def games_merged(context: dg.AssetExecutionContext, lake_root: LakeResource):
    board, n = split_key(context)
    root = lake_root.path()
    try:
        stats = lake.merge_partition(root, board, n)
    except FileNotFoundError as e:
        raise dg.Failure(str(e)) from e
    inputs = {
        src: file_version(lake.partition_dir(root, "games", board, n) / f"{src}.parquet") for src in stats["sources"]
    }
    context.log.info(f"{board}|{n}: {stats['rows_in']} rows in, {stats['rows_out']} out, "
                     f"{stats['duplicates_removed']} duplicates removed")
    return dg.MaterializeResult(
        metadata={
            **provenance(inputs=inputs),
            "rows_in": stats["rows_in"],
            "rows_out": stats["rows_out"],
            "duplicates_removed": stats["duplicates_removed"],
            "moves": stats["moves_out"],
            "sources": dg.MetadataValue.json(stats["sources"]),
            "path": dg.MetadataValue.path(stats["games_path"]),
        },
        data_version=dg.DataVersion(file_version(stats["games_path"], stats["moves_path"])),
    )
