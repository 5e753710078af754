"""The Dagster code location: its shape, and materializations end to end on the lake."""

import json

import dagster as dg
import numpy as np
import pytest

from ringrift_assets import build_definitions, defs
from ringrift_assets.definitions import ASSETS, CHECKS, PARTITIONED_ASSETS
from ringrift_assets.partitions import board_players, partition_key
from ringrift_assets.configs import LoopSettings
from ringrift_assets.resources import LakeResource
from ringrift_assets.run import main as pipeline_main
from ringrift_ml.lake import LakeStore
from ringrift_ml.lake.layout import Layout, Partition
from ringrift_ml.lake.generated import write_generated
from ringrift_ml.lake.lineage import sample_set

from ..registry_rows import write_registry

PARTITIONED = ["best_model", "calibration_report", "candidate_model", "elo_ladder", "elo_ratings", "games_merged",
               "gate_match", "heuristic_weights", "loop_generation", "selfplay_games", "training_samples"]


def _asset(name: str):
    return next(a for a in ASSETS if a.key.to_user_string() == name)


def test_graph_snapshot():
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted(PARTITIONED + ["campaign_summary", "landed_files", "lake_catalog", "landing_zone",
                                         "nnue_model"])
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert checks == ["candidate_model:candidate_model_divergence", "candidate_model:candidate_model_sanity",
                      "games_merged:games_merged_quality", "landed_files:freshness_check",
                      "selfplay_games:freshness_check", "training_samples:training_samples_quality"]
    quality = [k for k in graph.asset_check_keys if k.name.endswith(("_quality", "_sanity"))]
    assert len(quality) == 3 and all(graph.get_check_spec(k).blocking for k in quality)
    # Checks of a partition's data are partitioned like their assets: each partition has
    # its own check status (the freshness checks look at the newest of any partition).
    assert all(graph.get_check_spec(k).partitions_def == board_players for k in graph.asset_check_keys
               if k.name != "freshness_check")
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.code_version and node.owners == ["team:ringrift-lab"], key
    # The assets that write a lake table declare its columns.
    cols = graph.get(dg.AssetKey("gate_match")).metadata["dagster/column_schema"].columns
    assert {c.name for c in cols} >= {"generation", "status", "parent_id", "gate", "rating", "rating_se"}
    assert graph.get(dg.AssetKey("games_merged")).metadata["lake_table"] == "lake.games_merged"
    assert sorted(board_players.get_partition_keys()) == sorted(
        f"{b}|{n}" for b in ("hex8", "hexagonal", "square19", "square8") for n in "234"
    )
    for key in PARTITIONED:
        assert graph.get(dg.AssetKey(key)).partitions_def == board_players
    assert graph.get(dg.AssetKey("lake_catalog")).partitions_def is None
    assert graph.get(dg.AssetKey("landing_zone")).partitions_def is None
    assert isinstance(graph.get(dg.AssetKey("landed_files")).partitions_def, dg.DynamicPartitionsDefinition)
    parents = {k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
               for k in graph.get_all_asset_keys()}
    assert parents == {"selfplay_games": ["best_model"], "games_merged": ["selfplay_games"],
                       "training_samples": ["games_merged"], "candidate_model": ["best_model", "training_samples"],
                       "best_model": [], "gate_match": ["best_model", "candidate_model"], "elo_ladder": ["gate_match"],
                       "calibration_report": ["candidate_model"], "heuristic_weights": ["best_model"],
                       "elo_ratings": ["candidate_model", "heuristic_weights"], "landed_files": [],
                       "lake_catalog": ["calibration_report", "candidate_model", "elo_ratings", "games_merged",
                                        "training_samples"], "loop_generation": [], "landing_zone": [],
                       "campaign_summary": ["loop_generation"], "nnue_model": []}
    assert sorted(s.name for s in repo.sensor_defs) == ["failure_alert_sensor", "freshness_alert_sensor",
                                                        "freshness_checks_sensor", "landed_games_sensor",
                                                        "landing_sensor", "loop_sensor"]
    assert sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) == [
        "ingest_landed_file", "loop_generation_job", "merge_landed_games", "pipeline", "stage_landed_files"]
    assert partition_key(Partition("square8", 2)) == "square8|2"


