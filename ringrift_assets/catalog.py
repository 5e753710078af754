"""The DuckDB catalog: ``<storage>/ringrift.duckdb``, views over the lake."""


import dagster as dg

from ringrift_ml import lake

from .games import games_merged
from .model import calibration_report, candidate_model
from .ratings import elo_ratings
from .samples import training_samples
from .provenance import provenance
from .resources import LakeResource


@dg.asset(
    group_name="catalog",
    kinds={"duckdb"},
    deps=[games_merged, training_samples, candidate_model, calibration_report, elo_ratings],
    description="(Re)creates the views of storage/ringrift.duckdb over every lake table that has data.",
)
def lake_catalog(context: dg.AssetExecutionContext, lake_root: LakeResource):
    out = lake.refresh_catalog(lake_root.path())
    context.log.info(f"catalog {out['path']}: {out['views']}")
    return dg.MaterializeResult(
        metadata={
            **provenance(),
            "path": dg.MetadataValue.path(out["path"]),
            "views": dg.MetadataValue.json(out["views"]),
        }
    )
