"""The partition's NNUE: distilled from the lake and the loop's best network, then gated.

The work is :func:`ringrift_ml.distill.distill` (``ringrift nnue train`` runs the same)
and :func:`ringrift_ml.distill.nnue_gate`; this asset trains a candidate into the
storage root's NNUE folder, plays it against the current NNUE (or the heuristic's
alpha-beta before there is one), and makes it current only if it passes.  Metadata: the
held-out correlations with the network (the NNUE's and the heuristic's), the MSE
against the results, the match, the evaluation speed.
"""

import shutil
import time

import dagster as dg
import pydantic

from ringrift_ml.lake.layout import Layout

from .configs import config_from_dataclass
from .partitions import board_players, partition_of
from .provenance import provenance
from .resources import LakeResource


def _train_fields() -> type:
    from ringrift_ml.train.nnue import NNUETrainConfig

    return config_from_dataclass("NNUETrainFields", NNUETrainConfig, {})


class NNUESettings(_train_fields()):
    """Distillation and gate settings (the training fields are ``NNUETrainConfig``'s)."""

    model: str = pydantic.Field(default="best", description="The network to distil: 'best' or g<N> of the "
                                "partition's loop registry, or a checkpoint file.")
    mix: float = pydantic.Field(default=0.0, description="The game result's weight in the value target (0: pure "
                                "distillation).")
    max_games: int = pydantic.Field(default=4000, description="Games read from the lake.")
    branches: int = pydantic.Field(default=0, description="Off-path positions per game position (1-4 random "
                                   "moves), valued by the network only.")
    symmetrise: bool = pydantic.Field(default=False, description="Targets: the network's value averaged over the "
                                      "board's rules symmetries (labelling costs that many times more).")
    image_targets: bool = pydantic.Field(default=False, description="Targets: the network's value of each image "
                                         "of a position under the rules' symmetries, each image trained on its "
                                         "own (labelling costs that many times more).")
    extra_games: int = pydantic.Field(default=0, description="Games played during the distillation whose "
                                      "positions, valued by the network, are trained on (never held out).")
    extra_player: str = pydantic.Field(default="heuristic", description="The player spec of every seat of those "
                                       "games (each opened by 8 random decisions).")
    gate_games: int = pydantic.Field(default=40, description="Games of the candidate's match.")
    gate_nodes: int = pydantic.Field(default=1000, description="Alpha-beta nodes per move in the match.")

    def train_config(self):
        import dataclasses

        from ringrift_ml.train.nnue import NNUETrainConfig

        return NNUETrainConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(NNUETrainConfig)})


@dg.asset(
    partitions_def=board_players,
    group_name="nnue",
    kinds={"python", "pytorch", "numba"},
    owners=["team:ringrift-lab"],
    tags={"stage": "nnue"},
    code_version="nnue-1",
    description="An NNUE evaluator for the partition's alpha-beta players, distilled from its games in the lake and "
    "its best network's values, quantised; it replaces the current NNUE only after scoring at least 50% against it "
    "(before the first: against the heuristic's alpha-beta) at equal nodes.",
)
def nnue_model(context: dg.AssetExecutionContext, config: NNUESettings, lake_root: LakeResource):
    from ringrift_ml.distill import distill, evaluation_speed, nnue_gate, positions
    from ringrift_ml.loop.run import is_registry_ref, resolve_ref
    from ringrift_ml.nnue import load_nnue

    part = partition_of(context)
    store = lake_root.store()
    lay = Layout(store.root)
    try:
        cfg = config.train_config()
        model = str(resolve_ref(store, part.board, part.players, config.model)) if is_registry_ref(config.model) \
            else config.model
    except ValueError as e:
        raise dg.Failure(f"partition {part}: {e}") from e
    cand, cur = lay.nnue_candidate(part), lay.nnue_current(part)
    cand.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        report = distill(store, part.board, part.players, cand, model=model, mix=config.mix,
                         max_games=config.max_games, branches=config.branches, cfg=cfg,
                         symmetrise=config.symmetrise, image_targets=config.image_targets,
                         extra_games=config.extra_games,
                         extra_player=config.extra_player, log=context.log.info)
        gate = nnue_gate(part.board, part.players, cand, cur if cur.is_file() else None, config.gate_games,
                         config.gate_nodes, seed=cfg.seed)
    except ValueError as e:
        raise dg.Failure(f"partition {part}: {e}") from e
    if gate["accepted"]:
        shutil.copyfile(cand, cur)
    context.log.info(f"{part}: candidate NNUE {gate['score']:.3f} over {gate['games']} games against "
                     f"{gate['opponent']}: {'accepted' if gate['accepted'] else 'rejected'}")
    sample = positions(store, part.board, part.players, max_games=20)["S"]
    corr = report.get("corr_with_network") or {}
    return dg.MaterializeResult(metadata={
        **provenance(config),
        "accepted": gate["accepted"],
        "gate": dg.MetadataValue.json(gate),
        "corr_with_network": corr.get("nnue"),
        "heuristic_corr_with_network": corr.get("heuristic"),
        "corr_with_symmetrised_network": (report.get("corr_with_symmetrised_network") or {}).get("nnue"),
        "mse_result": dg.MetadataValue.json(report["mse_result"]),
        # The integer head against the float one on training positions, before and after
        # the bias correction (nnue.calibrate).
        "quantisation_rmse": report["quantisation"]["after"]["rmse"],
        "quantisation": dg.MetadataValue.json(report["quantisation"]),
        "positions": report["positions"],
        "heldout_positions": report["heldout_positions"],
        "evals_per_second": round(evaluation_speed(load_nnue(cand), part.board, sample), 1),
        "candidate": dg.MetadataValue.path(str(cand)),
        "current": dg.MetadataValue.path(str(cur)) if cur.is_file() else "none",
        "seconds": round(time.time() - t0, 1),
    })