def test_storage_root_is_not_read_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("RINGRIFT_STORAGE", str(tmp_path / "envroot"))
    assert LakeResource().path() == (tmp_path / "envroot").resolve()
    assert LakeResource(root=str(tmp_path / "x")).path() == (tmp_path / "x").resolve()


# Eight heuristic games: enough for the network to beat the trivial baseline held out
# (the blocking check), few enough for a quick test.  The gate's games stay out of the
# training data here so the lineage counts below are the selfplay's alone (the graph
# test against ringrift loop keeps them, as the loop does by default).
GAMES = 8
LOOP = {"games": GAMES, "bootstrap": "heuristic", "simulations": 4, "gate_min_games": 4, "gate_max_games": 8,
        "elo1": 400.0, "batch_games": 4, "ladder_games": 2, "ladder_predecessor_games": 2,
        "train": json.dumps({"epochs": 12}),
        "gate_games_train": False, "ladder_games_train": False}  # each generation's data: its own selfplay
RUN_CONFIG = {"resources": {"loop": {"config": LOOP}},
              "ops": {"heuristic_weights": {"config": {"generations": 1, "popsize": 2, "games_per_eval": 1}},
                      "elo_ratings": {"config": {"games_per_pairing": 1, "search_player": "mcts:8",
                                                 "candidate_simulations": 8}}}}


def _resources(root) -> dict:
    return {"lake_root": LakeResource(root=str(root)), "loop": LoopSettings()}


def _materialize(root, key="square8|2", instance=None):
    return dg.materialize(PARTITIONED_ASSETS + CHECKS, partition_key=key, instance=instance,
                          resources=_resources(root), run_config=RUN_CONFIG)


