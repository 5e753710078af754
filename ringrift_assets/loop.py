"""The closed loop in the graph: one generation per materialization, the ladder after
it, and a sensor that starts the next generation when the last one is done.

The work is in ``ringrift_ml.loop``; these assets only run it for their partition and
show what happened (the registry and the ladder as tables, the gate's figures, the
rating plot).  ``ringrift loop`` runs the same generations from a shell on the same
lake, so the two can take turns: the registry in the lake is the loop's state.
"""

import json
import time

import dagster as dg
import pydantic

from ringrift_ml.lake import LakeStore
from ringrift_ml.lake.layout import Partition

from .configs import CampaignSettings, LoopSettings
from .partitions import board_players, partition_key
from .provenance import column_schema, provenance, table
from .resources import LakeResource


REGISTRY_COLUMNS = [("generation", "int"), ("status", "text"), ("model_id", "text"), ("parent_id", "text"),
                    ("gate_score", "float"), ("gate_games", "int"), ("elo", "float"), ("elo_se", "float"),
                    ("selfplay_games", "int"), ("target_kl_prior", "float"), ("target_entropy", "float"),
                    ("heldout_policy_ce", "float"), ("heldout_gap_closed", "float"), ("sample_set_id", "text"),
                    ("cpu_hours", "float"), ("data_share", "float"), ("positions", "int"),
                    ("trained_positions", "int"), ("created_at", "text"), ("reason", "text")]


def registry_table(rows: list, store: LakeStore = None) -> dg.MetadataValue:
    """The partition's registry as a table with its schema (newest row per generation),
    with each rated generation's ladder Elo and standard error when ``store`` is given."""
    from ringrift_ml.loop.run import generation_states

    ratings = {}
    if store is not None and rows:
        from ringrift_ml.loop.ladder import ladder_table, played

        board, n = rows[0]["board"], int(rows[0]["players"])
        if played(store, board, n):
            ratings = {r["name"]: r for r in ladder_table(store, board, n)}
    nan = float("nan")
    recs = []
    for g, r in sorted(generation_states(rows).items()):
        gate = json.loads(r["gate"] or "{}") if isinstance(r["gate"], str) else (r["gate"] or {})
        rated = ratings.get(f"g{g}", {})
        recs.append({
            "generation": g, "status": r["status"], "model_id": r["model_id"] or "", "parent_id": r["parent_id"] or "",
            "gate_score": float(gate.get("score", nan)), "gate_games": int(gate.get("games", 0)),
            "elo": float(rated.get("elo", nan)), "elo_se": float(rated.get("se", nan)),
            "selfplay_games": int(r["selfplay_games"] or 0),
            **{k: float(nan if r.get(k) is None else r[k])
               for k in ("target_kl_prior", "target_entropy", "heldout_policy_ce", "heldout_gap_closed")},
            "sample_set_id": r["sample_set_id"] or "",
            "cpu_hours": round((r["cpu_seconds"] or 0) / 3600, 3),
            "data_share": float(nan if r.get("data_share") is None else r["data_share"]),
            "positions": int(r.get("positions") or 0), "trained_positions": int(r.get("trained_positions") or 0),
            "created_at": str(r.get("created_at") or ""),
            "reason": r["reason"] or ""})
    return table(recs, REGISTRY_COLUMNS)


