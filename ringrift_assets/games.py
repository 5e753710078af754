"""Game assets: generated selfplay games and the merged, deduplicated table."""

# No "from __future__ import annotations": Dagster reads the config and resource
# annotations of asset functions at definition time.


import hashlib

import dagster as dg

from ringrift_ml.ai.factory import parse_player
from ringrift_ml.lake.layout import Layout, Partition
from ringrift_ml.lake.merge import merge_partition

from .configs import LoopSettings
from .partitions import board_players, split_key
from .provenance import column_schema, provenance
from .resources import LakeResource


@dg.asset(
    code_version="selfplay-3",
    metadata=column_schema("games"),
    owners=["team:ringrift-lab"],
    tags={"stage": "games"},
    partitions_def=board_players,
    group_name="games",
    kinds={"python", "ducklake"},
    deps=["best_model"],
    description="The selfplay of the partition's next loop generation (ringrift_ml.loop.run.play_generation, as "
    "ringrift loop plays it): its best model under search in every seat (the bootstrap player before the first "
    "promotion), labelled loop:<partition>:g<N>, appended to lake.games and merged.  Game ids hash the generator "
    "config and the moves: a rerun adds nothing twice.  Settings: the loop resource.",
)
def selfplay_games(context: dg.AssetExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.ai.signal import columns, summarize
    from ringrift_ml.loop.run import next_generation, play_generation

    part, cfg = loop.for_run(context)
    store = lake_root.store()
    g, best = next_generation(store, cfg)
    out = play_generation(store, cfg, g, best, progress=False, log=context.log.info)
    records = out["records"]
    ids = out["game_ids"]
    return dg.MaterializeResult(
        metadata={
            **provenance(loop, {"best_model": best["model_id"] if best else "bootstrap"}),
            "generation": g,
            "label": out["label"],
            "player": out["player"],
            "games": out["games"],
            "played_now": len(records),
            "new_in_lake": out["new_in_lake"],
            "finished_games": sum(r["winner"] is not None for r in records),
            **({"mean_length": sum(r["length"] for r in records) / len(records)} if records else {}),
            # The targets' signal (nats): entropy, KL from the search's prior and from uniform.
            **{k: v for k, v in columns(summarize(records)).items() if v is not None},
        },
        data_version=dg.DataVersion(_games_version(ids)),
    )


def resolve_model_ref(spec: str, root, board: str, n: int, store=None) -> str:
    """A spec whose model is ``candidate`` names the partition's newest candidate (the
    newest generation's checkpoint); ``best`` and ``g<N>`` name the closed loop's
    current best and generation N (from ``lake.model_registry``)."""
    p = parse_player(spec)
    if not p.uses_network:
        return spec
    if p.model == "candidate":
        from ringrift_ml.loop.run import newest_candidate

        path = newest_candidate(Layout(root), Partition(board, n))
        if path is None:
            raise ValueError(f"player {spec!r}: the partition has no candidate model yet")
        return spec.replace(":candidate", f":{path}", 1)
    if store is not None:
        from ringrift_ml.loop.run import resolve_specs

        return resolve_specs([spec], store, board, n)[0]  # best / g<N>; files unchanged
    return spec


def _games_version(game_ids: list) -> str:
    return hashlib.sha256("\n".join(sorted(game_ids)).encode()).hexdigest()[:16]


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
    "(dbt_like_sql/games_merged.sql), brought up to date in one lake transaction (only the sequences that changed).  Landed files reach it through the "
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
