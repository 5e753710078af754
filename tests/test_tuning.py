"""CMA-ES tuning: runs, resumes, records its history and writes loadable weights."""

import json

import pytest

from ringrift_ml.ai.heuristic import load_weights, packaged_weights_path
from ringrift_ml.cli import main
from ringrift_ml.tuning import TuneConfig, save_tuned, tune


def test_tune_resume_and_save(tmp_path):
    cfg = TuneConfig(board="hex8", players=2, generations=2, popsize=2, games_per_eval=2, opponents=("random",))
    r1 = tune(cfg, tmp_path, progress=False)
    assert r1["generations"] == 2 and len(r1["history"]) == 2
    assert all(0.0 <= h["best_score"] <= 1.0 and h["mean_score_se"] >= 0 for h in r1["history"])
    # Resuming with a larger budget continues from the saved state.
    r2 = tune(TuneConfig(**{**cfg.__dict__, "generations": 3}), tmp_path, progress=False)
    assert r2["history"][:2] == r1["history"] and len(r2["history"]) == 3
    svg = (tmp_path / "cma_hex8_2p_history.svg").read_text()
    assert "<svg" in svg and "CMA-ES generation" in svg and "±1 SE" in svg
    # A new file starts from the packaged defaults (named, so the caller's storage root
    # and environment cannot leak in).
    out = save_tuned(r2, tmp_path / "w.json", version="test", base=packaged_weights_path())
    entry = load_weights("hex8", 2, out)
    assert entry["version"] == "test" and set(entry["weights"]) == set(r2["mean_weights"])
    # Other boards still fall back to the defaults.
    assert load_weights("square8", 2, out)["version"] == "v1"


