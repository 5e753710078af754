"""The Dagster code location: every asset, check, sensor and resource."""

from __future__ import annotations

import dagster as dg

from .alerts import (candidate_model_divergence, failure_alert_sensor, freshness_alert_sensor, freshness_checks,
                     freshness_checks_sensor)
from .catalog import lake_catalog
from .configs import LoopSettings
from .games import games_merged, selfplay_games
from .gate import best_model, elo_ladder, gate_match
from .landing import (landed_files, landed_games_sensor, landing_job, landing_sensor, landing_zone, merge_job,
                      stage_job)
from .loop import campaign_summary, loop_generation, loop_job, loop_sensor
from .model import calibration_report, candidate_model, candidate_model_sanity
from .nnue import nnue_model
from .ratings import elo_ratings
from .resources import LakeResource
from .samples import games_merged_quality, training_samples, training_samples_quality
from .weights import heuristic_weights

# The assets partitioned by board x players, in graph order.
PARTITIONED_ASSETS = [
    best_model,
    selfplay_games,
    games_merged,
    training_samples,
    candidate_model,
    gate_match,
    elo_ladder,
    calibration_report,
    heuristic_weights,
    elo_ratings,
]
ASSETS = [*PARTITIONED_ASSETS, landing_zone, landed_files, lake_catalog, loop_generation, campaign_summary,
          nnue_model]
CHECKS = [games_merged_quality, training_samples_quality, candidate_model_sanity, candidate_model_divergence,
          *freshness_checks]

pipeline_job = dg.define_asset_job(
    "pipeline",
    selection=dg.AssetSelection.assets(*PARTITIONED_ASSETS),
    description="One loop generation of one partition through the whole graph, the same generation ringrift loop "
    "runs (the loop resource holds its settings): the best model plays selfplay, a candidate trains on the replay "
    "window from the best's weights, the gate decides its promotion, the ladder rates it; calibration, tuned "
    "heuristic weights and the Elo round robin alongside (checks included).",
)


def build_definitions(root: str | None = None, catalog: str | None = None) -> dg.Definitions:
    """Definitions over a storage root (None: ``$RINGRIFT_STORAGE`` or ``./storage`` at run
    time) and a lake catalog (None: ``$RINGRIFT_LAKE_CATALOG`` or the embedded SQLite)."""
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[pipeline_job, merge_job, landing_job, stage_job, loop_job],
        sensors=[landing_sensor, landed_games_sensor, loop_sensor, failure_alert_sensor, freshness_alert_sensor,
                 freshness_checks_sensor],
        resources={"lake_root": LakeResource(root=root, catalog=catalog), "loop": LoopSettings()},
    )


defs = build_definitions()