@dg.asset(
    partitions_def=board_players,
    group_name="loop",
    kinds={"python", "pytorch", "ducklake"},
    owners=["team:ringrift-lab"],
    tags={"stage": "loop"},
    code_version="loop-1",
    metadata=column_schema("model_registry"),
    description="One generation of the closed loop for the partition: selfplay with the best model (a bootstrap "
    "player before the first promotion), the generation's samples, a candidate trained on the replay window and "
    "warm-started from the best, a sequential gate at equal simulations, and a lake.model_registry row (promoted "
    "or rejected, and why).  After a promotion the ladder rates it and a worse promotion is rolled back.",
)
def loop_generation(context: dg.AssetExecutionContext, loop: LoopSettings, lake_root: LakeResource):
    from ringrift_ml.loop import registry, run_generation
    from ringrift_ml.loop.run import PROMOTED, generation_states

    part, cfg = loop.for_run(context)
    board, n = part.board, part.players
    store: LakeStore = lake_root.store()
    rows = registry(store, board, n)
    states = generation_states(rows)
    g = max(states) + 1 if states else 0
    failures = context.run.tags.get(RECORD_FAILURE_TAG)
    if failures is not None:
        return _record_failure(context, store, cfg, g, rows, int(failures))
    met = _target_met(context, loop, store, part, cfg, rows)
    if met is not None:
        return met
    from ringrift_ml.loop.estimate import from_registry

    estimate = from_registry(store, cfg)  # the cost before the work, next to what it cost
    if estimate:
        context.log.info(f"{part}: generation {g} estimated at {estimate['cpu_hours'][0]:.3f}-"
                         f"{estimate['cpu_hours'][1]:.3f} CPU hours (recent generations)")
    t0 = time.time()
    row = run_generation(store, cfg, g, rows, progress=False, log=context.log.info)
    ladder_md = {"rolled_back": dg.MetadataValue.json([])}
    if row["status"] == PROMOTED and cfg.ladder_games:
        from ringrift_ml.loop.ladder import loop_ladder

        ladder_md = ladder_metadata(loop_ladder(store, cfg, progress=False, log=context.log.info))
    rows = registry(store, board, n)
    gate = row["gate"] or {}
    return dg.MaterializeResult(
        metadata={
            **provenance(loop),
            "generation": g,
            "status": row["status"],
            "reason": row["reason"],
            "gate": dg.MetadataValue.json(json.loads(json.dumps(gate, default=float))),
            **signal_metadata(row),
            "registry": registry_table(rows, store),
            "dagster/row_count": len(generation_states(rows)),
            "failure_rate": _failure_rate(rows),
            "model": dg.MetadataValue.path(str(store.root / row["path"])),
            "cpu_seconds": row["cpu_seconds"],
            "estimated_cpu_hours": dg.MetadataValue.json(estimate["cpu_hours"] if estimate else []),
            "seconds": round(time.time() - t0, 1),
            **ladder_md,
        },
        data_version=dg.DataVersion(f"g{g}-{row['status']}-{row['model_id']}"),
    )


UNTIL_TARGET_TAG = "ringrift/until_target"
"""A run with this tag (its value: the budget entry's ``until_target`` object as JSON)
first checks the partition's target (``ringrift_ml.loop.campaign.target_reached``:
the ladder's rung screens the best, then the final evaluation is played once and
stored) and runs no generation when it is met; the sensor then leaves the partition
alone."""


def _target_met(context, settings: LoopSettings, store: LakeStore, part, cfg, rows: list):
    """The run's answer when its campaign's target is already met (``UNTIL_TARGET_TAG``),
    else None; ``rows``: the partition's registry (checking the target does not change it)."""
    spec = context.run.tags.get(UNTIL_TARGET_TAG)
    if spec is None:
        return None
    from ringrift_ml.loop.campaign import target_reached, until_target_config
    from ringrift_ml.loop.run import generation_states

    try:
        campaign = until_target_config(part.key, {"until_target": json.loads(spec)}, cfg)
    except (ValueError, json.JSONDecodeError) as e:
        raise dg.Failure(f"partition {part}: bad {UNTIL_TARGET_TAG} tag {spec!r}: {e}") from e
    reason = target_reached(store, part, campaign, progress=False, log=context.log.info, loop=cfg)
    if reason is None:
        return None
    context.log.info(f"{part}: {reason}; no further generation")
    return dg.MaterializeResult(metadata={
        **provenance(settings), "generation": -1, "status": "target met", "reason": reason,
        "registry": registry_table(rows, store), "dagster/row_count": len(generation_states(rows))})


RECORD_FAILURE_TAG = "ringrift/record_failure"
"""A run with this tag (its value: how many runs failed) records the generation named by
``ringrift/generation`` as failed instead of running it (``loop_sensor`` asks for one)."""


def _record_failure(context, store: LakeStore, cfg, g: int, rows: list, failures: int) -> dg.MaterializeResult:
    from ringrift_ml.loop.run import current_best, record_failure

    want = int(context.run.tags.get("ringrift/generation", g))
    if want != g:  # recorded (or run) since the sensor asked
        return dg.MaterializeResult(metadata={"generation": want, "status": "already in the registry"})
    row = record_failure(store, cfg, g, current_best(rows), f"{failures} runs of {loop_job.name} failed (see the "
                         "run history)", failures, log=context.log.warning)
    return dg.MaterializeResult(metadata={"generation": g, "status": row["status"], "reason": row["reason"]},
                                data_version=dg.DataVersion(f"g{g}-failed"))


def signal_metadata(row: dict) -> dict:
    """The generation's target signal, held-out figures and compute accounting (CPU by
    step, data share, positions; registry columns) as numbers, so the Plots tab charts
    them across generations."""
    from ringrift_ml.loop.run import COUNTS, REGISTRY_FIGURES, STEPS

    names = REGISTRY_FIGURES + tuple(f"{step}_cpu_seconds" for step in STEPS)
    return {k: (int(row[k]) if k in COUNTS else float(row[k])) for k in names if row.get(k) is not None}


