"""The target-signal benchmark runs end to end on a tiny setting and refuses bad input
(its figures are measurements, printed, never asserted here)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_target_signal_prints_one_line_per_spec_and_noise(capsys):
    bench = _load("target_signal")
    assert bench.main(["--specs", "mcts:8,gumbel:8", "--source", "heuristic", "--source-games", "2",
                       "--positions", "3", "--seeds", "3", "--noise", "both", "--no-progress"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["spec"], x["noise"]) for x in lines] == [("mcts:8", "off"), ("mcts:8", "on"), ("gumbel:8", "off"),
                                                        ("gumbel:8", "on")]
    for x in lines:
        assert x["positions"] == 3 and 0 <= x["best_agree"] <= 1 and x["entropy"] >= 0 and x["kl_prior"] >= 0


@pytest.mark.parametrize("args,why", [(["--seeds", "2"], "--seeds"), (["--specs", "chess:3"], "unknown engine"),
                                      (["--set", "c_pucct=2"], "--set"), (["--specs", "heuristic"], "does not search")])
def test_target_signal_names_bad_input(args, why, capsys):
    bench = _load("target_signal")
    base = ["--source", "heuristic", "--source-games", "1", "--positions", "2", "--no-progress"]
    assert bench.main(base + args) == 2
    assert why in capsys.readouterr().err
