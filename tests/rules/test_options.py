"""Rules options: validation, serialization, and what each variant changes, on small
constructed positions (canonical rule and variant side by side)."""

import pytest

from ringrift_ml.rules import GameState, Move, apply_move, legal_moves, new_game
from ringrift_ml.rules.options import CANONICAL_RULES, GOLDEN_GAME_RULES, describe, normalize_options

from ..positions import position


def _state(stacks, markers=None, player=1, phase="movement", hands=(0, 0), **options):
    return position("square8", stacks, markers, player=player, phase=phase, hands=hands, rules_options=options)


def _types(state):
    return sorted(m.type for m in legal_moves(state))


# ---- validation and serialization -------------------------------------------------
def test_defaults_are_canonical_and_round_trip():
    s = new_game("square8", 2)
    assert s.rules_options == CANONICAL_RULES
    g = new_game("hex8", 2, rules_options=GOLDEN_GAME_RULES)
    assert g.rules_options == {**CANONICAL_RULES, **GOLDEN_GAME_RULES}
    back = GameState.from_json(g.to_json())
    assert back.rules_options == g.rules_options and back == g
    # Options passed on loading override what the state carries.
    assert GameState.from_json(g.to_json(), {"lpsCountsRecovery": True}).rules_options["lpsCountsRecovery"]


@pytest.mark.parametrize(
    "options, field",
    [
        ({"territoryRepresentation": "stacks"}, "rules_options.territoryRepresentation"),
        ({"lpsCountsRecovery": "no"}, "rules_options.lpsCountsRecovery"),
        ({"lpsRoundsRequired": 0}, "rules_options.lpsRoundsRequired"),
        ({"captureCollapsesScoreTerritory": 1}, "rules_options.captureCollapsesScoreTerritory"),
        ({"fastMode": True}, "unknown option"),
    ],
)
def test_bad_options_are_named(options, field):
    with pytest.raises(ValueError, match=field):
        new_game("square8", 2, rules_options=options)


def test_bad_options_in_a_serialized_state_name_its_field():
    d = new_game("square8", 2).to_json()
    d["rulesOptions"]["autoAdvanceAfterLineElimination"] = "yes"
    with pytest.raises(ValueError, match="rulesOptions.autoAdvanceAfterLineElimination"):
        GameState.from_json(d)
    d["rulesOptions"] = ["swap"]
    with pytest.raises(ValueError, match="rulesOptions: expected an object"):
        GameState.from_json(d)


def test_keywords_and_options_must_agree():
    assert new_game("square8", 2, swap_rule=True, rules_options={"swapRuleEnabled": True}).rules_options[
        "swapRuleEnabled"
    ]
    with pytest.raises(ValueError, match="swap_rule: True contradicts rules_options.swapRuleEnabled"):
        new_game("square8", 2, swap_rule=True, rules_options={"swapRuleEnabled": False})
    with pytest.raises(ValueError, match="placed_stack_must_move: expected true or false"):
        new_game("square8", 2, placed_stack_must_move="no")
    with pytest.raises(ValueError, match="rules_options.swapRuleEnabled: the pie rule exists only"):
        new_game("square8", 3, rules_options={"swapRuleEnabled": True})


def test_describe_names_profiles():
    assert describe(normalize_options(GOLDEN_GAME_RULES)) == "golden"
    assert describe(normalize_options({"lpsRoundsRequired": 2})) == "canonical"
    assert describe(normalize_options({"lpsCountsRecovery": True})) == '{"lpsCountsRecovery": true}'


# ---- territoryRepresentation -------------------------------------------------------
def test_region_with_a_buried_ring_of_the_mover():
    """A corner cell walled in by player 2's markers holds a player-1 stack with a
    buried player-2 ring.  Canonical: no player-2 stack in it, so player 2 may claim it.
    ``rings``: player 2's ring is in it, so it is represented."""
    stacks = {"0,0": [2, 1], "5,5": [2]}
    markers = {"1,0": 2, "0,1": 2}
    canonical = _state(stacks, markers, player=2, phase="territory_processing")
    regions = [m for m in legal_moves(canonical) if m.type == "choose_territory_option"]
    assert [sorted(",".join(map(str, p)) for p in m.region) for m in regions] == [["0,0"]]
    by_rings = _state(stacks, markers, player=2, phase="territory_processing", territoryRepresentation="rings")
    assert _types(by_rings) == ["no_territory_action"]