def _failure_rate(rows: list) -> float:
    from ringrift_ml.loop.run import failure_rate

    failed, total = failure_rate(rows)
    return round(failed / total, 4) if total else 0.0


def ladder_metadata(out: dict) -> dict:
    """Metadata of an ``update_ladder`` result: the ratings as a table with its schema,
    one number per entrant (``elo/<name>``, charted by the Plots tab across
    materializations), the rollbacks with their reasons and the plot's path."""
    cols = [("name", "text"), ("elo", "float"), ("se", "float"), ("games", "int"), ("status", "text"),
            ("cpu_hours", "float")]
    recs = [{"name": r["name"], "elo": float(r["elo"]), "se": float(r["se"]), "games": int(r["games"]),
             "status": r["status"], "cpu_hours": float(r["cpu_hours"] or 0.0)} for r in out["table"]]
    return {
        "ladder": table(recs, cols),
        **{f"elo/{r['name']}": r["elo"] for r in recs},
        "rolled_back": dg.MetadataValue.json([r["generation"] for r in out["rolled_back"]]),
        "rollback_reasons": dg.MetadataValue.json([r["reason"] for r in out["rolled_back"]]),
        "ladder_plot": dg.MetadataValue.path(str(out["plot"])),
    }


loop_job = dg.define_asset_job("loop_generation_job", selection=dg.AssetSelection.assets(loop_generation),
                               description="One closed-loop generation of a partition.")

# The loop's budget per partition lives in <storage>/loop/budget.json, e.g.
# {"square8|2": {"generations": 10, "hours": 2, "config": {"games": 200}}}; the sensor starts
# the next generation of every partition listed there while its budget lasts and no
# generation is running, with the partition's "config" as the run's `loop` resource
# settings (the same LoopSettings the graph's generation chain reads).


def _settings(budget: dict) -> dict:
    """The run config of a partition's budget entry: its ``config`` as the ``loop`` resource's settings."""
    return {"resources": {"loop": {"config": budget.get("config", {})}}}


ESTIMATE_TAG = "ringrift/estimated_cpu_hours"
"""A loop run's cost before it starts (the run list shows it): CPU hours of a generation
from the partition's recent generations (``ringrift_ml.loop.estimate``)."""


def _estimate_tag(store, board: str, n: int) -> str:
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.estimate import from_registry

    est = from_registry(store, LoopConfig(board=board, players=n))
    if est is None:  # a sensor never plays calibration games; `ringrift loop --dry-run` does
        return "unknown: no generation measured yet"
    lo, hi = est["cpu_hours"]
    return f"{lo:.4f}-{hi:.4f}"  # four places: a tiny test loop costs under 0.001 h


@dg.sensor(job=loop_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts the next loop generation of each partition in <storage>/loop/budget.json when its "
           "previous generation has finished, until the partition's generation or hour budget is spent.")
def loop_sensor(context: dg.SensorEvaluationContext, lake_root: LakeResource):
    from ringrift_ml.loop import registry
    from ringrift_ml.loop import LoopConfig
    from ringrift_ml.loop.run import budget_spent, generation_states

    path = lake_root.layout().loop_budget
    if not path.is_file():
        return dg.SkipReason(f"no loop budget ({path})")
    try:
        budget = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        return dg.SkipReason(f"{path}: not JSON ({e})")
    store = lake_root.store()
    requests, met = [], []
    for key, b in sorted(budget.items()):
        try:
            part = Partition.parse(key)
        except ValueError as e:
            context.log.warning(f"{path}: {e}")
            continue
        board, n = part.board, part.players
        pk = partition_key(part)
        active = context.instance.get_run_records(dg.RunsFilter(
            job_name=loop_job.name, tags={"dagster/partition": str(pk)},
            statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
                      dg.DagsterRunStatus.NOT_STARTED]), limit=1)
        if active:
            continue
        states = generation_states(registry(store, board, n))
        done = len(states)
        hours = sum((r["wall_seconds"] or 0) for r in states.values()) / 3600
        if done >= int(b.get("generations", 0)) or ("hours" in b and hours >= float(b["hours"])) or \
                ("cpu_hours" in b and budget_spent(store, LoopConfig(board=board, players=n),
                                                   float(b["cpu_hours"]), states=states) is not None):
            continue
        tags = {}
        if b.get("until_target"):
            from ringrift_ml.loop.campaign import target_reached, until_target_config

            try:
                loop_cfg = LoopSettings(**b.get("config", {})).config(part)
                campaign = until_target_config(key, b, loop_cfg)
            except (ValueError, pydantic.ValidationError) as e:
                context.log.warning(f"{path}: {key}: {e}")
                continue
            # Only what is stored: the evaluation itself is played by the run (UNTIL_TARGET_TAG).
            reason = target_reached(store, part, campaign, play=False, loop=loop_cfg)
            if reason is not None:
                met.append(f"{key}: {reason}")
                continue
            tags[UNTIL_TARGET_TAG] = json.dumps(b["until_target"], sort_keys=True)
        failed = len(context.instance.get_run_records(dg.RunsFilter(
            job_name=loop_job.name, tags={"dagster/partition": str(pk), "ringrift/generation": str(done)},
            statuses=[dg.DagsterRunStatus.FAILURE]), limit=10))
        if failed >= 3:
            # A run records the generation as failed (the sensor writes nothing), so the
            # loop goes on with the next one (its games, if any, stay in the replay
            # window); the failed runs keep the errors.
            requests.append(dg.RunRequest(
                partition_key=str(pk), run_key=f"{key}:g{done}:record-failure",
                run_config=_settings(b),
                tags={"ringrift/generation": str(done), RECORD_FAILURE_TAG: str(failed)}))
            continue
        requests.append(dg.RunRequest(partition_key=str(pk), run_key=f"{key}:g{done}:try{failed}",
                                      run_config=_settings(b),
                                      tags={"ringrift/generation": str(done),
                                            ESTIMATE_TAG: _estimate_tag(store, board, n), **tags}))
    if requests:
        return requests
    return dg.SkipReason("every partition in the budget is running or done"
                         + (f" ({'; '.join(met)})" if met else ""))


