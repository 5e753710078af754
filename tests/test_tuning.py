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
    assert all(0.0 <= h["best_score"] <= 1.0 for h in r1["history"])
    # Resuming with a larger budget continues from the saved state.
    r2 = tune(TuneConfig(**{**cfg.__dict__, "generations": 3}), tmp_path, progress=False)
    assert r2["history"][:2] == r1["history"] and len(r2["history"]) == 3
    assert (tmp_path / "cma_hex8_2p_history.svg").read_text().startswith("<svg")
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


def test_bad_config():
    with pytest.raises(ValueError, match="opponents"):
        TuneConfig(board="hex8", opponents=("stockfish",))
    with pytest.raises(ValueError, match="popsize"):
        TuneConfig(board="hex8", popsize=1)


def test_cli_tune(tmp_path, capsys):
    code = main(["tune", "--board", "square8", "--generations", "1", "--popsize", "2", "--games", "1",
                 "--opponents", "random", "--workdir", str(tmp_path / "t"), "--weights-out",
                 str(tmp_path / "w.json"), "--no-progress"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["generations"] == 1 and (tmp_path / "w.json").exists()


def test_tuned_file_in_storage_root_is_what_players_read(tmp_path, monkeypatch):
    from ringrift_ml.ai.heuristic import weights_path

    monkeypatch.delenv("RINGRIFT_HEURISTIC_WEIGHTS", raising=False)
    monkeypatch.setenv("RINGRIFT_STORAGE", str(tmp_path))
    assert weights_path().name == "heuristic.json" and tmp_path not in weights_path().parents
    result = {"board": "hex8", "players": 2, "generations": 1, "best_score": 0.5,
              "mean_weights": {"eliminated": 1.0}}
    save_tuned(result, tmp_path / "weights" / "heuristic.json", version="mine")
    assert weights_path() == tmp_path / "weights" / "heuristic.json"
    assert load_weights("hex8", 2)["version"] == "mine"
