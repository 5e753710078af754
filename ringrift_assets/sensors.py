"""The landing sensor: new files in ``storage/landing`` become merged-game runs."""

import json

import dagster as dg

from ringrift_ml import landing

from .games import games_merged
from .samples import training_samples
from .partitions import partition_key
from .resources import LakeResource

merge_job = dg.define_asset_job(
    "merge_landed_games",
    selection=dg.AssetSelection.assets(games_merged, training_samples),
    description="Re-merge the partitions a landed file touched and rebuild their samples (checks included).",
)


@dg.sensor(job=merge_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Validates new landing files, stages them into the lake (or quarantines them with "
           "a reason) and requests games_merged runs for exactly the partitions they touch.")
def landing_sensor(context: dg.SensorEvaluationContext, lake_root: LakeResource):
    root = lake_root.path()
    # The cursor remembers files already handled (name, size, mtime), so a file that
    # could not be moved away is never ingested twice.
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    parts: dict = {}
    skipped, handled = [], []
    for path in landing.pending(root):
        st = path.stat()
        ident = f"{path.name}:{st.st_size}:{int(st.st_mtime_ns)}"
        if ident in seen:
            continue
        result = landing.ingest(root, path)
        handled.append(ident)
        if result.quarantined:
            context.log.warning(f"{path.name}: quarantined: {result.reason}")
            skipped.append(f"{path.name} quarantined: {result.reason}")
            continue
        for part in result.partitions:
            parts.setdefault(part, []).append(ident)
    cursor = json.dumps(sorted(seen | set(handled))[-10_000:])
    # One run per touched partition, however many files touched it this tick.
    requests = [
        dg.RunRequest(run_key="|".join(idents) + f"|{board}|{n}", partition_key=partition_key(board, n),
                      tags={"ringrift/landing_files": ",".join(i.split(":")[0] for i in idents)})
        for (board, n), idents in sorted(parts.items())
    ]
    if not requests:
        return dg.SensorResult(skip_reason="; ".join(skipped) or "no new landing files", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
