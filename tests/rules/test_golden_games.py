"""RingRift's golden games replay move by move, with their declared results.

They were recorded by an engine whose rules differ from the reference games' in four
places; records in RingRift's export format replay under those rules
(``options.GOLDEN_GAME_RULES``) automatically.  Each of the four is needed by some
golden game and contradicted by some reference game: both directions are tested
here, so neither rule set can quietly absorb the other.
"""

import pytest

from ringrift_ml.rules.options import CANONICAL_RULES, GOLDEN_GAME_RULES
from ringrift_ml.rules.records import is_golden_format, load_json, replay_record

from ..conftest import CONFORMANCE

FILES = sorted((CONFORMANCE / "golden-games").glob("*.json"))
FULL_GAME = CONFORMANCE / "golden-games" / "fullgame_hex8_2p_f6bb4e8e.json"


def test_golden_games_present():
    assert len(FILES) == 5


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_game(path):
    record = load_json(path)
    assert is_golden_format(record)
    verdict = replay_record(record, path.name)
    assert verdict.ok, verdict.message
    assert verdict.moves == len(record["moves"])
    assert verdict.rules == GOLDEN_GAME_RULES
    if record.get("winner") is not None:
        assert verdict.complete and verdict.winner == record["winner"]


def test_full_golden_game_ends_on_its_last_move_with_its_final_score():
    record = load_json(FULL_GAME)
    verdict = replay_record(record)
    s = verdict.final_state
    assert s.is_over and s.winner == 2 and s.ply == len(record["moves"])
    # Player 1 had only a recovery slide for three rounds, which the recording engine
    # does not count as a real action: player 2 wins by last player standing.
    assert s.victory_reason == "last_player_standing"
    score = record["finalScore"]
    for p in (1, 2):
        assert s.eliminated_rings(p) == score["ringsEliminated"][str(p)]
        assert s.territory(p) == score["territorySpaces"][str(p)]
        assert s.rings_in_hand(p) == score["ringsRemaining"][str(p)]


def test_a_wrong_final_score_fails_the_replay():
    record = load_json(FULL_GAME)
    record["finalScore"]["territorySpaces"]["2"] = 8  # the canonical tally
    verdict = replay_record(record)
    assert not verdict.ok and "finalScore.territorySpaces[2]: record 8, replay 5" in verdict.message


# For each rule of the golden games: a golden game that needs it, and where it fails
# when that rule alone is set back to the canonical one.
NEEDED_BY = {
    "placedStackMustMove": ("captures_square8_2p_272ed96f", "move 15: illegal move move_stack"),
    "territoryRepresentation": ("fullgame_hex8_2p_f6bb4e8e", "move 47: illegal move no_territory_action"),
    "autoAdvanceAfterLineElimination": ("fullgame_hex8_2p_f6bb4e8e", "move 118: illegal move no_placement_action"),
    "captureCollapsesScoreTerritory": ("fullgame_hex8_2p_f6bb4e8e", "finalScore.territorySpaces[1]: record 1, replay 3"),
}


def test_every_golden_rule_is_listed():
    assert set(NEEDED_BY) == set(GOLDEN_GAME_RULES)


@pytest.mark.parametrize("option", sorted(NEEDED_BY))
def test_each_golden_rule_is_needed(option):
    stem, failure = NEEDED_BY[option]
    record = load_json(CONFORMANCE / "golden-games" / f"{stem}.json")
    record["rulesOptions"] = {**GOLDEN_GAME_RULES, option: CANONICAL_RULES[option]}
    verdict = replay_record(record)
    assert not verdict.ok and failure in verdict.message, verdict.message


# For each rule of the golden games: a reference game that contradicts it.
CONTRADICTED_BY = {
    "placedStackMustMove": ("square8_2p_seed0001", "step 14: legal moves differ"),
    "territoryRepresentation": ("square8_2p_seed0003", "step 75: legal moves differ"),
    "autoAdvanceAfterLineElimination": ("square8_3p_seed0004", "step 37: engine has player 3 in ring_placement"),
    "captureCollapsesScoreTerritory": ("square8_2p_seed0001", "player 1 hand/eliminated/territory (0, 19, 8), record (0, 19, 9)"),
}


@pytest.mark.parametrize("option", sorted(CONTRADICTED_BY))
def test_each_golden_rule_breaks_a_reference_game(option):
    assert set(CONTRADICTED_BY) == set(GOLDEN_GAME_RULES)
    stem, failure = CONTRADICTED_BY[option]
    record = load_json(CONFORMANCE / "reference-games" / f"{stem}.json.gz")
    record["rulesOptions"] = {**(record.get("rulesOptions") or {}), option: GOLDEN_GAME_RULES[option]}
    verdict = replay_record(record)
    assert not verdict.ok and failure in verdict.message, verdict.message


def test_recovery_is_no_real_action_in_the_golden_game_either():
    """Both rule sets agree here: counting an available recovery slide as a real action
    keeps the full golden game from ending (player 1 could only recover)."""
    record = load_json(FULL_GAME)
    record["rulesOptions"] = {**GOLDEN_GAME_RULES, "lpsCountsRecovery": True}
    verdict = replay_record(record)
    assert not verdict.ok and "record says player 2 won but the game is not over" in verdict.message
    assert CANONICAL_RULES["lpsCountsRecovery"] is False and "lpsCountsRecovery" not in GOLDEN_GAME_RULES


def test_profiles_override_the_automatic_choice():
    record = load_json(FULL_GAME)
    canonical = replay_record(record, profile="canonical")
    assert not canonical.ok and canonical.rules == {}
    assert "move 47: illegal move no_territory_action" in canonical.message
    # A record that names its own rules is replayed under them, format or not.
    record["rulesOptions"] = {}
    assert replay_record(record).message == canonical.message
    with pytest.raises(ValueError, match="rules profile"):
        replay_record(record, profile="typescript")


def test_reference_games_are_not_golden_format():
    rec = load_json(CONFORMANCE / "reference-games" / "square8_2p_seed0001.json.gz")
    assert not is_golden_format(rec)
    assert replay_record(rec).rules == {}
