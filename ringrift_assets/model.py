"""The candidate model and its value-head calibration report."""

import base64
import json
import math
import time

import dagster as dg

from ringrift_ml.lake.lineage import record_row, sample_set

from .partitions import board_players, split_key
from .provenance import file_version, provenance
from .resources import LakeResource
from .samples import training_samples


class CandidateModelConfig(dg.Config):
    epochs: int = 8
    batch_size: int = 256
    lr: float = 1e-3
    hidden: int = 256
    layers: int = 2
    holdout: float = 0.2
    seed: int = 0


def _png_markdown(path, caption: str) -> dg.MetadataValue:
    data = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/png;base64,{data})")


def _loss_png(history: list, path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(ep, [h["val_loss"] for h in history], marker="o", label="held out")
    ax.set_xlabel("epoch")
    ax.set_ylabel("policy CE + value MSE")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _model_dir(root, board, n):
    return root / "models" / f"{board}_{n}p"


@dg.asset(
    partitions_def=board_players,
    group_name="training",
    kinds={"pytorch"},
    deps=[training_samples],
    description="A small policy/value network (factored policy over legal moves, tanh value) trained on the "
    "partition's samples; saved with its configs, the data version it learned from and its metrics.",
)
def candidate_model(context: dg.AssetExecutionContext, config: CandidateModelConfig, lake_root: LakeResource):
    from ringrift_ml.train.data import Samples
    from ringrift_ml.train.train import TrainConfig, save_model, train

    board, n = split_key(context)
    root = lake_root.path()
    store = lake_root.store()
    # The sample set this run wrote (a run of one partition never trains on another
    # run's samples), else the partition's newest.
    ss = sample_set(store, board, n, context.run.run_id)
    if ss is None:
        raise dg.Failure(f"partition {board}|{n}: no sample set in the lake; materialize training_samples first")
    npz = root / ss["npz_path"]
    if not npz.is_file():
        raise dg.Failure(f"partition {board}|{n}: sample set {ss['sample_set_id']}: {npz} is missing")
    try:
        data = Samples.load(npz)
        cfg = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, holdout=config.holdout,
                          seed=config.seed, hidden=config.hidden, layers=config.layers)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    data_version = ss["sample_set_id"]

    def log(epoch: int, h: dict) -> None:
        context.log.info(f"{board}|{n} epoch {epoch}/{cfg.epochs}: train {h['train_loss']:.4f}, "
                         f"held-out {h['val_loss']:.4f} (top-1 {h['val_top1']:.3f})")

    t0 = time.time()
    try:
        net, history, held = train(data, cfg, on_epoch=log)
    except (ValueError, FloatingPointError) as e:
        raise dg.Failure(f"partition {board}|{n}: training failed: {e}") from e
    seconds = time.time() - t0
    final = history[-1]
    mdir = _model_dir(root, board, n)
    path = save_model(net, mdir / "candidate.pt", cfg, {
        "board": board, "players": n, "samples_version": data_version, "sample_set_id": ss["sample_set_id"],
        "lake_snapshot": ss["games_snapshot"], "samples": len(data),
        "held_out_positions": int(len(held)), "history": history, "train_seconds": seconds,
        "schema": data.schema,
    })
    model_version = file_version(path)
    curve = _loss_png(history, mdir / "loss.png", f"{board} {n}p")
    record_row(store, "models", [{
        "model_id": model_version, "board": board, "players": n, "path": str(path.relative_to(root)),
        "sample_set_id": ss["sample_set_id"], "samples": len(data), "epochs": cfg.epochs,
        "train_loss": final["train_loss"], "val_loss": final["val_loss"], "val_top1": final["val_top1"],
        "val_value_mse": final["val_value_mse"], "initial_val_loss": history[0]["val_loss"],
        "config": config.model_dump(), "code_version": provenance()["code_version"]}],
        f"model {model_version} for {board}|{n}", context.run.run_id)
    table = "| epoch | train | held-out | top-1 | value MSE |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_loss']:.4f} | {h['val_top1']:.3f} | "
        f"{h['val_value_mse']:.4f} |" for h in history)
    return dg.MaterializeResult(
        metadata={
            **provenance(config, {"sample_set": data_version}),
            "model_id": model_version,
            "sample_set_id": ss["sample_set_id"],
            "lake_snapshot": ss["games_snapshot"],
            "path": dg.MetadataValue.path(str(path)),
            "samples": len(data),
            "held_out_positions": int(len(held)),
            "train_seconds": round(seconds, 2),
            "final_train_loss": final["train_loss"],
            "final_val_loss": final["val_loss"],
            "val_top1": final["val_top1"],
            "training_curve": dg.MetadataValue.md(table),
            "loss_plot": _png_markdown(curve, "loss"),
        },
        data_version=dg.DataVersion(model_version),
    )