CAMPAIGN_COLUMNS = [("partition", "text"), ("cpu_hours", "float"), ("budget_cpu_hours", "float"),
                    ("generations", "int"), ("promotions", "int"), ("games", "int"), ("selfplay_games", "int"),
                    ("selfplay_games_per_cpu_hour", "float"), ("best_generation", "int"), ("best_cpu_hours", "float"),
                    ("score", "float"),
                    ("ci_low", "float"), ("ci_high", "float"), ("eval_games", "int"), ("target", "text"),
                    ("met", "bool")]


def campaign_table(rows: list) -> dg.MetadataValue:
    nan = float("nan")
    return table([{**r, "best_generation": -1 if r["best_generation"] is None else r["best_generation"],
                   "best_cpu_hours": nan if r["best_cpu_hours"] is None else r["best_cpu_hours"],
                   "score": nan if r["score"] is None else r["score"],
                   "ci_low": nan if r["ci95"] is None else r["ci95"][0],
                   "ci_high": nan if r["ci95"] is None else r["ci95"][1],
                   "eval_games": r["eval_games"] or 0,
                   "selfplay_games_per_cpu_hour": nan if r["selfplay_games_per_cpu_hour"] is None
                   else r["selfplay_games_per_cpu_hour"]} for r in rows], CAMPAIGN_COLUMNS)


@dg.asset(
    group_name="loop",
    deps=[loop_generation],
    kinds={"python", "ducklake"},
    owners=["team:ringrift-lab"],
    tags={"stage": "loop"},
    code_version="campaign-1",
    metadata=column_schema("evaluations"),
    description="The campaign's summary: every listed partition's final best (under search at its loop's "
    "simulations) against heuristic, evaluated once per network into lake.evaluations, and one row per partition: "
    "CPU hours against the budget, games, promotions, selfplay games per CPU hour, the score with its 95% interval "
    "and whether the partition's target is met.  The loop sensor runs the generations (ringrift campaign "
    "--to-sensor writes its budget); ringrift campaign runs the same from a shell.",
)
def campaign_summary(context: dg.AssetExecutionContext, config: CampaignSettings, lake_root: LakeResource):
    from ringrift_ml.loop.campaign import evaluate_best, summary, summary_markdown

    try:
        cfg = config.campaign()
    except ValueError as e:
        raise dg.Failure(f"bad campaign settings: {e}") from e
    store: LakeStore = lake_root.store()
    for key in cfg.partitions:
        evaluate_best(store, Partition.parse(key), cfg, progress=False, log=context.log.info)
    rows = summary(store, cfg)
    return dg.MaterializeResult(metadata={
        **provenance(config),
        "summary": campaign_table(rows),
        "summary_markdown": dg.MetadataValue.md(summary_markdown(rows)),
        "partitions_met": sum(bool(r["met"]) for r in rows),
        "cpu_hours": round(sum(r["cpu_hours"] for r in rows), 3),
        "games": sum(r["games"] for r in rows),
    })
