"""Strict JSON input: malformed moves and states raise a ValueError naming the field.

Every case here was silently accepted (truncated, dropped) or failed with another
exception type before the input was made strict; the forms RingRift's own data uses
(hex positions with or without z, z null, placeholder ``to`` of moves without a target)
keep parsing.
"""

import copy
import re

import pytest

from ringrift_ml.rules import GameState, Move, board_spec, new_game
from ringrift_ml.rules.move import json_move_key
from ringrift_ml.rules.replay import ReplayError, _quick_fields, replay_moves

from ..positions import position

INF = float("inf")


def _place(**to):
    return {"type": "place_ring", "player": 1, "to": to}


def _raises(field, fn, *args):
    """``fn(*args)`` raises a ValueError whose message starts with ``field``."""
    with pytest.raises(ValueError) as err:
        fn(*args)
    assert str(err.value).startswith(field), str(err.value)
    return str(err.value)


# ---- moves ------------------------------------------------------------------------

_BAD_COORDS = [2.9, 2.0, "0", "2", True, False, None, INF, float("nan"), [1], {"v": 1}, 2**40]


@pytest.mark.parametrize("value", _BAD_COORDS, ids=repr)
@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_move_coordinates_must_be_plain_integers(axis, value):
    if axis == "z" and value is None:
        pytest.skip("z null is RingRift's 'no z' (see test_ringrift_move_forms_still_parse)")
    pos = {"x": 2, "y": 0, "z": -2}
    pos[axis] = value
    move = {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0}, "to": pos}
    msg = _raises("to: ", Move.from_json, move)
    assert ("z must be an integer" if axis == "z" else "position needs integer x and y") in msg or "out of range" in msg
    # The same position as the origin or the capture target names that field.
    _raises("from: ", Move.from_json, {**move, "from": pos, "to": {"x": 3, "y": 0}})
    capture = {"type": "overtaking_capture", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 4, "y": 0},
               "captureTarget": pos}
    _raises("captureTarget: ", Move.from_json, capture)


def test_move_coordinate_messages():
    assert _raises("to", Move.from_json, _place(x=2.9, y=0)) == "to: position needs integer x and y, got {'x': 2.9, 'y': 0}"
    assert _raises("to", Move.from_json, _place(x=INF, y=0)) == "to: position needs integer x and y, got {'x': inf, 'y': 0}"
    assert _raises("to", Move.from_json, _place(x=0, y=0, z=True)) == "to: z must be an integer, got {'x': 0, 'y': 0, 'z': True}"
    _raises("to: position needs integer x and y", Move.from_json, _place(x=0))
    _raises("formedLines[0].positions[1]: ", Move.from_json, {
        "type": "process_line", "player": 1,
        "formedLines": [{"positions": [{"x": 0, "y": 0}, {"x": 1.0, "y": 0}]}]})
    _raises("collapsedMarkers[0]: ", Move.from_json, {
        "type": "choose_line_option", "player": 1, "collapsedMarkers": [{"x": "0", "y": 0}]})
    _raises("disconnectedRegions[0].spaces[0]: ", Move.from_json, {
        "type": "choose_territory_option", "player": 1, "disconnectedRegions": [{"spaces": [{"x": True, "y": 0}]}]})


_RECOVERY = {"type": "recovery_slide", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 1, "y": 0}}
_ELIMINATE = {"type": "eliminate_rings_from_stack", "player": 1, "to": {"x": 0, "y": 0}}