def test_square8_2p_end_to_end_with_lineage_in_sql(tmp_path, monkeypatch):
    from ringrift_ml.loop import run as loop_run

    # A network from eight games does not reliably beat anyone: the first gate's games are
    # played, its decision forced to a pass, so the graph's next generation can be followed.
    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    with dg.instance_for_test() as inst:
        r = _materialize(tmp_path, instance=inst)
        monkeypatch.setattr(loop_run, "sequential_match", real)
        assert r.success
        md = {e.asset_key.to_user_string(): e.materialization.metadata for e in r.get_asset_materialization_events()}
        assert md["selfplay_games"]["games"].value == GAMES and md["selfplay_games"]["new_in_lake"].value == GAMES
        assert md["selfplay_games"]["generation"].value == 0 and md["selfplay_games"]["player"].value == "heuristic"
        assert md["games_merged"]["rows_out"].value == GAMES
        assert "code_version" in md["games_merged"] and "input_data_versions" in md["games_merged"]
        assert md["training_samples"]["label"].value == "loop:square8|2:g0"
        checks = {e.asset_check_key.name: e.passed for e in r.get_asset_check_evaluations()}
        # The quality checks, the divergence check on the candidate and the freshness
        # check of the games just played (the landed files have none in this run).
        assert checks == {"games_merged_quality": True, "training_samples_quality": True,
                          "candidate_model_sanity": True, "candidate_model_divergence": True,
                          "freshness_check": True}
        assert "reliability_diagram" in md["calibration_report"]
        # Tables (shown inline by the UI) with their schemas, not markdown.
        curve = md["candidate_model"]["training_curve"].value
        assert [c.name for c in curve.schema.columns][:3] == ["epoch", "train_loss", "heldout_loss"]
        assert curve.records[-1].data["epoch"] == "uniform / 0" and len(curve.records) >= 2
        assert {r.data["player"] for r in md["elo_ratings"]["elo_table"].value.records} >= {"random", "heuristic"}
        assert md["elo_ratings"]["elo/random"].value == 0
        hist = md["heuristic_weights"]["history"].value
        assert [r.data["generation"] for r in hist.records] == [0]
        model_id = md["candidate_model"]["model_id"].value
        # Generation 0 through the graph: no best yet (from scratch, against the bootstrap), promoted.
        assert md["best_model"]["best_generation"].value == -1
        assert md["candidate_model"]["warm_start"].value == "none (from scratch)"
        assert md["gate_match"]["generation"].value == 0 and md["gate_match"]["status"].value == "promoted"
        assert 0 <= md["gate_match"]["gate_score"].value <= 1 and md["gate_match"]["gate_games"].value >= 4
        assert {rec.data["name"] for rec in md["elo_ladder"]["ladder"].value.records} >= {"g0", "random", "mcts:4"}
        assert md["elo_ladder"]["newest_generation"].value == 0
        # The next run is generation 1: the promoted network plays under search, the
        # candidate starts from it and is gated against it.
        r2 = _materialize(tmp_path, instance=inst)
        assert r2.success
        md2 = {e.asset_key.to_user_string(): e.materialization.metadata for e in r2.get_asset_materialization_events()}
        assert md2["selfplay_games"]["generation"].value == 1 and md2["selfplay_games"]["new_in_lake"].value == GAMES
        assert md2["selfplay_games"]["player"].value.endswith("loop/g0000/model.pt:4")
        assert md2["best_model"]["best_generation"].value == 0
        (g0,) = [rec.data for rec in md2["best_model"]["registry"].value.records]
        assert g0["status"] == "promoted" and g0["elo_se"] > 0 and np.isfinite(g0["elo"])  # rated by the ladder
        assert md2["candidate_model"]["warm_start"].value == "models/square8_2p/loop/g0000/model.pt"
        assert md2["gate_match"]["generation"].value == 1
        assert "against g0" in md2["gate_match"]["reason"].value
        # The gate again without a new candidate: generation 1 is not gated twice.
        r3 = dg.materialize([_asset("gate_match")], partition_key="square8|2", instance=inst,
                            resources=_resources(tmp_path), run_config={"resources": RUN_CONFIG["resources"]})
        assert r3.asset_materializations_for_node("gate_match")[0].metadata["generation"].value == 1
    store = LakeStore.open(tmp_path)
    q = lambda sql, *p: store.query(sql, list(p)).to_pylist()  # noqa: E731
    best_games = [json.loads(r["generator_config"])["models"] for r in q(
        "SELECT generator_config FROM lake.games WHERE generator_config LIKE '%g0000%'")]
    assert len(best_games) == GAMES and all(k.endswith("g0000/model.pt:4") for k in best_games[0])
    assert [r["generation"] for r in q("SELECT generation FROM lake.model_registry ORDER BY generation")] == [0, 1]
    assert q("SELECT count(*) AS n FROM lake.games WHERE generator_config NOT LIKE '%g0000%'") == [{"n": GAMES}]
    assert q("SELECT count(*) AS n FROM lake.games_merged") == [{"n": 2 * GAMES}]
    n_moves = q("SELECT count(*) AS n FROM lake.moves_merged")[0]["n"]
    assert n_moves == q("SELECT sum(length) AS n FROM lake.games_merged")[0]["n"]
    # The README's lineage query: the games that trained the first model (generation 0's).
    lineage = ("SELECT DISTINCT g.game_id FROM lake.models m JOIN lake.sample_set_games s USING (sample_set_id) "
               "JOIN lake.games g ON g.entry_id = s.entry_id WHERE m.model_id = ? ORDER BY 1")
    trained_on = q(lineage, model_id)
    assert len(trained_on) == GAMES
    # Every game is in exactly one generation's sample set.
    assert q("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.sample_set_games") == [
        {"n": 2 * GAMES, "d": 2 * GAMES}]
    ss = sample_set(store, "square8", 2)
    z = np.load(tmp_path / ss["npz_path"])
    assert z["planes"].shape[0] == ss["samples"] == q(
        "SELECT count(*) AS n FROM lake.samples WHERE sample_set_id = ?", ss["sample_set_id"])[0]["n"]
    sums = np.add.reduceat(z["policy"], z["offsets"][:-1])
    assert np.allclose(sums, 1, atol=1e-5) and set(np.unique(z["value"][:, :2])) <= {-1.0, 1.0}
    schema = json.loads(str(z["schema"]))
    assert schema["sample_set_id"] == ss["sample_set_id"] and schema["features"].startswith("spatial-v1-")
    # the model records what it learned from, and the check saw the best held-out evaluation saved
    m = q("SELECT features, best_epoch, val_policy_ce, val_policy_ce_uniform FROM lake.models WHERE model_id = ?",
          model_id)[0]
    assert m["features"] == schema["features"] and m["best_epoch"] is not None
    assert q("SELECT count(*) AS n FROM lake.models") == [{"n": 2}]
    assert q("SELECT count(*) AS n FROM lake.calibration WHERE ece BETWEEN 0 AND 1") == [{"n": 2}]
    elo = {r["player"]: r["games"] for r in q("SELECT player, games FROM lake.elo WHERE run_id = "
                                              "(SELECT max(run_id) FROM lake.elo)")}
    assert sorted(elo) == ["candidate", "candidate+search:8", "heuristic", "mcts:8", "random"]
    assert set(elo.values()) == {4}
    assert q("SELECT count(*) AS n FROM lake.heuristic_weights") == [{"n": 2}]
    # More games land: the lineage answer does not change.
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    more = run_selfplay(SelfplayConfig(board="square8", players=("random", "random"), games=2, seed=99),
                        progress=False)
    write_generated(store, more, run_id="later")
    assert q(lineage, model_id) == trained_on and q("SELECT count(*) AS n FROM lake.games") == [{"n": 2 * GAMES + 2}]


