"""Heuristic weights: CMA-ES per partition, each result a versioned, content-addressed file."""

import time

import dagster as dg

from ringrift_ml.fields import field_docs
from ringrift_ml.lake.layout import Partition
from ringrift_ml.tuning import ConfirmConfig, TuneConfig

from .configs import config_from_dataclass
from .partitions import board_players, split_key
from .provenance import column_schema, config_hash, provenance, table
from .resources import LakeResource

# Every TuneConfig field but the partition's, then every ConfirmConfig field as
# confirm_<field>: the defaults are the library's (ringrift-pipeline's quick sizes are
# its run config).
_TuneFields = config_from_dataclass(
    "TuneFields", TuneConfig, {}, exclude=("board", "players"),
    retype={"opponents": (list[str], list(TuneConfig.opponents), field_docs(TuneConfig)["opponents"])})
_CONFIRM = "confirm_"


class HeuristicWeightsConfig(config_from_dataclass("HeuristicWeightsFields", ConfirmConfig, {}, base=_TuneFields,
                                                   prefix=_CONFIRM)):
    def tune_config(self, board: str, players: int) -> TuneConfig:
        fields = {k: v for k, v in self.model_dump().items() if not k.startswith(_CONFIRM)}
        fields["opponents"] = tuple(fields["opponents"])
        return TuneConfig(board=board, players=players, **fields)

    def confirm_config(self) -> ConfirmConfig:
        return ConfirmConfig(**{k[len(_CONFIRM):]: v for k, v in self.model_dump().items() if k.startswith(_CONFIRM)})


@dg.asset(
    code_version="cmaes-4",
    metadata=column_schema("heuristic_weights"),
    owners=["team:ringrift-lab"],
    tags={"stage": "tuning"},
    partitions_def=board_players,
    group_name="ratings",
    kinds={"python"},
    deps=["best_model"],
    description="CMA-ES on the heuristic's feature weights for the partition (resumable; fitness from games, or "
    "from the best model's evaluations once it beats the heuristic), then a confirming "
    "test against the weights they would replace.  Only accepted weights are merged into "
    "<storage>/weights/heuristic.json (tuned['board|players']); every result is kept as a content-addressed "
    "version under weights/versions/ and recorded in lake.heuristic_weights with the test; selfplay names the "
    "version it plays with.",
)
def heuristic_weights(context: dg.AssetExecutionContext, config: HeuristicWeightsConfig, lake_root: LakeResource):
    from ringrift_ml.lake.weights import record_weights_version
    from ringrift_ml.tuning import recorded_config, tune_and_accept

    board, n = split_key(context)
    try:
        cfg = config.tune_config(board, n)
        confirm = config.confirm_config()
        model = None
        if cfg.evaluator == "neural":
            from ringrift_ml.loop.run import resolve_ref

            model = resolve_ref(lake_root.store(), board, n, "best")
    except ValueError as e:
        raise dg.Failure(f"partition {board}|{n}: {e}") from e
    layout = lake_root.layout()
    part = Partition(board, n)
    t0 = time.time()
    try:
        # This storage root's weights, never those of the working directory or the
        # environment: a root starts from the packaged defaults.
        out = tune_and_accept(cfg, layout.tuning_dir(part, config_hash(config)), layout.weights_file,
                              confirm=confirm, model=model, progress=False)
    except ValueError as e:  # e.g. the network does not beat the heuristic
        raise dg.Failure(f"partition {part}: {e}") from e
    result, confirm = out["result"], out["confirmation"]
    for h in result["history"]:
        context.log.info(f"{part} generation {h['generation']}: best {h['best_score']:.3f}, "
                         f"mean {h['mean_score']:.3f}")
    context.log.info(f"{part}: confirming test of the tuned weights: {confirm['score']:.3f} over "
                     f"{confirm['games']} games -> {'accepted' if out['accepted'] else 'rejected'}")
    rec = record_weights_version(lake_root.store(), board, n, out, recorded_config(cfg, config.confirm_config()),
                                 context.run.run_id)
    version, vfile = rec["weights_version"], rec["path"]
    return dg.MaterializeResult(
        metadata={
            **provenance(config),
            "weights_version": version,
            "accepted": out["accepted"],
            "confirmation": dg.MetadataValue.json(confirm),
            "path": dg.MetadataValue.path(str(vfile)),
            "best_score": float(result["best_score"]),
            "generations": result["generations"],
            "seconds": round(time.time() - t0, 1),
            "weights": dg.MetadataValue.json({k: float(v) for k, v in result["mean_weights"].items()}),
            # The CMA-ES history as a table with its schema; the scores below are numbers,
            # which the Plots tab charts across materializations.
            "history": table([{k: h[k] for k in ("generation", "best_score", "mean_score")}
                              for h in result["history"]],
                             [("generation", "int"), ("best_score", "float"), ("mean_score", "float")]),
            "confirmation_score": float(confirm["score"]),
            "evaluator": cfg.evaluator,
            "network_gate": dg.MetadataValue.json(result.get("network_gate")),
        },
        data_version=dg.DataVersion(version),
    )
