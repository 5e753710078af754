"""Alerts in the graph: Dagster's own mechanisms decide, ``ringrift_ml.alerts`` records.

* ``freshness_checks`` (Dagster's last-update freshness checks) on ``selfplay_games``
  and ``landed_files``: failing when no new games arrived for
  ``$RINGRIFT_FRESHNESS_HOURS`` (default 6) hours; ``freshness_checks_sensor`` runs them.
* ``freshness_alert_sensor``: an alert (``SelfplayStalled`` / ``LandingStalled``) when
  one of those checks turns failing, another when it passes again.
* ``candidate_model_divergence``: a (non-blocking) check on ``candidate_model`` that
  fails when the candidate's held-out loss is not finite or rose in each of its last
  three epochs, and records an alert.
* ``failure_alert_sensor``: on every failed run of the loop or the pipeline, the
  partition's consecutive failures counted; an alert each time, critical from
  ``$RINGRIFT_ALERT_FAILURES`` (default 3) on.

Every alert goes to ``<storage>/alerts/alerts.jsonl`` and, with
``$RINGRIFT_ALERT_WEBHOOK``, to that URL.  The regression watch and a gate below 45%
are the loop's own: the loop writes their alerts with the registry row
(``ringrift_ml.alerts.registry_alerts``), in a shell as in Dagster, and Prometheus
alerts on the same (``deploy/alerts.yml``).
"""

import datetime
import os
import warnings

import dagster as dg

from .games import selfplay_games
from .landing import landed_files
from .model import candidate_model
from .partitions import board_players, partition_of
from .resources import LakeResource

FRESHNESS_HOURS = float(os.environ.get("RINGRIFT_FRESHNESS_HOURS", "6"))
FAILURES = int(os.environ.get("RINGRIFT_ALERT_FAILURES", "3"))

STALLED = {"selfplay_games": "SelfplayStalled", "landed_files": "LandingStalled"}
"""The alert each freshness check raises (``deploy/alerts.yml`` names the first the same)."""


def build_freshness_checks(hours: float, assets=(selfplay_games, landed_files)) -> list:
    """Last-update freshness checks on ``assets``: failing when none of their partitions
    was materialized in the last ``hours`` hours."""
    if not hours > 0:
        raise ValueError(f"freshness hours: must be positive, got {hours}")
    with warnings.catch_warnings():
        # Dagster marks this builder superseded by FreshnessPolicy, whose evaluation needs
        # the freshness daemon; these are plain asset checks that run anywhere and show in the UI.
        warnings.simplefilter("ignore")
        return dg.build_last_update_freshness_checks(assets=list(assets),
                                                      lower_bound_delta=datetime.timedelta(hours=hours))


freshness_checks = build_freshness_checks(FRESHNESS_HOURS)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(freshness_checks=freshness_checks)


def freshness_alerts(instance, checks, log_path, cursor: dict) -> tuple:
    """Alerts for the freshness checks' newest evaluations (Dagster's verdicts): one
    ``SelfplayStalled`` / ``LandingStalled`` (warning) when a check turns from passing (or
    never evaluated) to failing, one ``...Resumed`` (info) when it passes again.  ``cursor``
    maps each asset to the newest evaluation already looked at (``{"id", "failed"}``);
    returns ``(alerts written, new cursor)``."""
    from ringrift_ml.alerts import emit

    new, out = dict(cursor), []
    for spec in checks:
        for key in spec.check_keys:
            name = key.asset_key.to_user_string()
            rec = instance.get_latest_asset_check_evaluation_record(key)
            if rec is None or rec.evaluation is None or rec.id == (cursor.get(name) or {}).get("id"):
                continue
            failed = not rec.evaluation.passed
            was = (cursor.get(name) or {}).get("failed", False)
            alert = STALLED.get(name, f"{name}Stale")
            if failed and not was:
                out.append(emit(alert, f"{name}: {rec.evaluation.description}", log_path, labels={"asset": name}))
            elif was and not failed:
                out.append(emit(alert.replace("Stalled", "Resumed"), f"{name}: new data again", log_path,
                                severity="info", labels={"asset": name}))
            new[name] = {"id": rec.id, "failed": failed}
    return out, new


