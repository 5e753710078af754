"""The lake's catalog as an asset: what every table holds, as of one snapshot."""

import dagster as dg

from ringrift_ml.lake.schema import TABLES, VIEWS

from .games import games_merged
from .model import calibration_report, candidate_model
from .provenance import provenance, table
from .ratings import elo_ratings
from .resources import LakeResource
from .samples import training_samples


class LakeCatalogConfig(dg.Config):
    compact: bool = False
    """Also merge the lake's small data files (DuckLake ``merge_adjacent_files``)."""


@dg.asset(
    code_version="catalog-1",
    owners=["team:ringrift-lab"],
    tags={"stage": "catalog"},
    group_name="catalog",
    kinds={"ducklake"},
    deps=[games_merged, training_samples, candidate_model, calibration_report, elo_ratings],
    description="The DuckLake catalog (SQLite file or PostgreSQL): row counts of every table and view as of the "
    "newest snapshot, and how to query them.  Optionally compacts small data files.",
)
def lake_catalog(context: dg.AssetExecutionContext, config: LakeCatalogConfig, lake_root: LakeResource):
    store = lake_root.store()
    if config.compact:
        store.compact()
    snap, counts = store.table_counts(list(TABLES) + list(VIEWS))
    context.log.info(f"lake {store.describe()} at snapshot {snap}: {counts}")
    return dg.MaterializeResult(metadata={
        **provenance(inputs={"lake_snapshot": snap}),
        "catalog": store.describe(),
        "lake_id": store.lake_id or "",
        "lake_snapshot": snap,
        "tables": table([{"table": f"lake.{k}", "rows": v} for k, v in counts.items()],
                        [("table", "text"), ("rows", "int")]),
        "query": dg.MetadataValue.md(
            f"`ringrift lake sql --storage {store.root} \"SELECT * FROM lake.games_merged LIMIT 5\"`"),
    })
