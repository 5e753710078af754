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


class LandingZoneConfig(dg.Config):
    stable: dict = {}
    """``{name: [size, mtime_ns, inode]}``: files the sensor saw unchanged over two looks."""
    rejected: list = []
    """Names of entries the sensor saw as not landable (links, directories, hidden files, unknown suffixes)."""


@dg.asset(
    code_version="landing-zone-1",
    owners=["team:ringrift-lab"],
    tags={"stage": "landing"},
    group_name="games",
    kinds={"python", "ducklake"},
    description="The landing zone's files the landing_sensor saw settle: each still unchanged is content-addressed "
    "into lake/incoming (a duplicate of earlier content is recorded and removed) and becomes a landed_files "
    "partition; entries that cannot land are quarantined with the reason.  Every step is a lake.landing_events "
    "row; the sensor then asks for one ingestion run per staged file.",
)
def landing_zone(context: dg.AssetExecutionContext, config: LandingZoneConfig, lake_root: LakeResource):
    store = lake_root.store()
    staged, rejected = landing.settle(store, dict(config.stable), list(config.rejected), run_id=context.run.run_id)
    for name, reason in rejected:
        context.log.warning(f"{name}: quarantined: {reason}")
    new = [s.sha for s in staged if not s.duplicate]
    for s in staged:
        context.log.info(f"{s.name}: " + ("same content as an earlier file; removed" if s.duplicate
                                          else f"staged as {s.sha[:12]}"))
    if new:
        context.instance.add_dynamic_partitions(landed_file_partitions.name, new)
    return dg.MaterializeResult(metadata={
        **provenance(),
        "staged": dg.MetadataValue.json([{"name": s.name, "sha256": s.sha, "duplicate": s.duplicate} for s in staged]),
        "quarantined": dg.MetadataValue.json([{"name": n, "reason": r} for n, r in rejected]),
        "left_for_later": len(config.stable) - len(staged),
    })


stage_job = dg.define_asset_job("stage_landed_files", selection=dg.AssetSelection.assets(landing_zone),
                                description="Stage the landing zone's settled files and quarantine what cannot land.")


@dg.sensor(jobs=[landing_job, stage_job], minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Looks at storage/landing without touching it: files unchanged since the previous look, and "
           "entries that cannot land (links, hidden files, directories, unknown suffixes), go to a "
           "stage_landed_files run; every staged file gets an ingestion run.  '.partial' files are left alone.")
def landing_sensor(context: dg.SensorEvaluationContext, lake_root: LakeResource):
    import hashlib

    store = lake_root.store()
    state = json.loads(context.cursor) if context.cursor else {}
    look = landing.observe(store.root, state.get("looks"))
    requests = []
    stable = {p.name: look.looks[p.name] for p in look.stable}
    rejected = sorted(name for name, _ in look.rejected)
    if stable or rejected:
        key = hashlib.sha256(json.dumps([stable, rejected], sort_keys=True).encode()).hexdigest()[:24]
        requests.append(dg.RunRequest(job_name=stage_job.name, run_key=f"stage-{key}",
                                      run_config={"ops": {"landing_zone": {"config": {"stable": stable,
                                                                                        "rejected": rejected}}}}))
    requested = set(state.get("requested", []))
    new = [p.name.split(".")[0] for p in landing.pending(store)]
    new = [sha for sha in new if sha not in requested]
    requests += [dg.RunRequest(job_name=landing_job.name, partition_key=sha, run_key=sha) for sha in new]
    cursor = json.dumps({"looks": look.looks, "requested": sorted(requested | set(new))[-50_000:]})
    if not requests:
        waiting = f"{len(look.waiting)} file(s) waiting to settle" if look.waiting else "no new landing files"
        return dg.SensorResult(skip_reason=waiting, cursor=cursor)
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[landed_file_partitions.build_add_request(new)] if new else [],
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
