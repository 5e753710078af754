"""The candidate network, its blocking check and its value-head calibration report.

The Dagster config of ``candidate_model`` is generated from ``TrainConfig`` (every
field, its type, default and documentation), so the two cannot drift apart.
"""

import ast
import base64
import dataclasses
import inspect
import json
import time
import typing

import dagster as dg
import pydantic

from ringrift_ml.lake.lineage import record_row, sample_set
from ringrift_ml.train.checkpoint import judge_checkpoint
from ringrift_ml.train.config import TrainConfig

from .partitions import board_players, partition_of
from .provenance import column_schema, file_version, provenance, table
from .resources import LakeResource
from .samples import training_samples


def _field_docs(cls) -> dict:
    """The docstring under each dataclass field (shown as the field's description in the UI)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            docs[a.target.id] = " ".join(str(b.value.value).split())
    return docs


def config_from_dataclass(name: str, cls, defaults: dict, exclude: tuple = (), retype: dict = None) -> type:
    """A ``dg.Config`` with one field per dataclass field (``defaults`` override the
    dataclass's own defaults for this use; ``exclude`` leaves fields out, e.g. those the
    partition decides; ``retype`` maps a field to ``(type, default, description)`` where
    the dataclass's type has no Dagster config form)."""
    hints = typing.get_type_hints(cls)
    docs = _field_docs(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        if retype and f.name in retype:
            kind, default, doc = retype[f.name]
            fields[f.name] = (kind, pydantic.Field(default=default, description=doc))
            continue
        default = defaults.get(f.name, f.default)
        fields[f.name] = (hints[f.name], pydantic.Field(default=default, description=docs.get(f.name)))
    return pydantic.create_model(name, __base__=dg.Config, **fields)


# Every default is TrainConfig's (the mapping is where the pipeline would differ).
class CandidateModelConfig(config_from_dataclass("TrainFields", TrainConfig, {})):
    warm_start: bool = pydantic.Field(
        default=True, description="Start from the weights of the partition's best model (lake.model_registry) "
        "when it has one of this network size; otherwise (and with false) train from scratch.")


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


def _warm_start(store, board: str, n: int, cfg: TrainConfig, log):
    """The best model's checkpoint when the candidate can start from it (same network), else None."""
    from ringrift_ml.loop.run import current_best, registry
    from ringrift_ml.nn.checkpoint import read_net
    from ringrift_ml.nn.net import net_config

    best = current_best(registry(store, board, n))
    if best is None:
        log.info(f"{board}|{n}: no promoted model yet; training from scratch")
        return None
    path = store.root / best["path"]
    _, meta = read_net(path)
    want, have = net_config(board, cfg.preset), meta.get("net_config")
    if have != want:
        log.warning(f"{board}|{n}: the best model (generation {best['generation']}) is another network "
                    f"({have}) than this run's ({want}); training from scratch")
        return None
    log.info(f"{board}|{n}: warm start from generation {best['generation']} ({path})")
    return path


@dg.asset(
    code_version="train-2",
    metadata=column_schema("models"),
    owners=["team:ringrift-lab"],
    tags={"stage": "model"},
    partitions_def=board_players,
    group_name="training",
    kinds={"pytorch"},
    deps=[training_samples, "best_model"],
    description="The spatial policy/value network (residual CNN with global pooling; exact policy, per-seat value, "
    "ownership and score heads) trained on the partition's replay window of sample sets in the lake; the saved "
    "network is the best held-out evaluation of the run; warm-started from the partition's best model. "
    "Checkpoint: weights (weights_only) + JSON with the encoding identity, configs, the sample sets and lake snapshots it learned from, and the held-out history.",
)
def candidate_model(context: dg.AssetExecutionContext, config: CandidateModelConfig, lake_root: LakeResource):
    from ringrift_ml.nn.checkpoint import copy_net
    from ringrift_ml.train.checkpoint import state_exists
    from ringrift_ml.train.dataset import from_lake
    from ringrift_ml.train.loop import MODEL_FILE, STATE_FILE, fit

    part = partition_of(context)
    board, n = part.board, part.players
    layout = lake_root.layout()
    store = lake_root.store()
    # The replay window ends at the sample set this run wrote (else the partition's newest).
    ss = sample_set(store, board, n, context.run.run_id)
    if ss is None:
        raise dg.Failure(f"partition {board}|{n}: no sample set in the lake; materialize training_samples first")
    try:
        fields = config.model_dump()
        warm = fields.pop("warm_start")
        cfg = TrainConfig.from_dict(fields, "candidate_model config")
        data = from_lake(store, board, n, window=cfg.window, recency=cfg.recency, upto=ss["sample_set_id"])
        init = _warm_start(store, board, n, cfg, context.log) if warm else None
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    run_dir = layout.run_dir(part, context.run.run_id[:8])
    last = {"t": time.time()}

    def progress(step: int) -> None:
        if time.time() - last["t"] > 30:
            context.log.info(f"{board}|{n}: step {step}")
            last["t"] = time.time()

    t0 = time.time()
    try:
        res = fit(data, cfg, run_dir, resume=state_exists(run_dir / STATE_FILE), on_step=progress, init=init,
                  extra_meta={"warm_start": str(init) if init else None, "board": board, "players": n,
                              "sample_set_id": ss["sample_set_id"], "lake_snapshot": ss["games_snapshot"]})
    except (ValueError, FloatingPointError) as e:
        raise dg.Failure(f"partition {board}|{n}: training failed: {e}") from e
    seconds = time.time() - t0
    for h in res.history:
        if h.get("kind") != "swa":
            context.log.info(f"{board}|{n} epoch {h['epoch']}: held-out loss {h['heldout']['loss']:.4f} "
                             f"(policy CE {h['heldout']['policy_ce']:.4f}, value MSE {h['heldout']['value_mse']:.4f})")
    path = layout.candidate(part)
    copy_net(run_dir / MODEL_FILE, path)
    meta = json.loads(path.with_suffix(".json").read_text())
    model_version = file_version(path)
    best = res.best
    curve = _loss_png(res.history, best, layout.models(part) / "loss.png", part.label)
    first = res.history[0]["heldout"]["loss"]
    record_row(store, "models", [{
        "model_id": model_version, "board": board, "players": n, "path": layout.relative(path),
        "sample_set_id": ss["sample_set_id"], "samples": len(data), "epochs": len(res.history),
        "train_loss": res.history[-1].get("train", {}).get("loss"), "val_loss": best["loss"], "val_top1": best["top1"],
        "val_value_mse": best["value_mse"], "initial_val_loss": first, "config": cfg.to_dict(),
        "code_version": provenance()["code_version"], "features": meta["features"],
        "best_epoch": str(meta["best_epoch"]), "val_policy_ce": best["policy_ce"],
        "val_policy_ce_uniform": best["policy_ce_uniform"],
        "val_policy_target_entropy": best.get("policy_target_entropy"),
        "val_policy_gap_closed": best.get("policy_gap_closed"), "val_value_mse_zero": best["value_mse_zero"],
        "val_value_ece": best.get("value_ece")}],
        f"model {model_version} for {board}|{n}", context.run.run_id)
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
            **provenance(config, {"sample_sets": data.source.get("sample_sets")}),
            "model_id": model_version,
            "warm_start": layout.relative(init) if init else "none (from scratch)",
            "best_epoch": str(meta["best_epoch"]),
            "sample_set_id": ss["sample_set_id"],
            "sample_sets": dg.MetadataValue.json(data.source.get("sample_sets")),
            "lake_snapshot": ss["games_snapshot"],
            "features": meta["features"],
            "parameters": meta["parameters"],
            "path": dg.MetadataValue.path(str(path)),
            "tensorboard": dg.MetadataValue.path(str(run_dir / "tensorboard")),
            "samples": len(data),
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

    path = lake_root.layout().candidate(partition_of(context))
    if not path.is_file():
        return dg.AssetCheckResult(passed=False, description=f"{path} does not exist")
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
    layout = lake_root.layout()
    cand = layout.candidate(part)
    if not cand.is_file():
        raise dg.Failure(f"partition {part}: {cand} does not exist; materialize candidate_model first")
    try:
        net, meta = load_net(cand)
    except ValueError as e:
        raise dg.Failure(f"partition {part}: {e} (re-materialize candidate_model)") from e
    model_version = file_version(cand)
    store = lake_root.store()
    tc = TrainConfig.from_dict(meta["train_config"], "checkpoint train_config")
    try:
        data = from_lake(store, board, n, window=tc.window, recency=tc.recency, upto=meta.get("sample_set_id"))
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: the model's samples: {e}") from e
    _, held = data.split(tc.holdout, tc.seed)
    w = {"policy": tc.policy_weight, "value": tc.value_weight, "ownership": tc.ownership_weight,
         "score": tc.score_weight}
    ev = evaluate(net, data, held, w)
    rep = {"n": int(len(held)), "ece": ev["value_ece"], "mce": ev["value_mce"], "temperature": ev["value_temperature"],
           "ece_scaled": ev["value_ece_scaled"], "bins": ev["calibration_bins"]}
    png = reliability_png({**rep, "temperature": rep["temperature"]}, layout.models(part) / "reliability.png",
                          f"{part.label} value head")
    out = layout.models(part) / "calibration.json"
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