def test_region_against_a_player_without_stacks():
    """Player 2 controls no stack (its only ring is buried) but has rings in hand.
    Canonical: player 2 has a ring on the board and none of the two components holds
    a player-2 stack, so player 1 may claim either.  ``rings``: only player 1 controls a
    stack, and every component holds a player-1 ring."""
    stacks = {"0,0": [1], "5,5": [2, 1]}
    markers = {"1,0": 1, "0,1": 1}
    canonical = _state(stacks, markers, phase="territory_processing", hands=(0, 11))
    assert _types(canonical).count("choose_territory_option") == 2
    by_rings = _state(stacks, markers, phase="territory_processing", hands=(0, 11), territoryRepresentation="rings")
    assert _types(by_rings) == ["no_territory_action"]


# ---- captureCollapsesScoreTerritory ------------------------------------------------
CAPTURE = {"type": "overtaking_capture", "player": 1, "from": {"x": 0, "y": 0},
           "captureTarget": {"x": 2, "y": 0}, "to": {"x": 3, "y": 0}}
MOVE = {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 7}, "to": {"x": 2, "y": 7}}


@pytest.mark.parametrize("scored", [True, False])
def test_capture_over_an_own_marker(scored):
    s = _state({"0,0": [1], "2,0": [2], "0,7": [1]}, {"1,0": 1, "1,7": 1},
               captureCollapsesScoreTerritory=scored)
    after = apply_move(s, Move.from_json(CAPTURE))
    assert after.collapsed() == {"1,0": 1}  # the marker collapses either way
    assert after.territory(1) == (1 if scored else 0)
    # A plain move over an own marker is scored under both rules.
    s2 = _state({"0,0": [1], "2,0": [2], "0,7": [1]}, {"1,0": 1, "1,7": 1},
                captureCollapsesScoreTerritory=scored)
    moved = apply_move(s2, Move.from_json(MOVE))
    assert moved.collapsed() == {"1,7": 1} and moved.territory(1) == 1


# ---- autoAdvanceAfterLineElimination -----------------------------------------------
def _line_state(extra_markers=(), **options):
    markers = {f"{x},0": 1 for x in range(4)}
    markers.update({k: 1 for k in extra_markers})
    return _state({"5,5": [1, 1], "7,7": [2]}, markers, phase="line_processing", hands=(0, 5), **options)


def _collapse_and_pay(s, row=0):
    line = next(m for m in legal_moves(s) if m.type == "process_line" and m.to[1] == row)
    s = apply_move(s, line)
    (pay,) = [m for m in legal_moves(s) if m.type == "eliminate_rings_from_stack"]
    return apply_move(s, pay)


def test_line_elimination_then_bookkeeping_or_end_of_turn():
    canonical = _collapse_and_pay(_line_state())
    assert (canonical.current_player, canonical.current_phase) == (1, "line_processing")
    assert _types(canonical) == ["no_line_action"]
    auto = _collapse_and_pay(_line_state(autoAdvanceAfterLineElimination=True))
    assert (auto.current_player, auto.current_phase) == (2, "ring_placement")
    assert auto.ply == canonical.ply and auto.eliminated_rings(1) == canonical.eliminated_rings(1) == 1


def test_line_elimination_with_a_line_left_stays_in_the_line_phase():
    auto = _collapse_and_pay(_line_state(["0,2", "1,2", "2,2", "3,2"], autoAdvanceAfterLineElimination=True))
    assert (auto.current_player, auto.current_phase) == (1, "line_processing")
    assert "process_line" in _types(auto)
