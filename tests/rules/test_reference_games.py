"""Every shared reference game replays with the recorded player, phase and legal-move
set at each step, and ends with the recorded board, counters and winner."""


import pytest

from ringrift_ml.rules.records import load_json, replay_record

from ..conftest import CONFORMANCE

FILES = sorted((CONFORMANCE / "reference-games").glob("*.json.gz"))

def test_reference_games_present():
    assert len(FILES) == 118


@pytest.mark.parametrize("path", FILES, ids=[p.name.split(".")[0] for p in FILES])
def test_reference_game(path):
    verdict = replay_record(load_json(path), path.name)
    assert verdict.ok, verdict.message
    assert verdict.complete
