"""The partition's NNUE in the graph: distilled, gated, made current only when it passes."""

import dagster as dg
import pytest

from ringrift_assets.nnue import nnue_model
from ringrift_assets.resources import LakeResource
from ringrift_ml.lake.layout import Layout
from ringrift_ml.partition import Partition


def test_nnue_model_asset_trains_gates_and_keeps_the_current(tmp_path):
    torch = pytest.importorskip("torch")
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config
    from ringrift_ml.nnue import load_nnue
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    res = {"lake_root": LakeResource(root=str(tmp_path))}
    store = res["lake_root"].store()
    write_generated(store, run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=6,
                                                       seed=2), progress=False), run_id="t")
    torch.manual_seed(0)
    model = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "net.pt", {}, {})
    conf = {"model": str(model), "epochs": 1, "hidden": 16, "l1": 8, "l2": 8, "holdout": 0.34, "gate_games": 2,
            "gate_nodes": 30, "max_games": 6}
    run = {"ops": {"nnue_model": {"config": conf}}}
    r = dg.materialize([nnue_model], partition_key="square8|2", resources=res, run_config=run)
    md = r.asset_materializations_for_node("nnue_model")[0].metadata
    gate = md["gate"].value
    assert gate["opponent"] == "minimax:30" and gate["games"] == 2 and md["accepted"].value == gate["accepted"]
    assert -1 <= md["heuristic_corr_with_network"].value <= 1 and md["evals_per_second"].value > 0
    lay = Layout(tmp_path)
    cand, cur = lay.nnue_candidate(Partition("square8", 2)), lay.nnue_current(Partition("square8", 2))
    assert load_nnue(cand).board == "square8" and cur.is_file() == gate["accepted"]
    if not cur.is_file():  # the heuristic won the match: make the candidate current to test the next match
        cur.write_bytes(cand.read_bytes())
    r = dg.materialize([nnue_model], partition_key="square8|2", resources=res, run_config=run)
    meta = r.asset_materializations_for_node("nnue_model")[0].metadata
    assert meta["gate"].value["opponent"] == "current"
    assert meta["quantisation"].value["positions"] > 0 and 0 <= meta["quantisation_rmse"].value < 0.2
    # A bad reference fails the run naming the partition.
    bad = dg.materialize([nnue_model], partition_key="square8|2", resources=res, raise_on_error=False,
                         run_config={"ops": {"nnue_model": {"config": {**conf, "model": "best"}}}})
    error = str(next(e for e in bad.all_events if e.is_step_failure).event_specific_data.error)
    assert "square8|2" in error and "no promoted model" in error
