"""Training samples (lake + NPZ export) and the blocking quality checks."""

import dagster as dg

from ringrift_ml import quality
from ringrift_ml.lake.lineage import read_games, read_partition
from ringrift_ml.lake.schema import BIG_GAME_COLUMNS
from ringrift_ml.lake.merge import id_conflicts

from .configs import LoopSettings
from .games import games_merged
from .partitions import board_players, split_key
from .provenance import column_schema, provenance
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
    # The small columns of every game, the whole rows of the replayed sample only: a big
    # partition's moves and targets overflow one Arrow read.
    table, snap = read_partition(store, "games_merged", board, n, without=BIG_GAME_COLUMNS)
    if table.num_rows == 0:
        return dg.AssetCheckResult(passed=False, description=f"partition {board}|{n}: lake.games_merged is empty")

    def whole(entries: list):
        import pyarrow as pa

        if not entries:
            return table.slice(0, 0)
        return pa.concat_tables(read_games(store, "games_merged", board, n, snap, [(e, e, 0) for e in entries]))

    report = quality.validate_games(table, replay_sample=config.replay_sample, fetch=whole)
    res = _check_result(report, clashes)
    return dg.AssetCheckResult(passed=res.passed, severity=res.severity, description=res.description,
                               metadata={**res.metadata, "lake_snapshot": snap})


@dg.asset(
    code_version="samples-3",
    metadata=column_schema("samples"),
    owners=["team:ringrift-lab"],
    tags={"stage": "samples"},
    partitions_def=board_players,
    group_name="training",
    kinds={"python", "ducklake", "numpy"},
    deps=[games_merged],
    description="The next loop generation's sample set (ringrift_ml.loop.run.generation_samples, as ringrift loop "
    "builds it): every merged game of the partition that no earlier sample set holds (the generation's selfplay, "
    "the last gate's kept games, games landed since), one row per decision position (spatial encoding, exact "
    "policy indices and their symmetric images, policy target, the search's root value, per-seat outcome, final "
    "ownership and score margins) in lake.samples, its games in lake.sample_set_games; also exported as "
    "exports/<board>_<n>p/<sample set>.npz.",
)
def training_samples(context: dg.AssetExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.lake.lineage import sample_set_by_id, sample_set_stats
    from ringrift_ml.loop.run import generation_samples, label_of, next_generation

    part, cfg = loop.for_run(context)
    store = lake_root.store()
    try:
        g, _ = next_generation(store, cfg)
        sid = generation_samples(store, cfg, g, log=context.log.info, export_npz=True)
    except (ValueError, RuntimeError) as e:  # SampleError is a ValueError
        raise dg.Failure(f"partition {part}: {e}") from e
    ss = sample_set_by_id(store, sid)
    stats = sample_set_stats(store, sid)
    md = {
        **provenance(loop, {"games_merged_snapshot": ss["games_snapshot"]}),
        "generation": g,
        "label": label_of(cfg, g),
        "sample_set_id": sid,
        "games": ss["games"],
        "samples": ss["samples"],
        "lake_snapshot": ss["games_snapshot"],
        "searched_share": round(float(stats["searched"] or 0.0), 4),
        "mean_legal_moves": round(float(stats["legal"] or 0.0), 2),
        "dagster/row_count": ss["samples"],
    }
    if ss.get("npz_path"):
        md["npz"] = dg.MetadataValue.path(str(store.root / ss["npz_path"]))
    return dg.MaterializeResult(metadata=md, data_version=dg.DataVersion(sid))


@dg.asset_check(asset=training_samples, blocking=True, partitions_def=board_players,
                description="great-expectations suite on the run's sample set: schema, planes, globals and "
                "ownership of the encoding's size, legal indices distinct and inside the policy layout, policy "
                "targets summing to 1 over them, move played in range, symmetry tables whole, values in [-1, 1].")
def training_samples_quality(context: dg.AssetCheckExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.lake.lineage import sample_set_batches
    from ringrift_ml.loop.run import generation_sample_set, next_generation

    part, cfg = loop.for_run(context)
    board = part.board
    store = lake_root.store()
    g, _ = next_generation(store, cfg)
    ss = generation_sample_set(store, cfg, g)
    if ss is None:
        return dg.AssetCheckResult(passed=False, description=f"partition {part}: generation {g} has no sample set")
    report = quality.validate_samples(sample_set_batches(store, ss["sample_set_id"]), board)
    res = _check_result(report)
    return dg.AssetCheckResult(passed=res.passed, severity=res.severity, description=res.description,
                               metadata={**res.metadata, "sample_set_id": ss["sample_set_id"]})
