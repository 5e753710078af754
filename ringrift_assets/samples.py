"""Training samples (lake + NPZ export) and the blocking quality checks."""

import hashlib

import dagster as dg
import numpy as np

from ringrift_ml import quality
from ringrift_ml.lake.layout import Partition
from ringrift_ml.lake.lineage import read_partition, write_sample_set
from ringrift_ml.lake.merge import id_conflicts

from .games import games_merged
from .partitions import board_players, split_key
from .provenance import code_version, column_schema, provenance
from .resources import LakeResource


def _report_metadata(report: quality.QualityReport) -> dict:
    return {
        "rows": report.rows,
        "summary": report.summary(),
        "failures": dg.MetadataValue.json(report.failures),
        "expectations": dg.MetadataValue.json(report.results),
    }


def _check_result(report: quality.QualityReport, extra_failures: list = ()) -> dg.AssetCheckResult:
    failures = list(extra_failures)
    return dg.AssetCheckResult(
        passed=report.success and not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(failures) + ("; " if failures else "") + report.summary())[:2000],
        metadata={**_report_metadata(report), "id_conflicts": dg.MetadataValue.json(failures)},
    )


class GamesQualityConfig(dg.Config):
    replay_sample: int = 20
    """Games per partition replayed through the engine."""


@dg.asset_check(asset=games_merged, blocking=True, partitions_def=board_players,
                description="No game id names two move sequences in lake.games (naming both sources), and a "
                "great-expectations suite on the merged games: schema and types, value ranges, non-empty, unique "
                "game ids and move hashes, valid ranks, a sampled replay through the engine.")
def games_merged_quality(context: dg.AssetCheckExecutionContext, config: GamesQualityConfig,
                         lake_root: LakeResource):
    board, n = split_key(context)
    store = lake_root.store()
    clashes = [f"game id {c['game_id']!r} names {c['sequences']} different move sequences: {c['sources']}"
               for c in id_conflicts(store, board, n)]
    table, snap = read_partition(store, "games_merged", board, n)
    if table.num_rows == 0:
        return dg.AssetCheckResult(passed=False, description=f"partition {board}|{n}: lake.games_merged is empty")
    report = quality.validate_games(table, replay_sample=config.replay_sample)
    res = _check_result(report, clashes)
    return dg.AssetCheckResult(passed=res.passed, severity=res.severity, description=res.description,
                               metadata={**res.metadata, "lake_snapshot": snap})


class TrainingSamplesConfig(dg.Config):
    min_length: int = 10
    """Games shorter than this many moves are left out."""
    symmetries: bool = True
    """Store each position's legal moves under every symmetry of the board (what augmented training needs; on
    the 361- and 469-cell boards it costs a legal-move generation per symmetry and position)."""


@dg.asset(
    code_version="samples-2",
    metadata=column_schema("samples"),
    owners=["team:ringrift-lab"],
    tags={"stage": "samples"},
    partitions_def=board_players,
    group_name="training",
    kinds={"python", "ducklake", "numpy"},
    deps=[games_merged],
    description="A new sample set per run: one row per decision position of the finished merged games (spatial "
    "encoding, exact policy indices of the legal moves and their symmetric images, policy target, move played, "
    "per-seat outcome, final ownership and score margins) in lake.samples, its games in lake.sample_set_games, "
    "the lake snapshot it read in lake.sample_sets; also exported as exports/<board>_<n>p/<sample set>.npz.",
)
def training_samples(context: dg.AssetExecutionContext, config: TrainingSamplesConfig, lake_root: LakeResource):
    from ringrift_ml.lake.lineage import sample_set_id_for
    from ringrift_ml.lake.samples import build_samples
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nn.samples import SampleError
    from ringrift_ml.train.dataset import from_table, save_npz

    board, n = split_key(context)
    store = lake_root.store()
    games, snap = read_partition(store, "games_merged", board, n)
    if games.num_rows == 0:
        raise dg.Failure(f"partition {board}|{n}: lake.games_merged is empty; materialize games_merged first")
    rows = games.to_pylist()
    try:
        table, stats = build_samples(rows, min_length=config.min_length, symmetries=config.symmetries)
    except SampleError as e:
        raise dg.Failure(f"partition {board}|{n}: {e} (lake snapshot {snap})") from e
    if table.num_rows == 0:
        raise dg.Failure(f"partition {board}|{n}: no samples (lake snapshot {snap}, {stats})")
    in_table = set(table.column("game_id").to_pylist())
    used = sorted({(r["game_id"], r["entry_id"]) for r in rows if r["game_id"] in in_table})
    cfg = {**config.model_dump(), "features": stats["features"]}
    sid = sample_set_id_for(board, n, snap, cfg, context.run.run_id)
    data = from_table(table, board, sym_perms=symmetry_perms(board) if config.symmetries else None)
    npz = save_npz(data, lake_root.layout().export(Partition(board, n), sid),
                   {"sample_set_id": sid, "lake_snapshot": snap, "players": n, "min_length": config.min_length})
    digest = hashlib.sha256(npz.read_bytes()).hexdigest()
    sid2, written = write_sample_set(store, board=board, players=n, games_snapshot=snap, games=used, samples=table,
                                     config=cfg, run_id=context.run.run_id, code_version=code_version(),
                                     npz_path=lake_root.layout().relative(npz), npz_sha256=digest)
    assert sid2 == sid
    context.log.info(f"{board}|{n}: sample set {sid}: {stats['samples']} samples from {stats['games_used']} games "
                     f"(lake snapshot {snap})")
    return dg.MaterializeResult(
        metadata={
            **provenance(config, {"games_merged_snapshot": snap}),
            **stats,
            "sample_set_id": sid,
            "lake_snapshot": snap,
            "searched_share": round(float(data.searched.mean()), 4),
            "mean_legal_moves": round(float(np.diff(data.offsets).mean()), 2),
            "npz": dg.MetadataValue.path(str(npz)),
            "dagster/row_count": table.num_rows,
        },
        data_version=dg.DataVersion(sid),
    )


@dg.asset_check(asset=training_samples, blocking=True, partitions_def=board_players,
                description="great-expectations suite on the run's sample set: schema, planes, globals and "
                "ownership of the encoding's size, legal indices distinct and inside the policy layout, policy "
                "targets summing to 1 over them, move played in range, symmetry tables whole, values in [-1, 1].")
def training_samples_quality(context: dg.AssetCheckExecutionContext, lake_root: LakeResource):
    from ringrift_ml.lake.lineage import sample_set

    board, n = split_key(context)
    store = lake_root.store()
    ss = sample_set(store, board, n, context.run.run_id)
    if ss is None:
        return dg.AssetCheckResult(passed=False, description=f"partition {board}|{n}: no sample set")
    table = store.query("SELECT * EXCLUDE (sample_set_id, board, players) FROM lake.samples WHERE sample_set_id = ?",
                        [ss["sample_set_id"]])
    report = quality.validate_samples(table, board)
    res = _check_result(report)
    return dg.AssetCheckResult(passed=res.passed, severity=res.severity, description=res.description,
                               metadata={**res.metadata, "sample_set_id": ss["sample_set_id"]})