def test_a_generation_through_the_graph_is_the_generation_of_ringrift_loop(tmp_path):
    """The same settings and seed on two empty lakes: one generation through the asset
    graph, one through ``ringrift loop``.  Same games, same samples, same training, and
    a gate of real games with the same decision: the registry rows agree.  ``train_share``
    is off: its step cap comes from CPU measured in the run, which differs between two
    runs of the same settings."""
    from ringrift_ml.cli import main as cli_main
    from ringrift_ml.loop import registry

    settings = {"games": 4, "bootstrap": "heuristic", "simulations": 4, "gate_min_games": 2, "gate_max_games": 6,
                "batch_games": 4, "ladder_games": 0, "seed": 3, "train_share": 0.0,
                "train": json.dumps({"epochs": 2, "preset": "tiny", "early_stopping": 0})}
    chain = [_asset(k) for k in ("best_model", "selfplay_games", "games_merged", "training_samples",
                                 "candidate_model", "gate_match")]
    r = dg.materialize(chain, partition_key="square8|2", resources=_resources(tmp_path / "graph"),
                       run_config={"resources": {"loop": {"config": settings}}})
    assert r.success
    assert cli_main(["loop", "--partition", "square8|2", "--generations", "1", "--games", "4", "--sims", "4",
                     "--bootstrap", "heuristic", "--gate-min", "2", "--gate-max", "6", "--batch-games", "4",
                     "--ladder-games", "0", "--seed", "3", "--train-share", "0", "--train", settings["train"],
                     "--storage", str(tmp_path / "cli"), "--no-progress"]) == 0
    rows = {}
    for side in ("graph", "cli"):
        store = LakeStore.open(tmp_path / side)
        (row,) = registry(store, "square8", 2)
        games = store.query("SELECT game_id FROM lake.sample_set_games WHERE sample_set_id = ? ORDER BY 1",
                            [row["sample_set_id"]]).to_pylist()
        gate = json.loads(row["gate"])
        rows[side] = {**{k: row[k] for k in ("generation", "status", "reason", "path", "selfplay_games", "targets",
                                             "target_entropy", "heldout_policy_ce", "heldout_value_mse")},
                      "config": json.loads(row["config"]), "sample_games": [g["game_id"] for g in games],
                      "gate": {k: gate[k] for k in ("score", "games", "llr", "decision")}}
    assert rows["graph"] == rows["cli"]
    assert rows["cli"]["gate"]["games"] >= 2 and len(rows["cli"]["sample_games"]) == 4


