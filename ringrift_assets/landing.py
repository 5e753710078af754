"""The landing zone in the graph: a sensor that notices stable files, an asset that
ingests one file per (dynamic) partition, and a sensor that merges what landed.

The work is in ``ringrift_ml.lake.landing``; the sensor tick only looks (stat), hashes
and renames stable files - validation runs in the ``landed_files`` runs.
"""

import json

import dagster as dg

from ringrift_ml.lake import landing
from ringrift_ml.lake.layout import Partition

from .games import games_merged
from .partitions import partition_key
from .provenance import provenance
from .resources import LakeResource
from .samples import training_samples

landed_file_partitions = dg.DynamicPartitionsDefinition(name="landed_files")


@dg.asset(
    code_version="landing-1",
    owners=["team:ringrift-lab"],
    tags={"stage": "landing"},
    partitions_def=landed_file_partitions,
    group_name="games",
    kinds={"python", "ducklake"},
    description="One landed file (the partition key is its SHA-256): every record validated by replay and "
    "written to lake.games / lake.moves with its ledger event in one transaction, or the whole file "
    "quarantined with the reason.  Either way the run succeeds and says where the file went.",
)
def landed_files(context: dg.AssetExecutionContext, lake_root: LakeResource):
    sha = context.partition_key
    store = lake_root.store()
    staged = [p for p in landing.pending(store) if p.name.startswith(sha)]
    if not staged:
        state = landing.file_state(store, sha)
        if state and state["event"] in ("ingested", "quarantined"):
            return dg.MaterializeResult(metadata={"status": "done before", "event": state["event"],
                                                  "partitions": dg.MetadataValue.json([])})
        raise dg.Failure(f"landed file {sha}: no staged file under {landing.incoming_dir(store.root)} "
                         "and no ledger entry")
    res = landing.ingest(store, staged[0], run_id=context.run.run_id)
    if res.status == "quarantined":
        context.log.warning(f"{res.file}: quarantined: {res.reason}")
    else:
        context.log.info(res.line())
    return dg.MaterializeResult(
        metadata={
            **provenance(),
            "file": res.file,
            "sha256": sha,
            "status": res.status,
            "games": res.games,
            "partitions": dg.MetadataValue.json(res.partitions),
            "reason": res.reason or "",
            "stored_path": dg.MetadataValue.path(res.stored_path or ""),
            "lake_snapshot": res.snapshot if res.snapshot is not None else -1,
            "seconds": round(res.seconds, 3),
        },
        data_version=dg.DataVersion(sha[:16]),
    )


landing_job = dg.define_asset_job("ingest_landed_file", selection=dg.AssetSelection.assets(landed_files),
                                  description="Ingest one landed file (validation by replay, lake or quarantine).")

merge_job = dg.define_asset_job(
    "merge_landed_games",
    selection=dg.AssetSelection.assets(games_merged, training_samples),
    description="Re-merge a partition a landed file touched and rebuild its samples (checks included).",
)


@dg.sensor(job=landing_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Looks at storage/landing: files unchanged since the previous look are content-addressed "
           "into lake/incoming and get an ingestion run each; links, hidden files, directories and unknown "
           "suffixes are quarantined with the reason; '.partial' files are left alone.")
def landing_sensor(context: dg.SensorEvaluationContext, lake_root: LakeResource):
    store = lake_root.store()
    state = json.loads(context.cursor) if context.cursor else {}
    look = landing.scan(store, state.get("looks"), run_id=f"sensor:{context.cursor or ''}"[:64])
    for name, reason in look.rejected:
        context.log.warning(f"{name}: quarantined: {reason}")
    for path in look.stable:
        staged = landing.stage(store, path)
        if staged.duplicate:
            context.log.info(f"{staged.name}: same content as an earlier file ({staged.sha[:12]}); removed")
    requested = set(state.get("requested", []))
    new = [p.name.split(".")[0] for p in landing.pending(store)]
    new = [sha for sha in new if sha not in requested]
    cursor = json.dumps({"looks": look.looks, "requested": sorted(requested | set(new))[-50_000:]})
    if not new:
        waiting = f"{len(look.waiting)} file(s) waiting to settle" if look.waiting else "no new landing files"
        return dg.SensorResult(skip_reason=waiting, cursor=cursor)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=sha, run_key=sha) for sha in new],
        dynamic_partitions_requests=[landed_file_partitions.build_add_request(new)],
        cursor=cursor,
    )


@dg.asset_sensor(asset_key=landed_files.key, job=merge_job, default_status=dg.DefaultSensorStatus.RUNNING,
                 description="After a landed file is ingested, merges exactly the partitions it touched.")
def landed_games_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    mat = asset_event.asset_materialization
    meta = mat.metadata if mat else {}
    parts = meta.get("partitions")
    parts = parts.value if parts is not None else []
    sha = mat.partition if mat else "?"
    requests = []
    for key in parts:
        requests.append(dg.RunRequest(run_key=f"{sha}|{key}", partition_key=partition_key(Partition.parse(key)),
                                      tags={"ringrift/landed_file": str(sha)}))
    return requests or dg.SkipReason(f"landed file {sha}: nothing to merge")