@dg.sensor(name="freshness_alert_sensor", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Records an alert (log and RINGRIFT_ALERT_WEBHOOK) when a freshness check of the selfplay "
           "games or the landed files turns failing, and when it passes again (run the freshness checks with "
           "freshness_checks_sensor).")
def freshness_alert_sensor(context: dg.SensorEvaluationContext, lake_root: LakeResource):
    import json

    alerts, cursor = freshness_alerts(context.instance, freshness_checks, lake_root.layout().alerts_log,
                                      json.loads(context.cursor) if context.cursor else {})
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return dg.SkipReason(f"{len(alerts)} alert(s) recorded" if alerts else "no freshness check changed")


@dg.asset_check(asset=candidate_model, blocking=False, partitions_def=board_players,
                description="Training diverged: the candidate's held-out loss is not finite, or rose in each of "
                "its last three epochs (an alert is recorded when it fails).")
def candidate_model_divergence(context: dg.AssetCheckExecutionContext, lake_root: LakeResource):
    return divergence_result(lake_root.layout(), partition_of(context))


def divergence_result(layout, part) -> dg.AssetCheckResult:
    """The divergence check of a partition's newest candidate (an alert when it fails)."""
    from ringrift_ml.alerts import diverging, emit
    from ringrift_ml.loop.run import newest_candidate
    from ringrift_ml.nn.checkpoint import read_net

    path = newest_candidate(layout, part)
    if path is None:
        return dg.AssetCheckResult(passed=False, description="the partition has no candidate")
    _, meta = read_net(path)
    losses = [h["heldout"]["loss"] for h in meta.get("history") or [] if h.get("heldout")]
    why = diverging(losses)
    if why:
        emit("TrainingDiverging", f"{part}: {why}", layout.alerts_log, labels={"partition": part.key})
    return dg.AssetCheckResult(passed=why is None, description=why or f"{len(losses)} epochs, no divergence",
                               metadata={"heldout_losses": dg.MetadataValue.json(losses)})


def consecutive_failures(instance, job_name: str, partition: str) -> int:
    """Failed runs of ``job_name`` for ``partition``, newest first, up to the first success."""
    runs = instance.get_run_records(dg.RunsFilter(job_name=job_name, tags={"dagster/partition": partition},
                                                  statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]),
                                    limit=50)
    n = 0
    for r in runs:
        if r.dagster_run.status != dg.DagsterRunStatus.FAILURE:
            break
        n += 1
    return n


@dg.run_failure_sensor(name="failure_alert_sensor", default_status=dg.DefaultSensorStatus.STOPPED,
                       description="Records an alert for every failed run (critical from RINGRIFT_ALERT_FAILURES "
                       "consecutive failures of one partition on), in the storage root's alert log and at "
                       "RINGRIFT_ALERT_WEBHOOK.")
def failure_alert_sensor(context: dg.RunFailureSensorContext, lake_root: LakeResource):
    from ringrift_ml.alerts import emit

    run = context.dagster_run
    partition = run.tags.get("dagster/partition", "")
    n = consecutive_failures(context.instance, run.job_name, partition) if partition else 1
    severity = "critical" if n >= FAILURES else "warning"
    message = (f"run {run.run_id} of {run.job_name}" + (f" for {partition}" if partition else "") +
               f" failed ({n} in a row): {context.failure_event.message or ''}".strip())
    emit("RunFailed", message, lake_root.layout().alerts_log, severity=severity,
         labels={"job": run.job_name, "partition": partition, "consecutive": n})


__all__ = ["STALLED", "build_freshness_checks", "candidate_model_divergence", "consecutive_failures",
           "divergence_result", "failure_alert_sensor", "freshness_alert_sensor", "freshness_alerts", "freshness_checks",
           "freshness_checks_sensor"]