_BAD_FIELDS = [
    ("player", {**_place(x=0, y=0), "player": True}),
    ("player", {**_place(x=0, y=0), "player": 1.0}),
    ("player", {**_place(x=0, y=0), "player": "1"}),
    ("player", {**_place(x=0, y=0), "player": 7}),
    ("placementCount", {**_place(x=0, y=0), "placementCount": True}),
    ("placementCount", {**_place(x=0, y=0), "placementCount": 2.0}),
    ("placementCount", {**_place(x=0, y=0), "placementCount": "2"}),
    ("placementCount", {**_place(x=0, y=0), "placementCount": 0}),
    ("placedOnStack", {**_place(x=0, y=0), "placedOnStack": "yes"}),
    ("recoveryOption", {**_RECOVERY, "recoveryOption": True}),
    ("recoveryOption", {**_RECOVERY, "recoveryOption": 1.0}),
    ("recoveryOption", {**_RECOVERY, "recoveryOption": 3}),
    ("option", {**_RECOVERY, "option": "2"}),
    ("recoveryMode", {**_RECOVERY, "recoveryMode": ["line"]}),
    ("extractionStacks[0]", {**_RECOVERY, "extractionStacks": ["01,1"]}),
    ("extractionStacks[0]", {**_RECOVERY, "extractionStacks": [7]}),
    ("extractionStack", {**_RECOVERY, "extractionStack": "1, 1"}),
    ("eliminatedRings[0].count", {**_ELIMINATE, "eliminatedRings": [{"player": 1, "count": True}]}),
    ("eliminatedRings[0].count", {**_ELIMINATE, "eliminatedRings": [{"player": 1, "count": 1.5}]}),
    ("eliminatedRings", {**_ELIMINATE, "eliminatedRings": {"count": 1}}),
    ("eliminationContext", {**_ELIMINATE, "eliminationContext": ["line"]}),
    ("formedLines", {"type": "process_line", "player": 1, "formedLines": {"positions": []}}),
    ("disconnectedRegions", {"type": "choose_territory_option", "player": 1, "disconnectedRegions": [5]}),
    ("type", {"type": ["place_ring"], "player": 1}),
    ("type", {"type": {"a": 1}, "player": 1}),
]


@pytest.mark.parametrize("field, move", _BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(_BAD_FIELDS)])
def test_move_integer_and_other_fields_are_checked(field, move):
    _raises(field + ":", Move.from_json, move)


_FAST_PATH_CASES = [
    {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0, "z": "a"}, "to": {"x": 1, "y": 0}},
    {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0, "z": True}, "to": {"x": 1, "y": 0}},
    {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0, "z": 2**40}, "to": {"x": 1, "y": 0}},
    {"type": "move_stack", "player": 1, "from": {"x": True, "y": 0}, "to": {"x": 1, "y": 0}},
    {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 1, "y": 0}, "captureTarget": {"x": 0.5}},
    {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 1, "y": 0}, "formedLines": 3},
    {"type": "move_stack", "player": 5, "from": {"x": 0, "y": 0}, "to": {"x": 1, "y": 0}},
    {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}, "placementCount": 0},
    {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}, "placementCount": 2.0},
    {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}, "placedOnStack": 1},
    {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}, "eliminatedRings": [{"count": 1.0}]},
    {"type": "skip_placement", "player": 1, "from": {"x": 1.5, "y": 0}},
    {"type": "no_line_action", "player": 1, "extractionStacks": "0,0"},
    {"type": "forced_elimination", "player": 1, "to": {"x": 0, "y": 0}, "collapsedMarkers": [{"x": 0}]},
    {"type": "eliminate_rings_from_stack", "player": 1, "to": {"x": 0, "y": 0}, "eliminationContext": []},
    {"type": "eliminate_rings_from_stack", "player": 1, "to": {"x": 0, "y": 0}, "eliminatedRings": [{"count": "1"}]},
]


@pytest.mark.parametrize("move", _FAST_PATH_CASES, ids=range(len(_FAST_PATH_CASES)))
@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_fast_paths_never_accept_what_the_parser_rejects(board, move):
    spec = board_spec(board)  # (0, 0) and (1, 0) are cells of both boards
    assert spec.pos_to_cell.get((1, 0, -1) if spec.is_hex else (1, 0)) is not None
    with pytest.raises(ValueError):
        Move.from_json(move)
    with pytest.raises(ValueError):
        json_move_key(move, spec.is_hex)
    assert _quick_fields(spec, move) is None