def test_resume_refuses_a_different_config(tmp_path):
    cfg = TuneConfig(board="hex8", generations=1, popsize=2, games_per_eval=1, opponents=("random",))
    tune(cfg, tmp_path, progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        tune(TuneConfig(**{**cfg.__dict__, "popsize": 3}), tmp_path, progress=False)


def test_fitness_games_open_at_random_and_old_logs_resume_as_played(tmp_path, monkeypatch):
    """Every fitness game opens with ``random_opening`` random decisions, so a candidate
    meets the nearly deterministic heuristic in different games, not the same few lines
    (its scores over many games vary); a log written before the field existed (no
    ``random_opening`` in its config) resumes only as it was played, without them."""
    import ringrift_ml.tuning as tuning

    seen = []
    real = tuning.play_game

    def spy(*a, **k):
        seen.append(k.get("random_opening"))
        return real(*a, **k)

    monkeypatch.setattr(tuning, "play_game", spy)
    cfg = TuneConfig(board="square8", players=2, generations=1, popsize=2, games_per_eval=8,
                     opponents=("heuristic",))
    w = tuning.weight_vector(load_weights("square8", 2, packaged_weights_path()))
    # The packaged vector against itself: with openings its games differ and the score
    # is not that of two repeated lines.
    assert tuning.score_weights(w, cfg, seed=1) not in (0.0, 1.0)
    assert seen and set(seen) == {2}
    monkeypatch.undo()

    old = TuneConfig(board="hex8", generations=1, popsize=2, games_per_eval=1, opponents=("random",),
                     random_opening=0)
    tune(old, tmp_path, progress=False)
    state = tmp_path / "cma_hex8_2p_state.json"
    doc = json.loads(state.read_text())
    del doc["config"]["random_opening"]  # as written before the field existed
    state.write_text(json.dumps(doc))
    assert len(tune(TuneConfig(**{**old.__dict__, "generations": 2}), tmp_path, progress=False)["history"]) == 2
    with pytest.raises(ValueError, match="different configuration"):
        tune(TuneConfig(**{**old.__dict__, "generations": 3, "random_opening": 2}), tmp_path, progress=False)


def test_the_packaged_opponent_plays_the_packaged_weights_whatever_the_file(tmp_path):
    """``packaged`` in the pool is the packaged defaults; ``heuristic`` the weights the
    tuned ones would replace (the file's entry)."""
    from ringrift_ml.tuning import _opponent

    result = {"board": "hex8", "players": 2, "generations": 1, "best_score": 0.5,
              "mean_weights": {"eliminated": 7.0}}
    tuned = save_tuned(result, tmp_path / "w.json", version="mine", base=packaged_weights_path())
    packaged = load_weights("hex8", 2, packaged_weights_path())
    cur = _opponent("heuristic", "hex8", 2, tuned).evaluator
    pk = _opponent("packaged", "hex8", 2, tuned).evaluator
    from ringrift_ml.ai._k_features import FEATURE_NAMES

    i = list(FEATURE_NAMES).index("eliminated")
    assert cur.version == "mine" and pk.version == packaged["version"]
    assert pk.w[i] == packaged["weights"].get("eliminated", 0.0) != cur.w[i] == 7.0


def test_bad_config():
    with pytest.raises(ValueError, match="random, heuristic, packaged"):
        TuneConfig(board="hex8", opponents=("minimax",))
    with pytest.raises(ValueError, match="random_opening"):
        TuneConfig(board="hex8", random_opening=-1)
    with pytest.raises(ValueError, match="opponents"):
        TuneConfig(board="hex8", opponents=("stockfish",))
    with pytest.raises(ValueError, match="popsize"):
        TuneConfig(board="hex8", popsize=1)


def test_cli_tune(tmp_path, capsys):
    args = ["tune", "--board", "square8", "--generations", "1", "--popsize", "2", "--games", "1", "--opponents",
            "random", "--workdir", str(tmp_path / "t"), "--weights-out", str(tmp_path / "w.json"), "--no-progress"]
    assert main(args + ["--confirm-games", "0"]) == 0  # no test asked for: written
    out = json.loads(capsys.readouterr().out)
    assert out["generations"] == 1 and (tmp_path / "w.json").exists() and out["confirmation"] is None
    before = (tmp_path / "w.json").read_bytes()
    assert main(args + ["--confirm-games", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    conf = out["confirmation"]
    assert conf["games"] <= 20 and (out["weights_file"] is not None) == conf["accepted"]
    if not conf["accepted"]:
        assert (tmp_path / "w.json").read_bytes() == before  # noise does not overwrite the current weights
    assert out["weights_version"] is None  # a file of the caller's: no lake to record it in


def test_cli_tune_keeps_each_result_as_a_version_in_the_storage_roots_lake(tmp_path, capsys):
    """Without ``--weights-out`` the tuned weights go to the storage root, and each result,
    accepted or not, is a ``lake.heuristic_weights`` row with its version file, as the
    ``heuristic_weights`` asset records it."""
    from ringrift_ml.lake import LakeStore

    root = tmp_path / "root"
    args = ["tune", "--board", "hex8", "--generations", "1", "--popsize", "2", "--games", "1", "--opponents",
            "random", "--storage", str(root), "--no-progress"]
    assert main(args + ["--confirm-games", "0"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["weights_file"] == str(root / "weights" / "heuristic.json")
    rows = LakeStore.open(root).query("SELECT * FROM lake.heuristic_weights").to_pylist()
    assert len(rows) == 1 and rows[0]["weights_version"] == first["weights_version"]
    assert (rows[0]["board"], rows[0]["players"], rows[0]["accepted"]) == ("hex8", 2, True)
    config = json.loads(rows[0]["config"])  # a JSON column
    assert (root / rows[0]["path"]).is_file() and config["confirm_max_games"] == 0
    assert config["popsize"] == 2 and config["opponents"] == ["random"]
    # ... the keys the heuristic_weights asset records for the same settings.
    from ringrift_assets.weights import HeuristicWeightsConfig

    asset = HeuristicWeightsConfig(generations=1, popsize=2, games_per_eval=1, opponents=["random"],
                                   confirm_max_games=0)
    assert config == asset.model_dump()
    from ringrift_ml.lake.weights import weights_file

    assert weights_file(LakeStore.open(root), "hex8", 2, "tuned") == root / rows[0]["path"]


def test_the_shell_plays_the_storage_roots_tuned_file_and_the_library_the_file_it_is_given(tmp_path, monkeypatch):
    """``ringrift`` commands look weights up (flag, environment, the storage root's tuned
    file, the packaged defaults); library calls never do: without a file they play the
    packaged defaults, whatever the environment says."""
    from types import SimpleNamespace

    from ringrift_ml.ai.heuristic import packaged_weights_path
    from ringrift_ml.cli import _weights_arg

    monkeypatch.delenv("RINGRIFT_HEURISTIC_WEIGHTS", raising=False)
    monkeypatch.setenv("RINGRIFT_STORAGE", str(tmp_path))
    assert _weights_arg(SimpleNamespace()) == str(packaged_weights_path())
    result = {"board": "hex8", "players": 2, "generations": 1, "best_score": 0.5,
              "mean_weights": {"eliminated": 1.0}}
    tuned = tmp_path / "weights" / "heuristic.json"
    save_tuned(result, tuned, version="mine")
    assert _weights_arg(SimpleNamespace()) == str(tuned.resolve())
    other = tmp_path / "other"
    assert _weights_arg(SimpleNamespace(storage=str(other))) == str(packaged_weights_path())
    assert _weights_arg(SimpleNamespace(weights=str(other / "w.json"))) == str(other / "w.json")
    monkeypatch.setenv("RINGRIFT_HEURISTIC_WEIGHTS", str(tmp_path / "env.json"))
    assert _weights_arg(SimpleNamespace()) == str(tmp_path / "env.json")
    assert load_weights("hex8", 2, tuned)["version"] == "mine"
    assert load_weights("hex8", 2)["version"] != "mine"  # the library: packaged defaults


@pytest.mark.parametrize("players", [2, 3])
def test_tuned_weights_replace_the_current_ones_only_after_a_confirming_test(tmp_path, players):
    from ringrift_ml.ai.heuristic import load_weights, packaged_weights_path
    from ringrift_ml.tuning import confirm_weights

    current = packaged_weights_path()
    good = load_weights("hex8", players, current)["weights"]
    bad = tmp_path / "bad.json"  # every feature's sign flipped: plays to lose
    save_tuned({"board": "hex8", "players": players, "generations": 1, "best_score": 0.0,
                "mean_weights": {k: -v for k, v in good.items()}}, bad, base=current)
    same = confirm_weights("hex8", players, current, current, max_games=24, min_games=8)
    assert not same["accepted"] and same["games"] <= 24  # no better than itself: the current weights stay
    worse = confirm_weights("hex8", players, bad, current, max_games=24, min_games=8)
    assert not worse["accepted"] and worse["score"] < 0.5
    better = confirm_weights("hex8", players, current, bad, max_games=60, min_games=8)
    assert better["accepted"] and better["ci95"][0] > 0.5
