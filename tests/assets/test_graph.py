"""The Dagster code location: its shape, and materializations end to end."""

import duckdb
import dagster as dg
import pyarrow.parquet as pq

from ringrift_assets import build_definitions, defs
import json

import numpy as np

from ringrift_assets.definitions import ASSETS, CHECKS
from ringrift_ml import lake
from ringrift_assets.partitions import board_players, partition_key
from ringrift_assets.resources import LakeResource
from ringrift_assets.run import main as pipeline_main


def test_graph_snapshot():
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == ["calibration_report", "candidate_model", "elo_ratings", "games_merged", "heuristic_weights",
                    "lake_catalog", "selfplay_games", "training_samples"]
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert checks == ["candidate_model:candidate_model_sanity", "games_merged:games_merged_quality",
                      "training_samples:training_samples_quality"]
    assert all(graph.get_check_spec(k).blocking for k in graph.asset_check_keys)
    assert sorted(board_players.get_partition_keys()) == sorted(
        f"{b}|{n}" for b in ("hex8", "hexagonal", "square19", "square8") for n in "234"
    )
    for key in keys:
        if key == "lake_catalog":
            continue
        assert graph.get(dg.AssetKey(key)).partitions_def == board_players
    assert graph.get(dg.AssetKey("lake_catalog")).partitions_def is None
    parents = {k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
               for k in graph.get_all_asset_keys()}
    assert parents == {"selfplay_games": [], "games_merged": ["selfplay_games"],
                       "training_samples": ["games_merged"], "candidate_model": ["training_samples"],
                       "calibration_report": ["candidate_model"], "heuristic_weights": [],
                       "elo_ratings": ["candidate_model", "heuristic_weights"],
                       "lake_catalog": ["calibration_report", "candidate_model", "elo_ratings", "games_merged",
                                        "training_samples"]}
    assert sorted(s.name for s in repo.sensor_defs) == ["landing_sensor"]
    assert sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) == [
        "merge_landed_games", "pipeline"]
    assert partition_key("square8", 2) == "square8|2"


def test_storage_root_is_not_read_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("RINGRIFT_STORAGE", str(tmp_path / "envroot"))
    assert LakeResource().path() == (tmp_path / "envroot").resolve()
    assert LakeResource(root=str(tmp_path / "x")).path() == (tmp_path / "x").resolve()


def _materialize(root, key="square8|2", games=3, instance=None):
    return dg.materialize(
        [*ASSETS, *CHECKS], partition_key=key, resources={"lake_root": LakeResource(root=str(root))}, instance=instance,
        run_config={"ops": {"selfplay_games": {"config": {"games": games, "players": ["heuristic", "random"]}},
                            "candidate_model": {"config": {"epochs": 3, "hidden": 32}},
                            "heuristic_weights": {"config": {"generations": 1, "popsize": 2, "games_per_eval": 1}},
                            "elo_ratings": {"config": {"games_per_pairing": 1, "search_player": "mcts:8"}}}},
    )


