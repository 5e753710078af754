"""Heuristic weights: CMA-ES per partition, each result a versioned, content-addressed file."""

import fcntl
import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import dagster as dg

from ringrift_ml.ai.heuristic import packaged_weights_path
from ringrift_ml.lake.lineage import record_row

from .partitions import board_players, split_key
from .provenance import config_hash, provenance
from .resources import LakeResource


@contextmanager
def _locked(path: Path):
    """An exclusive lock beside ``path``: partitions share one weights file, and a
    parallel backfill must not lose one partition's update to another's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def versions_dir(root: Path) -> Path:
    return Path(root) / "weights" / "versions"


def weights_file(store, board: str, players: int, spec: str) -> Optional[Path]:
    """The weights file a run plays with: ``"packaged"`` -> None (the packaged
    defaults), ``"tuned"`` -> the partition's newest tuned version, else a recorded
    version hash.  ``ValueError`` names what is missing."""
    if spec == "packaged":
        return None
    if spec == "tuned":
        rows = store.query("SELECT weights_version, path FROM lake.heuristic_weights WHERE board = ? AND players = ? "
                           "ORDER BY created_at DESC LIMIT 1", [board, players]).to_pylist()
        if not rows:
            raise ValueError(f"weights: 'tuned' but partition {board}|{players} has no heuristic_weights yet "
                             "(materialize heuristic_weights, or use 'packaged')")
    else:
        rows = store.query("SELECT weights_version, path FROM lake.heuristic_weights WHERE weights_version = ? "
                           "LIMIT 1", [spec]).to_pylist()
        if not rows:
            raise ValueError(f"weights: {spec!r} is neither 'packaged', 'tuned' nor a recorded weights version")
    path = Path(rows[0]["path"])
    if not path.is_absolute():
        path = store.root / path
    if not path.is_file():
        raise ValueError(f"weights: version {rows[0]['weights_version']} is recorded, but {path} is missing")
    return path


class HeuristicWeightsConfig(dg.Config):
    generations: int = 2
    popsize: int = 4
    games_per_eval: int = 2
    sigma0: float = 0.5
    seed: int = 0


@dg.asset(
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python"},
    description="CMA-ES on the heuristic's feature weights for the partition (resumable).  The result is merged "
    "into <storage>/weights/heuristic.json (tuned['board|players']) and kept as a content-addressed version "
    "under weights/versions/, recorded in lake.heuristic_weights; selfplay names the version it plays with.",
)
def heuristic_weights(context: dg.AssetExecutionContext, config: HeuristicWeightsConfig, lake_root: LakeResource):
    from ringrift_ml.tuning import TuneConfig, save_tuned, tune

    board, n = split_key(context)
    root = lake_root.path()
    try:
        cfg = TuneConfig(board=board, players=n, generations=config.generations, popsize=config.popsize,
                         games_per_eval=config.games_per_eval, sigma0=config.sigma0, seed=config.seed)
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    workdir = root / "tuning" / f"{board}_{n}p" / config_hash(config)
    target = root / "weights" / "heuristic.json"
    # This storage root's weights, never those of the working directory or the
    # environment: a root starts from the packaged defaults.
    start = target if target.is_file() else packaged_weights_path()
    t0 = time.time()
    result = tune(cfg, workdir, progress=False, weights=start)
    for h in result["history"]:
        context.log.info(f"{board}|{n} generation {h['generation']}: best {h['best_score']:.3f}, "
                         f"mean {h['mean_score']:.3f}")
    with _locked(target):
        save_tuned(result, target, base=packaged_weights_path())
        data = target.read_bytes()
    version = hashlib.sha256(data).hexdigest()[:16]
    vfile = versions_dir(root) / f"{version}.json"
    if not vfile.exists():
        vfile.parent.mkdir(parents=True, exist_ok=True)
        tmp = vfile.with_name(f".{vfile.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, vfile)
    record_row(lake_root.store(), "heuristic_weights", [{
        "weights_version": version, "board": board, "players": n, "path": str(vfile.relative_to(root)),
        "best_score": float(result["best_score"]), "generations": int(result["generations"]),
        "config": config.model_dump()}], f"heuristic weights {version} for {board}|{n}", context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            **provenance(config),
            "weights_version": version,
            "path": dg.MetadataValue.path(str(vfile)),
            "best_score": float(result["best_score"]),
            "generations": result["generations"],
            "seconds": round(time.time() - t0, 1),
            "weights": dg.MetadataValue.json({k: float(v) for k, v in result["mean_weights"].items()}),
            "history": dg.MetadataValue.json(json.loads(json.dumps(result["history"], default=float))),
        },
        data_version=dg.DataVersion(version),
    )