def test_failing_check_blocks_training_samples(tmp_path, sq8_records):
    """A game written around the landing zone with a false winner: the games check
    fails (sampled replay), and neither samples nor model are built in that run."""
    store = LakeStore.open(tmp_path)
    write_generated(store, sq8_records[:2], run_id="ok")
    forged = dict(sq8_records[2], gameId="forged-1", winner=3 - sq8_records[2]["winner"], ranks=None)
    # Written around validation (write_generated replays but lets unfinished games in,
    # so insert the forged row directly).
    from ringrift_ml.lake.io import append
    from ringrift_ml.lake.records import convert_record

    row = convert_record(dict(forged, winner=None), source="selfplay", source_key="forged", require_finished=False)
    row["winner"] = forged["winner"]
    store.write(lambda con: append(con, "games", [row]), "forged")
    r = dg.materialize(
        [a for a in PARTITIONED_ASSETS if a.key.to_user_string() not in ("selfplay_games", "heuristic_weights")]
        + CHECKS, partition_key="square8|2", resources=_resources(tmp_path),
        raise_on_error=False,
    )
    evals = {e.asset_check_key.name: e for e in r.get_asset_check_evaluations()}
    assert evals["games_merged_quality"].passed is False
    desc = evals["games_merged_quality"].description
    assert "replay" in desc and "forged-1" in desc
    done = {e.asset_key.to_user_string() for e in r.get_asset_materialization_events()}
    assert done == {"best_model", "games_merged"}
    assert sample_set(store, "square8", 2) is None and not (tmp_path / "models").exists()


def test_bad_config_fails_naming_the_partition(tmp_path):
    r = dg.materialize(
        [_asset("selfplay_games")], partition_key="hex8|3", resources=_resources(tmp_path),
        run_config={"resources": {"loop": {"config": {"games": 1, "bootstrap": "nn:model.pt:4"}}}},
        raise_on_error=False,
    )
    assert not r.success
    error = str(next(e for e in r.all_events if e.is_step_failure).event_specific_data.error)
    assert "hex8|3" in error and "bootstrap" in error


def test_downstream_asset_without_its_input_names_the_partition(tmp_path):
    for name in ("games_merged", "training_samples", "candidate_model", "calibration_report", "elo_ratings",
                 "gate_match"):
        asset = _asset(name)
        r = dg.materialize([asset], partition_key="hex8|4", resources=_resources(tmp_path), raise_on_error=False)
        error = str(next(e for e in r.all_events if e.is_step_failure).event_specific_data.error)
        assert "hex8|4" in error, (name, error)


def test_pipeline_command_runs_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # The quick sizes of each partition (8 selfplay games; fewer can leave the candidate
    # below the trivial baseline, and the blocking check then stops the run by design).
    assert pipeline_main(["--storage", str(tmp_path), "--partitions", "hex8|2,square8|3", "--parallel", "2"]) == 0
    out = capsys.readouterr().out
    assert "ringrift lake sql" in out and "dagster dev" in out and "2 at a time" in out
    assert "hex8|2: done in" in out and "square8|3: done in" in out
    store = LakeStore.open(tmp_path)
    label = "json_extract_string(generator_config, '$.label')"
    assert store.query(f"SELECT count(*) AS n FROM lake.games_merged WHERE board = 'hex8' AND {label} = "
                       "'loop:hex8|2:g0'").to_pylist() == [{"n": 8}]  # the generation's selfplay
    # The gate's games are kept as training data of the next generation (the default).
    assert store.query(f"SELECT count(*) AS n FROM lake.games_merged WHERE {label} = 'loop:hex8|2:g0:gate'"
                       ).to_pylist()[0]["n"] > 0
    assert (tmp_path / "dagster_home" / "dagster.yaml").is_file()
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    runs = instance.get_run_records()
    assert runs and {r.dagster_run.job_name for r in runs} == {"pipeline"}  # not __ephemeral_asset_job__
    assert {r.dagster_run.tags.get("dagster/partition") for r in runs} == {"hex8|2", "square8|3"}
    assert store.query(f"SELECT count(*) AS n FROM lake.games_merged WHERE {label} = 'loop:square8|3:g0'"
                       ).to_pylist() == [{"n": 8}]


def test_build_definitions_binds_the_root(tmp_path):
    d = build_definitions(str(tmp_path))
    assert d.resources["lake_root"].root == str(tmp_path)


