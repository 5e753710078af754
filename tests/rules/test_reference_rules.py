"""Rules that RingRift's reference games define where the rule texts are silent or say
otherwise, each on a small constructed position (evidence: docs/rules-engine.md,
"Rules decisions taken from RingRift's data")."""

from ringrift_ml.rules import GameState, apply_move, legal_moves, new_game

from ..positions import position


def _types(state):
    return sorted({m.type for m in legal_moves(state)})


def _play(state, move_type, **match):
    """Apply the one legal move of ``move_type`` whose fields match ``match``."""
    options = [m for m in legal_moves(state) if m.type == move_type
               and all(getattr(m, k) == v for k, v in match.items())]
    assert len(options) == 1, [str(m) for m in legal_moves(state)]
    return apply_move(state, options[0])


# ---- skip_placement: a stack exactly its height away counts as "can act" ------------
# Player 1's two-ring stack on (0,0) is walled in by collapsed cells except eastwards,
# where (1,0) is empty and a taller-capped player-2 stack stands on ``blocker``.
_REACH_WALLS = {"0,1": 2, "1,1": 2, "3,0": 2, "2,1": 2, "3,1": 2}


def _reach_state(blocker, hands=(3, 0)):
    stacks = {"0,0": [1, 1], blocker: [2, 2, 2], "7,7": [2]}
    return position("square8", stacks, collapsed=_REACH_WALLS, phase="ring_placement", hands=hands)


def test_a_stack_exactly_its_height_away_offers_skip_placement():
    s = _reach_state("2,0")  # two cells east: the stack's height
    assert "skip_placement" in _types(s)
    moved = _play(s, "skip_placement")
    # ... although the stack then has no move or capture (cap 3 beats cap 2):
    assert _types(moved) == ["no_movement_action"]


def test_a_stack_nearer_than_its_height_offers_no_skip():
    s = _reach_state("1,0")  # adjacent: no move, no capture, and not one move away
    assert "skip_placement" not in _types(s)
    assert "place_ring" in _types(s)


# Player 1 also controls a single ring on (7,0), hemmed in by taller-capped stacks.
_HEMMED = {"7,0": [1], "6,0": [2, 2], "6,1": [2, 2], "7,1": [2, 2]}


def test_skip_by_reach_leads_to_an_automatic_forced_elimination():
    s = position("square8", {"0,0": [1, 1], "2,0": [2, 2, 2], **_HEMMED}, collapsed=_REACH_WALLS,
                 phase="ring_placement", hands=(3, 0))
    s = _play(s, "skip_placement")
    s = _play(s, "no_movement_action")
    s = _play(s, "no_line_action")
    assert s.current_phase == "forced_elimination"
    # A legal placement was skipped, so there is no choice: the smallest cap goes.
    assert [(m.type, m.to) for m in legal_moves(s)] == [("forced_elimination", (7, 0))]


def test_forced_elimination_offers_every_stack_when_no_placement_was_possible():
    s = position("square8", {"0,0": [1, 1], "2,0": [2, 2, 2], **_HEMMED}, collapsed=_REACH_WALLS,
                 phase="forced_elimination", hands=(0, 0))
    assert {m.to for m in legal_moves(s)} == {(0, 0), (7, 0)}


# ---- territory regions cut off by collapsed cells alone -----------------------------
def _no_marker_regions(stacks, collapsed, hands=(0, 0, 0)):
    s = position("square8", stacks, collapsed=collapsed, phase="territory_processing", hands=hands)
    return [{",".join(map(str, p)) for p in m.region} for m in legal_moves(s) if m.type == "choose_territory_option"]


_CORNERS = {"1,0": 3, "0,1": 3, "6,0": 3, "7,1": 3, "0,6": 3, "1,7": 3}


def test_without_markers_a_region_is_represented_by_its_stack_controllers():
    # (0,0) holds player 2's stack on top of rings of players 1 and 3: every colour is
    # in it, but only player 2 controls a stack there, so it lacks players 1 and 3.
    regions = _no_marker_regions({"4,4": [1], "0,0": [1, 3, 2], "5,5": [3]}, _CORNERS)
    assert {"0,0"} in regions


def test_without_markers_a_region_holding_two_controllers_is_not_offered():
    # A two-cell pocket (6,7)-(7,7), walled by (5,7), (6,6) and (7,6), holds stacks of
    # players 2 and 3.
    collapsed = {**_CORNERS, "5,7": 3, "6,6": 3, "7,6": 3}
    regions = _no_marker_regions({"4,4": [1], "6,7": [2], "7,7": [3], "0,0": [2]}, collapsed)
    assert {"6,7", "7,7"} not in regions  # lacks player 1 but holds two controllers
    assert {"0,0"} in regions  # one controller: offered
    assert {"7,0"} not in regions  # an empty pocket is never a region here


def test_the_golden_rules_keep_counting_every_ring_colour():
    collapsed = {**_CORNERS}
    s = position("square8", {"4,4": [1], "0,0": [1, 3, 2], "5,5": [3]}, collapsed=collapsed,
                 phase="territory_processing", hands=(0, 0, 0),
                 rules_options={"territoryRepresentation": "rings"})
    assert not [m for m in legal_moves(s) if m.type == "choose_territory_option" and (0, 0) in m.region]


