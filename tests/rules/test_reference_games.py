"""Every shared reference game replays with the recorded player, phase and legal-move
set at each step, and ends with the recorded board, counters and winner.

Games listed in ``KNOWN_DIVERGENT`` still differ from RingRift's reference engine;
each entry says where.  They run anyway: the test fails if one of them starts to
replay cleanly (so the list cannot go stale) or diverges earlier than recorded.
"""

import pytest

from ringrift_ml.rules.records import load_json, replay_record

from ..conftest import CONFORMANCE

FILES = sorted((CONFORMANCE / "reference-games").glob("*.json.gz"))

# game -> (first step that differs, what differs).  See docs/rules-engine.md.
KNOWN_DIVERGENT = {
    "hex8_3p_seed0004": (157, "a recovery slide pays from another stack than the record's (extraction order)"),
}


def test_reference_games_present():
    assert len(FILES) == 24


@pytest.mark.parametrize("path", FILES, ids=[p.name.split(".")[0] for p in FILES])
def test_reference_game(path):
    name = path.name.split(".")[0]
    verdict = replay_record(load_json(path), path.name)
    if name in KNOWN_DIVERGENT:
        step, what = KNOWN_DIVERGENT[name]
        assert not verdict.ok, f"{name} now replays cleanly: remove it from KNOWN_DIVERGENT"
        assert verdict.moves >= step, f"{name} now diverges earlier, at step {verdict.moves}: {verdict.message}"
        pytest.xfail(f"diverges at step {verdict.moves}: {what}")
    assert verdict.ok, verdict.message
    assert verdict.complete