def test_candidate_specs_name_the_newest_generations_checkpoint(tmp_path):
    from ringrift_assets.games import resolve_model_ref

    store = LakeResource(root=str(tmp_path)).store()
    with pytest.raises(ValueError, match="no candidate model yet"):
        resolve_model_ref("nn:candidate:4", tmp_path, "hex8", 2, store)
    lay = Layout(tmp_path)
    for g in (2, 10):
        (lay.generation_dir(Partition("hex8", 2), g)).mkdir(parents=True)
        (lay.generation_dir(Partition("hex8", 2), g) / "model.pt").write_bytes(b"x")
    assert resolve_model_ref("nn:candidate:4", tmp_path, "hex8", 2, store) == \
        f"nn:{lay.generation_dir(Partition('hex8', 2), 10) / 'model.pt'}:4"


def test_loop_generation_asset_and_its_sensor(tmp_path, monkeypatch):
    from ringrift_assets.loop import loop_generation, loop_sensor
    from ringrift_ml.loop import registry
    from ringrift_ml.loop import run as loop_run

    real = loop_run.sequential_match
    monkeypatch.setattr(loop_run, "sequential_match", lambda *a, **k: {**real(*a, **k), "decision": "H1"})
    from ringrift_assets.configs import LoopSettings

    settings = {"games": 10, "simulations": 4, "bootstrap": "heuristic", "gate_min_games": 2, "gate_max_games": 2,
                "batch_games": 10, "ladder_games": 2, "ladder_predecessor_games": 2,
                "train": json.dumps({"epochs": 12, "preset": "tiny"})}
    res = {"lake_root": LakeResource(root=str(tmp_path)), "loop": LoopSettings(**settings)}
    bad = dg.materialize([loop_generation], partition_key="hex8|3", raise_on_error=False,
                         resources={**res, "loop": LoopSettings(**{**settings, "train": "[1]"})})
    error = str(next(e for e in bad.all_events if e.is_step_failure).event_specific_data.error)
    assert "hex8|3" in error and "train" in error
    r = dg.materialize([loop_generation], partition_key="square8|2", resources=res)
    md = r.asset_materializations_for_node("loop_generation")[0].metadata
    assert md["generation"].value == 0 and md["status"].value in ("promoted", "rejected")
    # Where the generation's CPU went, as numbers the Plots tab charts.
    assert 0 < md["data_share"].value <= 1 and md["selfplay_cpu_seconds"].value > 0
    assert md["positions"].value > 0 and md["trained_positions"].value > 0
    table = md["registry"].value
    assert [rec.data["generation"] for rec in table.records] == [0]
    assert {c.name for c in table.schema.columns} >= {"generation", "status", "gate_score", "cpu_hours"}
    if md["status"].value == "promoted":
        assert {rec.data["name"] for rec in md["ladder"].value.records} >= {"g0", "random", "heuristic"}
    r = dg.materialize([loop_generation], partition_key="square8|2", resources=res)
    md1 = r.asset_materializations_for_node("loop_generation")[0].metadata
    assert md1["generation"].value == 1
    # Its cost was estimated before it ran, from generation 0's measured steps.
    low, high = md1["estimated_cpu_hours"].value
    assert 0 <= low <= high and high > 0
    assert [x["generation"] for x in registry(LakeResource(root=str(tmp_path)).store(), "square8", 2)][-1] == 1
    # The sensor: nothing without a budget; the next generation while the budget lasts.
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance, resources=res)
    assert isinstance(loop_sensor(ctx), dg.SkipReason)
    Layout(tmp_path).loop_budget.parent.mkdir(parents=True, exist_ok=True)
    Layout(tmp_path).loop_budget.write_text(json.dumps({"square8|2": {"generations": 3, "config": {"games": 6}},
                                                        "hex8|2": {"generations": 0}}))
    reqs = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert [(q.partition_key, q.tags["ringrift/generation"]) for q in reqs] == [("square8|2", "2")]
    lo, hi = (float(x) for x in reqs[0].tags["ringrift/estimated_cpu_hours"].split("-"))  # cost before work
    assert 0 <= lo <= hi and hi > 0
    # The partition's settings travel as the run's loop resource config.
    assert reqs[0].run_config == {"resources": {"loop": {"config": {"games": 6}}}}
    Layout(tmp_path).loop_budget.write_text(json.dumps({"square8|2": {"generations": 2}}))
    assert isinstance(loop_sensor(dg.build_sensor_context(instance=instance, resources=res)), dg.SkipReason)