def test_replay_rejects_coordinates_it_used_to_truncate():
    start = new_game("square8", 2)
    for bad in ({"x": 0.0, "y": 0}, {"x": "0", "y": 0}, {"x": False, "y": 0}, {"x": 0, "y": 0, "z": "0"}):
        with pytest.raises(ReplayError, match=r"move 1: malformed move: to: "):
            replay_moves(start, [{"type": "place_ring", "player": 1, "to": bad, "placementCount": 1}])


def test_ringrift_move_forms_still_parse():
    # Hex positions with z, without z and with z null name the same cell.
    with_z = {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0, "z": 0}, "to": {"x": 1, "y": -1, "z": 0}}
    no_z = {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 1, "y": -1}}
    null_z = {"type": "move_stack", "player": 1, "from": {"x": 0, "y": 0, "z": None}, "to": {"x": 1, "y": -1, "z": None}}
    keys = {Move.from_json(m).key(True) for m in (with_z, no_z, null_z)}
    assert keys == {("move_stack", 1, (0, 0, 0), (1, -1, 0))}
    assert {json_move_key(m, True) for m in (with_z, no_z, null_z)} == keys
    hexs = board_spec("hex8")
    assert _quick_fields(hexs, with_z) == _quick_fields(hexs, no_z) == _quick_fields(hexs, null_z) is not None
    # Placeholder targets of moves without one, and RingRift's decoration, are ignored.
    for t in ("no_line_action", "skip_placement", "no_territory_action", "swap_sides"):
        m = {"type": t, "player": 2, "to": {"x": 0, "y": 0}, "phase": "x", "id": "abc", "thinkTime": 3}
        assert Move.from_json(m).key() == json_move_key(m, False) == (t, 2)
    # A forced elimination's meaningless placementCount, explicit nulls, empty lists.
    fe = {"type": "forced_elimination", "player": 1, "to": {"x": 2, "y": 3}, "placementCount": 0,
          "placedOnStack": False, "from": None, "captureTarget": None, "formedLines": None,
          "collapsedMarkers": None, "disconnectedRegions": None, "eliminatedRings": None}
    assert Move.from_json(fe).key() == json_move_key(fe, False) == ("forced_elimination", 1, (2, 3))
    pr = {"type": "place_ring", "player": 1, "to": {"x": 2, "y": 3}, "placementCount": None, "placedOnStack": None}
    assert Move.from_json(pr).key() == json_move_key(pr, False) == ("place_ring", 1, (2, 3), 1)
    line = {"type": "process_line", "player": 1, "formedLines": []}
    assert Move.from_json(line).line is None
    rec = {**_RECOVERY, "recoveryMode": "fallback", "extractionStacks": ["3,4"], "option": 1}
    assert Move.from_json(rec).extraction_stacks == ("3,4",)
    er = {**_ELIMINATE, "eliminationContext": "line", "eliminatedRings": [{"player": 1, "count": 2}]}
    assert Move.from_json(er).eliminated_count == 2


# ---- states -----------------------------------------------------------------------


def _state_json(board="square8", **kw):
    return position(board, {"0,0": [1]}, hands=(5, 5), **kw).to_json()


@pytest.mark.parametrize("kind", ["stacks", "markers", "collapsedSpaces"])
@pytest.mark.parametrize("other", ["01,1", " 1,1", "1, 1", "+1,1", "1,01", "1,1 ", "0_1,1", "-0,1"])
def test_non_canonical_position_keys_are_rejected(kind, other):
    """Decision: keys must be canonical ("1,1"), so "01,1" cannot silently name the
    same cell as "1,1" (it used to drop one of the two stacks)."""
    d = _state_json()
    value = {"stacks": {"rings": [2]}, "markers": {"player": 2}, "collapsedSpaces": 2}[kind]
    d["board"][kind]["1,1"] = value
    d["board"][kind][other] = copy.deepcopy(value)
    msg = _raises(f"board.{kind}[{other!r}]: ", GameState.from_json, d)
    assert "malformed position key" in msg
    # Alone, the spelling is rejected too (not read as another cell's key).
    d["board"][kind].pop("1,1")
    _raises(f"board.{kind}[{other!r}]: ", GameState.from_json, d)