# ---- last player standing: rounds anchored at one seat -----------------------------
# Player 1 has free single rings on (3,3) and (7,0) and, on (0,7), a six-ring stack that
# cannot travel six cells (collapsed cells three away on each of its rays) holding five
# buried rings of player 2.  Player 2 has nothing else, so it never has a placement, a
# move or a capture (with ``marker``, it may recover by sliding its marker).  Playing
# the first legal move, player 1 walks (3,3) east into a line and loses that ring to
# the line's elimination; the ring on (7,0) keeps it a real action
# (``spare=False``: none, see the test of the streak holder that must still act).
def _lps_state(marker=False, spare=True, **options):
    stacks = {"3,3": [1], "0,7": [2, 2, 2, 2, 2, 1], **({"7,0": [1]} if spare else {})}
    walls = {"0,4": 1, "3,4": 1, "3,7": 1}
    return position("square8", stacks, {"6,0": 2} if marker else None, walls,
                    phase="ring_placement", hands=(0, 0), rules_options=options or None)


def _turn_starts_until_over(state, limit=200):
    """Play the first legal move until the game ends; list the player of every turn
    start, the one at which the game ends included."""
    starts = [state.current_player]
    for _ in range(limit):
        if state.is_over:
            return starts, state
        before = state.current_player
        state = apply_move(state, legal_moves(state)[0])
        if state.current_player != before or (state.is_over and state.current_phase == "game_over"
                                              and state.victory_reason == "last_player_standing"):
            starts.append(state.current_player)
    raise AssertionError("game did not end")


def test_last_player_standing_counts_rounds_from_the_first_rotated_turn():
    starts, end = _turn_starts_until_over(_lps_state())
    assert (end.victory_reason, end.winner) == ("last_player_standing", 1)
    # Loaded turn (P1, not counted), then rounds P2,P1 | P2,P1 | P2,P1: three exclusive
    # rounds; the third completes at P2's next turn start, and P1 wins at its own
    # following turn start, before acting.
    assert starts == [1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_a_recovery_slide_is_not_a_real_action():
    starts, end = _turn_starts_until_over(_lps_state(marker=True))
    assert (end.victory_reason, end.winner) == ("last_player_standing", 1)
    assert len(starts) == 9


def test_a_recovery_slide_holds_off_last_player_standing_under_the_variant():
    starts, end = _turn_starts_until_over(_lps_state(marker=True, lpsCountsRecovery=True))
    # Player 2 recovers every turn, so no round is exclusive; the game runs past the
    # ninth turn start and ends otherwise.
    assert end.victory_reason != "last_player_standing" and len(starts) > 9


def test_a_streak_holder_left_with_a_forced_elimination_does_not_win():
    starts, end = _turn_starts_until_over(_lps_state(spare=False))
    # At the turn start where player 1 would win it has only the buried stack, which
    # cannot move: it must eliminate that stack's cap, player 2's rings come on top, and
    # player 2, the only player left with rings, wins by early last player standing.
    assert (end.winner, end.victory_reason) == (2, "early_last_player_standing")
    assert starts[:9] == [1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_the_round_state_survives_json():
    s = _lps_state()
    for _ in range(12):
        s = apply_move(s, legal_moves(s)[0])
    again = GameState.from_json(s.to_json())
    assert again == s and again.to_json()["engineState"] == s.to_json()["engineState"]


def test_a_new_game_does_not_count_its_opening_turn():
    s = new_game("square8", 2)
    assert s.to_json()["engineState"]["lpsAnchor"] == 0


# ---- last player standing: the streak holder must still act -------------------------
# Three players.  Player 3's only stack, on the corner (0,0), holds a ring of player 1
# beneath player 3's one-ring cap and is walled in by collapsed cells; player 1 has
# that buried ring and nothing else, player 2 no ring anywhere (out of the rotation).
# Player 3 has been the only player with a real action for three rounds (rounds open
# at player 1; the third closed at this turn of player 1, already counted), so the next
# turn start, player 3's, is where the reference model declares the win.
def _stuck_leader_state(leader_can_move):
    walls = {"0,1": 3, "1,1": 3} if leader_can_move else {"1,0": 3, "0,1": 3, "1,1": 3}
    engine = {**new_game("square8", 3).to_json()["engineState"],
              "lpsAnchor": 1, "lpsLastSeat": 1, "lpsLeader": 3, "lpsStreak": 3, "lpsLastExclusive": 3}
    return position("square8", {"0,0": [1, 3]}, None, walls, player=1, phase="ring_placement",
                    hands=(0, 0, 0), eliminated=(0, 0, 0), engineState=engine)


def test_a_streak_holder_without_a_real_action_does_not_win_by_last_player_standing():
    starts, end = _turn_starts_until_over(_stuck_leader_state(leader_can_move=False))
    # Player 3 starts its turn with nothing but a forced elimination: no win.  The
    # elimination takes its cap, player 1's ring comes on top, and player 1, the one
    # player left with rings, wins by early last player standing.
    assert (end.winner, end.victory_reason) == (1, "early_last_player_standing")
    assert starts[:2] == [1, 3]


def test_a_streak_holder_with_a_real_action_wins_at_its_turn_start():
    s = _stuck_leader_state(leader_can_move=True)  # (2,0) is open: a two-cell move east
    starts, end = _turn_starts_until_over(s)
    assert (end.winner, end.victory_reason) == (3, "last_player_standing")
    assert starts == [1, 3]