def test_square8_2p_end_to_end_and_rematerialize_has_no_duplicates(tmp_path):
    with dg.instance_for_test() as inst:
        r = _materialize(tmp_path, instance=inst)
        assert r.success
        md = {e.asset_key.to_user_string(): e.materialization.metadata for e in r.get_asset_materialization_events()}
        assert md["selfplay_games"]["games"].value == 3
        assert md["games_merged"]["rows_out"].value == 3
        assert md["games_merged"]["duplicates_removed"].value == 0
        assert "code_version" in md["games_merged"] and "input_data_versions" in md["games_merged"]
        assert "config_hash" in md["selfplay_games"]
        assert _materialize(tmp_path, instance=inst).success
        checks = {e.asset_check_key.name: e.passed for e in r.get_asset_check_evaluations()}
        assert checks == {"games_merged_quality": True, "training_samples_quality": True,
                          "candidate_model_sanity": True}
        assert md["candidate_model"]["input_data_versions"].value["training_samples_npz"]
        assert "training_curve" in md["candidate_model"] and "reliability_diagram" in md["calibration_report"]
        assert 0 <= md["calibration_report"]["ece"].value <= 1
        assert md["training_samples"]["samples"].value > 0
        assert md["training_samples"]["input_data_versions"].value["games_merged"]
    games = pq.read_table(tmp_path / "lake/games_merged/board=square8/players=2/data.parquet")
    assert games.num_rows == 3 and len(set(games.column("game_id").to_pylist())) == 3
    con = duckdb.connect(str(tmp_path / "ringrift.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT game_id) FROM games").fetchall() == [(3, 3)]
    n_moves = con.execute("SELECT count(*) FROM moves").fetchall()[0][0]
    assert n_moves == sum(games.column("length").to_pylist())
    n_samples = con.execute("SELECT count(*) FROM samples").fetchall()[0][0]
    z = np.load(tmp_path / "exports/square8_2p.npz")
    assert z["features"].shape[0] == n_samples == z["value"].shape[0]
    assert z["legal_offsets"][-1] == z["legal_moves"].shape[0] == z["policy"].shape[0]
    assert json.loads(str(z["schema"]))["board"] == "square8"
    # Policy targets sum to 1 per sample; values are outcomes for the mover.
    sums = np.add.reduceat(z["policy"], z["legal_offsets"][:-1])
    assert np.allclose(sums, 1, atol=1e-5)
    assert set(np.unique(z["value"])) <= {-1.0, 1.0}
    assert con.execute("SELECT count(*) FROM models").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM calibration WHERE ece BETWEEN 0 AND 1").fetchall() == [(1,)]
    assert (tmp_path / "models/square8_2p/candidate.pt").is_file()
    elo = dict(con.execute("SELECT player, games FROM elo").fetchall())
    assert sorted(elo) == ["candidate", "heuristic", "mcts:8", "random"] and set(elo.values()) == {3}
    assert con.execute("SELECT elo, se FROM elo WHERE player = 'random'").fetchall() == [(0.0, 0.0)]
    tuned = json.loads((tmp_path / "weights/heuristic.json").read_text())["tuned"]
    assert list(tuned) == ["square8|2"]
    assert (tmp_path / "models/square8_2p/reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_failing_check_blocks_training_samples(tmp_path, sq8_records):
    """A game written around the landing zone with a false winner: the games check
    fails (sampled replay), and neither samples nor model are built in that run."""
    lake.write_games(tmp_path, sq8_records[:2], "selfplay")
    forged = dict(sq8_records[2], winner=3 - sq8_records[2]["winner"], ranks=None)
    lake.write_games(tmp_path, [forged], "landed-forged")
    r = dg.materialize(
        [a for a in ASSETS if a.key.to_user_string() not in ("selfplay_games", "heuristic_weights")] + CHECKS,
        partition_key="square8|2", resources={"lake_root": LakeResource(root=str(tmp_path))},
        raise_on_error=False,
    )
    evals = {e.asset_check_key.name: e for e in r.get_asset_check_evaluations()}
    assert evals["games_merged_quality"].passed is False
    desc = evals["games_merged_quality"].description
    assert "replay" in desc and sq8_records[2]["gameId"] in desc
    done = {e.asset_key.to_user_string() for e in r.get_asset_materialization_events()}
    assert done == {"games_merged"}
    assert not (tmp_path / "lake/training_samples").exists() and not (tmp_path / "models").exists()
    started = {e.step_key for e in r.all_events if e.event_type_value == "STEP_START"}
    assert not r.success and not started & {"training_samples", "candidate_model", "calibration_report",
                                            "elo_ratings"}


def test_bad_config_fails_naming_the_partition(tmp_path):
    r = dg.materialize(
        ASSETS[:1], partition_key="hex8|3", resources={"lake_root": LakeResource(root=str(tmp_path))},
        run_config={"ops": {"selfplay_games": {"config": {"games": 1, "players": ["heuristic", "random"]}}}},
        raise_on_error=False,
    )
    assert not r.success
    failure = next(e for e in r.all_events if e.is_step_failure)
    assert "hex8|3" in str(failure.event_specific_data.error)


def test_downstream_asset_without_its_input_names_partition_and_file(tmp_path):
    for name in ("training_samples", "candidate_model", "calibration_report", "elo_ratings"):
        asset = next(a for a in ASSETS if a.key.to_user_string() == name)
        r = dg.materialize([asset], partition_key="hex8|4", resources={"lake_root": LakeResource(root=str(tmp_path))},
                           raise_on_error=False)
        error = str(next(e for e in r.all_events if e.is_step_failure).event_specific_data.error)
        assert "hex8|4" in error and "does not exist" in error, (name, error)


def test_pipeline_command_runs_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert pipeline_main(["--storage", str(tmp_path), "--partitions", "hex8|2", "--games", "2"]) == 0
    out = capsys.readouterr().out
    assert "ringrift.duckdb" in out and "dagster dev" in out
    assert (tmp_path / "lake/games_merged/board=hex8/players=2/data.parquet").is_file()
    assert (tmp_path / "dagster_home").is_dir()


def test_build_definitions_binds_the_root(tmp_path):
    d = build_definitions(str(tmp_path))
    assert d.resources["lake_root"].root == str(tmp_path)