@pytest.mark.parametrize("kind", ["stacks", "markers", "collapsedSpaces"])
def test_two_keys_naming_one_hex_cell_are_rejected(kind):
    # A hex key may leave out z (RingRift's own states sometimes do): "1,-1" and
    # "1,-1,0" are the same cell.
    d = _state_json("hex8")
    value = {"stacks": {"rings": [2]}, "markers": {"player": 2}, "collapsedSpaces": 2}[kind]
    d["board"][kind]["1,-1,0"] = value
    assert GameState.from_json(d)  # one key: fine
    d["board"][kind]["1,-1"] = copy.deepcopy(value)
    msg = _raises(f"board.{kind}: ", GameState.from_json, d)
    assert "'1,-1,0'" in msg and "'1,-1'" in msg and "same cell" in msg
    # A z that disagrees with x and y is not another spelling of the cell.
    d["board"][kind].pop("1,-1")
    d["board"][kind]["2,-1,0"] = copy.deepcopy(value)
    _raises(f"board.{kind}['2,-1,0']: cube coordinates", GameState.from_json, d)


@pytest.mark.parametrize("value", [99, 3, -1, True, 1.0, "1"])
def test_engine_pending_must_be_a_pending_code(value):
    d = _state_json()
    d["engineState"]["pending"] = value
    _raises("engineState.pending: ", GameState.from_json, d)
    for ok in (0, 1, 2):  # PEND_NONE, PEND_LINE_ELIM, PEND_TERR_ELIM
        d["engineState"]["pending"] = ok
        assert GameState.from_json(d)


_SEAT_FIELDS = ["lpsAnchor", "lpsLastSeat", "lpsLeader", "lpsLastExclusive", "lpsDue", "lastActor"]


@pytest.mark.parametrize("field", _SEAT_FIELDS)
@pytest.mark.parametrize("n", [2, 3])
def test_engine_seat_fields_are_player_numbers_or_zero(field, n):
    d = position("square8", {"0,0": [1]}, hands=(5,) * n).to_json()
    for bad in (n + 1, 9, -1, True, 1.5):
        d["engineState"][field] = bad
        _raises(f"engineState.{field}: ", GameState.from_json, d)
    for ok in range(n + 1):
        d["engineState"][field] = ok
        assert GameState.from_json(d).to_json()["engineState"][field] == ok


@pytest.mark.parametrize("n", [2, 3, 4])
def test_engine_round_mask_and_streak_ranges(n):
    d = position("square8", {"0,0": [1]}, hands=(5,) * n).to_json()
    for bad in (1 << n, 99, -1, False):
        d["engineState"]["lpsRoundMask"] = bad
        _raises("engineState.lpsRoundMask: ", GameState.from_json, d)
    d["engineState"]["lpsRoundMask"] = (1 << n) - 1
    assert GameState.from_json(d)
    for bad in (-1, 2**40, 1.0):
        d["engineState"]["lpsStreak"] = bad
        _raises("engineState.lpsStreak: ", GameState.from_json, d)
    d["engineState"]["lpsStreak"] = 7
    assert GameState.from_json(d)