@dg.asset_check(asset=candidate_model, blocking=True,
                description="Every weight finite, and the training loss lower after training than before.")
def candidate_model_sanity(context: dg.AssetCheckExecutionContext, lake_root: LakeResource):
    import torch

    from ringrift_ml.train.train import read_checkpoint

    board, n = split_key(context)
    path = _model_dir(lake_root.path(), board, n) / "candidate.pt"
    if not path.is_file():
        return dg.AssetCheckResult(passed=False, description=f"{path} does not exist")
    try:
        state, meta = read_checkpoint(path)  # weights_only tensors + JSON metadata; never unpickles code
    except ValueError as e:
        return dg.AssetCheckResult(passed=False, description=str(e))
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    hist = meta["history"]
    first, last = hist[0]["train_loss"], hist[-1]["train_loss"]
    problems = []
    if bad:
        problems.append(f"non-finite weights in {bad}")
    if not (math.isfinite(last) and last < first):
        problems.append(f"training loss did not decrease ({first:.4f} -> {last:.4f})")
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or f"weights finite; training loss {first:.4f} -> {last:.4f}",
        metadata={"initial_train_loss": first, "final_train_loss": last, "non_finite_tensors": len(bad)},
    )


@dg.asset(
    partitions_def=board_players,
    group_name="training",
    kinds={"pytorch"},
    deps=[candidate_model],
    description="Value-head calibration of the candidate model on its held-out games: ECE, MCE, "
    "overconfidence, optimal temperature, reliability diagram.",
)
def calibration_report(context: dg.AssetExecutionContext, lake_root: LakeResource):
    from ringrift_ml.train.calibration import calibration_report as report_of, reliability_png, value_logits
    from ringrift_ml.train.data import Samples
    from ringrift_ml.train.train import load_model

    board, n = split_key(context)
    root = lake_root.path()
    mdir = _model_dir(root, board, n)
    if not (mdir / "candidate.pt").is_file():
        raise dg.Failure(f"partition {board}|{n}: {mdir / 'candidate.pt'} does not exist; "
                         "materialize candidate_model first")
    try:
        net, meta = load_model(mdir / "candidate.pt")
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    model_version = file_version(mdir / "candidate.pt")
    store = lake_root.store()
    ss = store.query("SELECT npz_path, games_snapshot FROM lake.sample_sets WHERE sample_set_id = ?",
                     [meta.get("sample_set_id", "")]).to_pylist()
    if not ss or not (root / ss[0]["npz_path"]).is_file():
        raise dg.Failure(f"partition {board}|{n}: the model's sample set {meta.get('sample_set_id')} is not in "
                         "the lake (a model from an older format?); re-materialize candidate_model")
    data = Samples.load(root / ss[0]["npz_path"])
    tc = meta["train_config"]
    _, held = data.split(tc["holdout"], tc["seed"])
    rep = report_of(value_logits(net, data, held), data.value[held])
    png = reliability_png(rep, mdir / "reliability.png", f"{board} {n}p value head")
    out = mdir / "calibration.json"
    out.write_text(json.dumps(rep, indent=1))
    record_row(store, "calibration", [{
        "model_id": model_version, "board": board, "players": n, "n": rep["n"], "ece": rep["ece"], "mce": rep["mce"],
        "overconfidence": rep["overconfidence"], "temperature": rep["temperature"]}],
        f"calibration of {model_version}", context.run.run_id)
    context.log.info(f"{board}|{n}: ECE {rep['ece']:.3f}, MCE {rep['mce']:.3f}, T* {rep['temperature']:.2f}")
    return dg.MaterializeResult(metadata={
        **provenance(inputs={"candidate_model": model_version, "sample_set": meta.get("sample_set_id")}),
        "lake_snapshot": ss[0]["games_snapshot"],
        "held_out_positions": rep["n"],
        "ece": rep["ece"],
        "mce": rep["mce"],
        "overconfidence": rep["overconfidence"],
        "optimal_temperature": rep["temperature"],
        "temperature_at_bound": rep["temperature_at_bound"],
        "reliability_diagram": _png_markdown(png, "reliability"),
        "reliability_png": dg.MetadataValue.path(str(png)),
        "report": dg.MetadataValue.path(str(out)),
    })
