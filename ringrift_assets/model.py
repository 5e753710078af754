"""The candidate network, its blocking check and its value-head calibration report.

``candidate_model`` trains the next loop generation's candidate exactly as ``ringrift
loop`` does (``ringrift_ml.loop.run.train_candidate``), with the loop resource's
settings (``train``: TrainConfig overrides).
"""

import base64
import json
import time

import dagster as dg

from ringrift_ml.lake.layout import Layout
from ringrift_ml.lake.lineage import record_row
from ringrift_ml.train.checkpoint import judge_checkpoint
from ringrift_ml.train.config import TrainConfig

from .configs import LoopSettings
from .partitions import board_players, partition_of
from .provenance import column_schema, file_version, provenance, table
from .resources import LakeResource
from .samples import training_samples


def _png_markdown(path, caption: str) -> dg.MetadataValue:
    data = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/png;base64,{data})")


def _loss_png(history: list, baseline: dict, path, title: str):
    """Held-out loss terms per epoch (and train), with the trivial baseline's level and
    the saved evaluation marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h for h in history if h.get("kind") != "swa"]
    ep = [h["epoch"] for h in epochs]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax.plot(ep, [h["heldout"]["policy_ce"] for h in epochs], marker="o", label="held-out policy CE")
    ax.plot(ep, [h["train"]["policy"] for h in epochs], ls="--", label="train policy loss")
    ax.axhline(baseline["policy_ce_uniform"], color="grey", lw=1, ls=":", label="uniform policy")
    ax2.plot(ep, [h["heldout"]["value_mse"] for h in epochs], marker="o", color="C2", label="held-out value MSE")
    ax2.plot(ep, [h["train"]["value"] for h in epochs], ls="--", color="C3", label="train value MSE")
    ax2.axhline(baseline["value_mse_zero"], color="grey", lw=1, ls=":", label="value 0")
    best = min(history, key=lambda h: h["heldout"]["loss"])
    if best.get("kind") != "swa":
        for a, k in ((ax, "policy_ce"), (ax2, "value_mse")):
            a.scatter([best["epoch"]], [best["heldout"][k]], s=120, facecolors="none", edgecolors="k",
                      label="saved", zorder=5)
    for a in (ax, ax2):
        a.set_xlabel("epoch")
        a.legend(fontsize=7)
    ax.set_title(f"{title}: policy")
    ax2.set_title(f"{title}: value")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


@dg.asset(
    code_version="train-3",
    metadata=column_schema("models"),
    owners=["team:ringrift-lab"],
    tags={"stage": "model"},
    partitions_def=board_players,
    group_name="training",
    kinds={"pytorch"},
    deps=[training_samples, "best_model"],
    description="The next loop generation's candidate (ringrift_ml.loop.run.train_candidate, as ringrift loop "
    "trains it): the spatial policy/value network (residual CNN with global pooling; exact policy, per-seat value, "
    "ownership and score heads) trained on the replay window of the loop's newest sample sets, warm-started from "
    "the partition's best; the saved network is the best held-out evaluation of the run, written to "
    "models/<board>_<n>p/loop/gNNNN/model.pt with its lake.models row. "
    "Checkpoint: weights (weights_only) + JSON with the encoding identity, configs, the sample sets and lake snapshots it learned from, and the held-out history.",
)
def candidate_model(context: dg.AssetExecutionContext, lake_root: LakeResource, loop: LoopSettings):
    from ringrift_ml.loop.run import generation_sample_set, next_generation, train_candidate
    from ringrift_ml.nn.checkpoint import read_net

    part, cfg = loop.for_run(context)
    layout = lake_root.layout()
    store = lake_root.store()
    g, best_row = next_generation(store, cfg)
    ss = generation_sample_set(store, cfg, g)
    if ss is None:
        raise dg.Failure(f"partition {part}: generation {g} has no sample set; materialize training_samples first")
    t0 = time.time()
    try:
        cand = train_candidate(store, cfg, g, best_row, ss["sample_set_id"], progress=False, log=context.log.info,
                               run_id=context.run.run_id)
    except (ValueError, FloatingPointError) as e:
        raise dg.Failure(f"partition {part}: training failed: {e}") from e
    seconds = time.time() - t0
    res, path = cand.result, cand.path
    for h in res.history:
        if h.get("kind") != "swa":
            context.log.info(f"{part} epoch {h['epoch']}: held-out loss {h['heldout']['loss']:.4f} "
                             f"(policy CE {h['heldout']['policy_ce']:.4f}, value MSE {h['heldout']['value_mse']:.4f})")
    meta = read_net(path)[1]
    model_version = file_version(path)
    best = res.best
    curve = _loss_png(res.history, best, layout.run_file(path, "loss.png"), part.label)
    nan = float("nan")
    curve_rows = [{"epoch": str(h["epoch"]) if h.get("kind") != "swa" else "SWA",
                   "train_loss": float(h.get("train", {}).get("loss", nan) or nan),
                   "heldout_loss": float(h["heldout"]["loss"]), "policy_ce": float(h["heldout"]["policy_ce"]),
                   "top1": float(h["heldout"]["top1"]), "value_mse": float(h["heldout"]["value_mse"])}
                  for h in res.history]
    curve_rows.append({"epoch": "uniform / 0", "train_loss": nan, "heldout_loss": nan,
                       "policy_ce": float(best["policy_ce_uniform"]), "top1": float(best["top1_uniform"]),
                       "value_mse": float(best["value_mse_zero"])})
    curve_table = table(curve_rows, [("epoch", "text"), ("train_loss", "float"), ("heldout_loss", "float"),
                                     ("policy_ce", "float"), ("top1", "float"), ("value_mse", "float")])
    return dg.MaterializeResult(
        metadata={
            # The plot first.  Dagster 1.13 shows markdown metadata (this image) behind a
            # "[Show Markdown]" click; the held-out figures below are numeric entries, which
            # its Plots tab charts across materializations without one.
            "loss_plot": _png_markdown(curve, "held-out loss per epoch"),
            **provenance(loop, {"sample_sets": cand.window}),
            "generation": g,
            "model_id": model_version,
            "warm_start": layout.relative(cand.init) if cand.init else "none (from scratch)",
            "best_epoch": str(meta["best_epoch"]),
            "sample_set_id": ss["sample_set_id"],
            "sample_sets": dg.MetadataValue.json(cand.window),
            "lake_snapshot": ss["games_snapshot"],
            "features": meta["features"],
            "parameters": meta["parameters"],
            "path": dg.MetadataValue.path(str(path)),
            "samples": cand.samples,
            "train_seconds": round(seconds, 2),
            "train_samples_per_second": round(res.samples_per_second, 1),
            "heldout_policy_ce": best["policy_ce"],
            "heldout_policy_ce_uniform": best["policy_ce_uniform"],
            "heldout_policy_target_entropy": best.get("policy_target_entropy"),
            "heldout_policy_gap_closed": best.get("policy_gap_closed"),
            "heldout_top1": best["top1"],
            "heldout_value_mse": best["value_mse"],
            "heldout_value_mse_zero": best["value_mse_zero"],
            "heldout_value_ece": best.get("value_ece"),
            "training_curve": curve_table,
        },
        data_version=dg.DataVersion(model_version),
    )


@dg.asset_check(asset=candidate_model, blocking=True, partitions_def=board_players,
                description="The checkpoint loads (weights_only, digest, encoding identity), every weight is finite, "
                "the saved network is the run's best held-out evaluation, and it beats the trivial baseline "
                "(uniform policy, value 0) on held-out policy cross-entropy + value MSE.")
def candidate_model_sanity(context: dg.AssetCheckExecutionContext, lake_root: LakeResource):
    import torch

    from ringrift_ml.nn.checkpoint import read_net

    from ringrift_ml.loop.run import newest_candidate

    path = newest_candidate(lake_root.layout(), partition_of(context))
    if path is None:
        return dg.AssetCheckResult(passed=False, description="the partition has no candidate")
    try:
        state, meta = read_net(path)
    except ValueError as e:
        return dg.AssetCheckResult(passed=False, description=str(e))
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    problems = [f"non-finite weights in {bad}"] if bad else []
    problems += judge_checkpoint(meta)
    held = meta.get("heldout") or {}
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or (
            f"best held-out evaluation ({meta['best_epoch']}) saved; policy CE {held['policy_ce']:.4f} vs uniform "
            f"{held['policy_ce_uniform']:.4f}, value MSE {held['value_mse']:.4f} vs 0: {held['value_mse_zero']:.4f}"),
        metadata={"best_epoch": str(meta.get("best_epoch")), "heldout_core_loss": held.get("core_loss"),
                  "baseline_loss": held.get("baseline_loss"), "non_finite_tensors": len(bad)},
    )


@dg.asset(
    code_version="calibration-1",
    metadata=column_schema("calibration"),
    owners=["team:ringrift-lab"],
    tags={"stage": "model"},
    partitions_def=board_players,
    group_name="training",
    kinds={"pytorch"},
    deps=[candidate_model],
    description="Value-head calibration of the candidate network on its held-out games: ECE, MCE, the fitted "
    "temperature and the ECE after scaling (fitted on one half of the held-out games, measured on the other), "
    "reliability diagram.",
)
def calibration_report(context: dg.AssetExecutionContext, lake_root: LakeResource):
    from ringrift_ml.nn.checkpoint import load_net
    from ringrift_ml.train.calibration import reliability_png
    from ringrift_ml.train.dataset import from_lake
    from ringrift_ml.train.evaluate import evaluate

    part = partition_of(context)
    board, n = part.board, part.players
    from ringrift_ml.loop.run import newest_candidate

    cand = newest_candidate(lake_root.layout(), part)
    if cand is None:
        raise dg.Failure(f"partition {part}: no candidate yet; materialize candidate_model first")
    try:
        net, meta = load_net(cand)
    except ValueError as e:
        raise dg.Failure(f"partition {part}: {e} (re-materialize candidate_model)") from e
    model_version = file_version(cand)
    store = lake_root.store()
    tc = TrainConfig.from_dict(meta["train_config"], "checkpoint train_config")
    try:
        # The window the candidate trained on (the loop's newest sample sets up to its own).
        window = len((meta.get("data") or {}).get("sample_sets") or []) or tc.window
        data = from_lake(store, board, n, window=window, recency=tc.recency, upto=meta.get("sample_set_id"))
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: the model's samples: {e}") from e
    _, held = data.split(tc.holdout, tc.seed)
    w = {"policy": tc.policy_weight, "value": tc.value_weight, "ownership": tc.ownership_weight,
         "score": tc.score_weight}
    ev = evaluate(net, data, held, w)
    rep = {"n": int(len(held)), "ece": ev["value_ece"], "mce": ev["value_mce"], "temperature": ev["value_temperature"],
           "ece_scaled": ev["value_ece_scaled"], "bins": ev["calibration_bins"]}
    png = reliability_png({**rep, "temperature": rep["temperature"]}, Layout.run_file(cand, "reliability.png"),
                          f"{part.label} value head")
    out = Layout.run_file(cand, "calibration.json")
    out.write_text(json.dumps(rep, indent=1))
    record_row(store, "calibration", [{
        "model_id": model_version, "board": board, "players": n, "n": rep["n"], "ece": rep["ece"], "mce": rep["mce"],
        "overconfidence": ev["value_overconfidence"], "temperature": rep["temperature"]}],
        f"calibration of {model_version}", context.run.run_id)
    context.log.info(f"{board}|{n}: ECE {rep['ece']:.3f} ({rep['ece_scaled']:.3f} after scaling), "
                     f"MCE {rep['mce']:.3f}, T* {rep['temperature']:.2f}")
    return dg.MaterializeResult(metadata={
        "reliability_diagram": _png_markdown(png, "reliability"),
        **provenance(inputs={"candidate_model": model_version, "sample_set": meta.get("sample_set_id")}),
        "lake_snapshot": meta.get("lake_snapshot"),
        "held_out_positions": rep["n"],
        "ece": rep["ece"],
        "ece_after_temperature": rep["ece_scaled"],
        "mce": rep["mce"],
        "optimal_temperature": rep["temperature"],
        "reliability_png": dg.MetadataValue.path(str(png)),
        "report": dg.MetadataValue.path(str(out)),
    })