@pytest.mark.parametrize(
    "field, bad, good",
    [
        ("swapAvailable", [3, -1, True], [0, 1, 2]),
        ("swapped", [2, -1], [0, 1]),
        ("swapEnabled", [2, -1], [0, 1]),
        ("turnActed", [2, -1, 1.0], [0, 1]),
        ("recoveryTurn", [2, -1], [0, 1]),
        ("turnHadRealAction", [2, -1], [0, 1]),
        ("mustActFrom", [-2, 64, 10**6, "0"], [-1, 0, 63]),
    ],
)
def test_other_engine_fields_are_range_checked(field, bad, good):
    d = _state_json()
    for v in bad:
        d["engineState"][field] = v
        _raises(f"engineState.{field}: ", GameState.from_json, d)
    for v in good:
        d["engineState"][field] = v
        assert GameState.from_json(d)


def test_ringrift_lps_fields_stay_checked():
    d = _state_json()
    del d["engineState"]
    for field, bad in (
        ("lpsCurrentRoundFirstPlayer", 3),
        ("lpsConsecutiveExclusivePlayer", True),
        ("lpsExclusivePlayerForCompletedRound", 1.0),
        ("lpsConsecutiveExclusiveRounds", -1),
    ):
        _raises(f"{field}: ", GameState.from_json, {**d, field: bad})
    _raises("lpsCurrentRoundActorMask['01']: ", GameState.from_json, {**d, "lpsCurrentRoundActorMask": {"01": True}})
    assert GameState.from_json({**d, "lpsCurrentRoundFirstPlayer": 2, "lpsCurrentRoundActorMask": {"1": True}})


def _deep(levels):
    v = []
    for _ in range(levels):
        v = [v]
    return v


_MALFORMED_STATES = [
    # (field the message starts with, mutation)
    ("board: ", lambda d: d.update(board=_deep(100_000))),
    ("board type: ", lambda d: d["board"].update(type=["square8"])),
    ("board type: ", lambda d: d["board"].update(type={"a": 1})),
    ("board.stacks: ", lambda d: d["board"].update(stacks=[{"rings": [1]}])),
    ("board.markers: ", lambda d: d["board"].update(markers=_deep(100_000))),
    ("board.collapsedSpaces: ", lambda d: d["board"].update(collapsedSpaces=0)),
    ("board.markers['1,1'].player: ", lambda d: d["board"]["markers"].update({"1,1": _deep(100_000)})),
    ("board.markers['1,1'].player: ", lambda d: d["board"]["markers"].update({"1,1": {"player": 1.0}})),
    ("board.markers['1,1'].position: ", lambda d: d["board"]["markers"].update(
        {"1,1": {"player": 1, "position": {"x": 2, "y": 1}}})),
    ("board.collapsedSpaces['1,1']: ", lambda d: d["board"]["collapsedSpaces"].update({"1,1": True})),
    ("board.stacks['0,0'].rings[0]: ", lambda d: d["board"]["stacks"]["0,0"].update(rings=[1.0])),
    ("board.stacks['0,0'].rings[0]: ", lambda d: d["board"]["stacks"]["0,0"].update(rings=_deep(100_000))),
    ("board.stacks['0,0'].position: ", lambda d: d["board"]["stacks"]["0,0"].update(
        position={"x": 0, "y": 0, "z": INF})),
    ("board.stacks['0,0'].position: ", lambda d: d["board"]["stacks"]["0,0"].update(position={"x": 0.0, "y": 0})),
    ("board.stacks['0,0'].stackHeight: ", lambda d: d["board"]["stacks"]["0,0"].update(stackHeight=True)),
    ("board.stacks['0,0'].capHeight: ", lambda d: d["board"]["stacks"]["0,0"].update(capHeight=1.0)),
    ("board.stacks[7]: ", lambda d: d["board"]["stacks"].update({7: {"rings": [1]}})),
    ("board.stacks['99999999999,0']: ", lambda d: d["board"]["stacks"].update({"99999999999,0": {"rings": [1]}})),
    ("board.stacks['1,1,-2']: ", lambda d: d["board"]["stacks"].update({"1,1,-2": {"rings": [1]}})),
    ("totalRingsEliminated: ", lambda d: d.update(totalRingsEliminated=2**70)),
    ("turnNumber: ", lambda d: d.update(turnNumber=INF)),
    ("players[0].ringsInHand: ", lambda d: d["players"][0].update(ringsInHand=5.0)),
    ("currentPhase: ", lambda d: d.update(currentPhase=["movement"])),
    ("gameStatus: ", lambda d: d.update(gameStatus={"a": 1})),
    ("ranks: ", lambda d: d.update(gameStatus="completed", winner=1, ranks=[1, 2])),
    ("ranks['2']: ", lambda d: d.update(gameStatus="completed", winner=1, ranks={"1": 1, "2": 2.0})),
    ("ranks['3']: ", lambda d: d.update(gameStatus="completed", winner=1, ranks={"1": 1, "3": 2})),
    ("victoryReason: ", lambda d: d.update(gameStatus="completed", winner=1, victoryReason=3)),
    ("engineState.eliminationTurn: ", lambda d: d["engineState"].update(eliminationTurn=5)),
    ("engineState.eliminationTurn: ", lambda d: d["engineState"].update(eliminationTurn=[-1])),
    ("engineState.eliminationTurn[1]: ", lambda d: d["engineState"].update(eliminationTurn=[-1, 1.5])),
    ("engineState.lpsAnchor: ", lambda d: d["engineState"].update(lpsAnchor=2**70)),
    ("rulesOptions.lpsRoundsRequired: ", lambda d: d["rulesOptions"].update(lpsRoundsRequired=2**70)),
    ("rulesOptions.territoryRepresentation: ", lambda d: d["rulesOptions"].update(territoryRepresentation=[])),
    ("pendingLineRewardElimination: ", lambda d: (d.pop("engineState"), d.update(pendingLineRewardElimination="yes"))),
    ("chainCapturePosition: ", lambda d: (d.pop("engineState"), d.update(chainCapturePosition={"x": 0, "y": INF}))),
    ("mustMoveFromStackKey: ", lambda d: (d.pop("engineState"), d.update(mustMoveFromStackKey="0, 0"))),
]