def test_selfplay_asset_names_the_loops_best(tmp_path):
    from ringrift_assets.games import resolve_model_ref

    store = LakeResource(root=str(tmp_path)).store()
    with pytest.raises(ValueError, match="no promoted model"):
        resolve_model_ref("nn:best:8", tmp_path, "square8", 2, store)
    write_registry(store, [0], path="models/square8_2p/loop/g{g:04d}/model.pt")
    assert resolve_model_ref("nn:best:8", tmp_path, "square8", 2, store) == \
        f"nn:{tmp_path / 'models/square8_2p/loop/g0000/model.pt'}:8"
    assert resolve_model_ref("mcts:8", tmp_path, "square8", 2, store) == "mcts:8"


def test_neural_tuning_needs_a_promoted_model(tmp_path):
    r = dg.materialize([_asset("heuristic_weights")], partition_key="square8|3",
                       resources={"lake_root": LakeResource(root=str(tmp_path))},
                       run_config={"ops": {"heuristic_weights": {"config": {"evaluator": "neural"}}}},
                       raise_on_error=False)
    error = str(next(e for e in r.all_events if e.is_step_failure).event_specific_data.error)
    assert "square8|3" in error and "no promoted model" in error


def test_lake_catalog_reports_every_table(tmp_path):
    from ringrift_ml.lake.schema import TABLES

    store = LakeStore.open(tmp_path)
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    write_generated(store, run_selfplay(SelfplayConfig(board="square8", players=("random", "random"), games=2,
                                                       seed=5), progress=False), run_id="t")
    r = dg.materialize([_asset("lake_catalog")], resources={"lake_root": LakeResource(root=str(tmp_path))})
    md = r.asset_materializations_for_node("lake_catalog")[0].metadata
    rows = {rec.data["table"]: rec.data["rows"] for rec in md["tables"].value.records}
    assert {f"lake.{t}" for t in TABLES} <= set(rows) and rows["lake.games"] == 2


def test_loop_sensor_records_a_generation_that_keeps_failing_and_goes_on(tmp_path):
    from ringrift_assets.loop import loop_sensor

    res = {"lake_root": LakeResource(root=str(tmp_path))}
    job = build_definitions(str(tmp_path)).resolve_job_def("loop_generation_job")
    instance = dg.DagsterInstance.ephemeral()
    bad = {"resources": {"loop": {"config": {"train": "[1]"}}}}
    Layout(tmp_path).loop_budget.parent.mkdir(parents=True, exist_ok=True)
    Layout(tmp_path).loop_budget.write_text(json.dumps({"square8|2": {"generations": 2, "config": {"games": 4}}}))
    for k in range(3):
        reqs = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
        assert [(q.tags["ringrift/generation"], q.run_key) for q in reqs] == [("0", f"square8|2:g0:try{k}")]
        r = job.execute_in_process(partition_key="square8|2", instance=instance, run_config=bad,
                                   tags=dict(reqs[0].tags), raise_on_error=False)
        assert not r.success
    # Three failures of generation 0: the sensor writes nothing but asks for a run that
    # records it as failed; then generation 1 is requested.
    from ringrift_assets.loop import RECORD_FAILURE_TAG
    from ringrift_ml.loop import registry

    (req,) = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert req.tags == {"ringrift/generation": "0", RECORD_FAILURE_TAG: "3"} and req.run_key.endswith("record-failure")
    assert registry(LakeStore(tmp_path), "square8", 2) == []
    r = job.execute_in_process(partition_key="square8|2", instance=instance, run_config=req.run_config,
                               tags=dict(req.tags))
    assert r.success
    (row,) = registry(LakeStore(tmp_path), "square8", 2)
    assert row["generation"] == 0 and row["status"] == "failed" and "3 runs of loop_generation_job" in row["reason"]
    reqs = loop_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert [q.tags["ringrift/generation"] for q in reqs] == ["1"]
