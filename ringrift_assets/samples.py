"""Training samples (Parquet + NPZ export) and the blocking quality checks."""

import dagster as dg
import pyarrow.parquet as pq

from ringrift_ml import lake, quality, samples
from ringrift_ml.rules.boards import board_spec

from .games import games_merged
from .partitions import board_players, split_key
from .provenance import file_version, provenance
from .resources import LakeResource


def _report_metadata(report: quality.QualityReport) -> dict:
    return {
        "rows": report.rows,
        "summary": report.summary(),
        "failures": dg.MetadataValue.json(report.failures),
        "expectations": dg.MetadataValue.json(report.results),
    }


def _check_result(report: quality.QualityReport) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary()[:2000],
        metadata=_report_metadata(report),
    )


class GamesQualityConfig(dg.Config):
    replay_sample: int = 20
    """Games per partition replayed through the engine."""


@dg.asset_check(asset=games_merged, blocking=True,
                description="great-expectations suite on the merged games: schema and types, value ranges, "
                "non-empty, unique game ids and move hashes, valid ranks, a sampled replay through the engine.")
def games_merged_quality(context: dg.AssetCheckExecutionContext, config: GamesQualityConfig,
                         lake_root: LakeResource):
    board, n = split_key(context)
    path = lake.partition_dir(lake_root.path(), "games_merged", board, n) / "data.parquet"
    if not path.is_file():
        return dg.AssetCheckResult(passed=False, description=f"partition {board}|{n}: {path} does not exist")
    report = quality.validate_games(pq.read_table(path), replay_sample=config.replay_sample)
    return _check_result(report)


class TrainingSamplesConfig(dg.Config):
    min_length: int = 10
    """Games shorter than this many moves are left out."""


@dg.asset(
    partitions_def=board_players,
    group_name="training",
    kinds={"python", "parquet", "numpy"},
    deps=[games_merged],
    description="One row per decision position of the finished merged games: encoded state, legal moves, "
    "policy target, move played, outcome for the mover.  Parquet in lake/training_samples and "
    "exports/<board>_<n>p.npz.",
)
def training_samples(context: dg.AssetExecutionContext, config: TrainingSamplesConfig, lake_root: LakeResource):
    board, n = split_key(context)
    root = lake_root.path()
    src = lake.partition_dir(root, "games_merged", board, n) / "data.parquet"
    if not src.is_file():
        raise dg.Failure(f"partition {board}|{n}: {src} does not exist; materialize games_merged first")
    try:
        table, stats = samples.build_samples(pq.read_table(src).to_pylist(), min_length=config.min_length)
    except samples.SampleError as e:
        raise dg.Failure(f"partition {board}|{n}: {e} (in {src})") from e
    if table.num_rows == 0:
        raise dg.Failure(f"partition {board}|{n}: no samples from {src} ({stats})")
    out = lake.write_parquet_atomic(table, lake.partition_dir(root, "training_samples", board, n) / "data.parquet")
    inputs = {"games_merged": file_version(src)}
    npz = samples.export_npz(table, root / "exports" / f"{board}_{n}p.npz", board, n, board_spec(board).n_cells,
                             {"games_merged_version": inputs["games_merged"], "min_length": config.min_length})
    context.log.info(f"{board}|{n}: {stats['samples']} samples from {stats['games_used']} games -> {out}, {npz}")
    return dg.MaterializeResult(
        metadata={
            **provenance(config, inputs),
            **stats,
            "path": dg.MetadataValue.path(str(out)),
            "npz": dg.MetadataValue.path(str(npz)),
        },
        data_version=dg.DataVersion(file_version(out)),
    )


@dg.asset_check(asset=training_samples, blocking=True,
                description="great-expectations suite on the samples: schema, finite features of the board's "
                "size, policy targets summing to 1 over the legal moves, move played in range, values in [-1, 1].")
def training_samples_quality(context: dg.AssetCheckExecutionContext, lake_root: LakeResource):
    board, n = split_key(context)
    path = lake.partition_dir(lake_root.path(), "training_samples", board, n) / "data.parquet"
    if not path.is_file():
        return dg.AssetCheckResult(passed=False, description=f"partition {board}|{n}: {path} does not exist")
    return _check_result(quality.validate_samples(pq.read_table(path), board_spec(board).n_cells))