@pytest.mark.parametrize("field, mutate", _MALFORMED_STATES, ids=[f"{f}{i}" for i, (f, _) in enumerate(_MALFORMED_STATES)])
def test_malformed_states_raise_value_errors_only(field, mutate):
    """No KeyError, TypeError, OverflowError or RecursionError escapes for bad input,
    and messages stay short even for huge or deeply nested values."""
    d = _state_json()
    mutate(d)
    msg = _raises(field, GameState.from_json, d)
    assert len(msg) < 400


def test_engine_pending_used_to_fail_later():
    # Loaded and then crashed with KeyError once the engine read the pending code.
    d = _state_json(phase="line_processing")
    d["engineState"]["pending"] = 99
    with pytest.raises(ValueError, match=re.escape("engineState.pending: must be <= 2, got 99")):
        GameState.from_json(d)


def test_ringrift_state_forms_still_parse():
    # Hex keys with and without z, positions with z null, the reversed ring order of
    # hand-written states, and a stack position that agrees with its key.
    d = _state_json("hex8")
    d["board"]["stacks"] = {
        "1,-1,0": {"rings": [2, 1], "position": {"x": 1, "y": -1, "z": 0}, "controllingPlayer": 1, "capHeight": 1},
        "0,1": {"rings": [2], "position": {"x": 0, "y": 1, "z": None}},
    }
    d["board"]["markers"] = {"2,-2,0": {"player": 1, "position": {"x": 2, "y": -2}}}
    d["board"]["collapsedSpaces"] = {"-1,1": 2, "-2,2,0": {"player": 1}}
    s = GameState.from_json(d)
    assert s.controller("1,-1,0") == 1 and s.controller("0,1,-1") == 2
    again = GameState.from_json(s.to_json())
    assert again == s
