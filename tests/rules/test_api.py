"""The public rules API: construction, moves, errors and serialization."""

import numpy as np
import pytest

from ringrift_ml.rules import (
    BOARD_TYPES,
    GameState,
    IllegalMoveError,
    Move,
    apply_move,
    board_spec,
    legal_moves,
    new_game,
)
from ringrift_ml.rules.fast import FastGame, playout

from ..positions import position


def _state(board="square8", n=2, stacks=None, markers=None, collapsed=None, player=1, phase="movement", **extra):
    hands = tuple(extra.pop(f"hand{p}", 10) for p in range(1, n + 1))
    return position(board, stacks, markers, collapsed, player=player, phase=phase, hands=hands, **extra)


@pytest.mark.parametrize("board", BOARD_TYPES)
@pytest.mark.parametrize("n", [2, 3, 4])
def test_new_game(board, n):
    s = new_game(board, n)
    spec = board_spec(board)
    assert (s.current_player, s.current_phase, s.game_status) == (1, "ring_placement", "active")
    assert all(s.rings_in_hand(p) == spec.rings_per_player for p in range(1, n + 1))
    moves = legal_moves(s)
    # Every empty cell takes 1, 2 or 3 rings on an empty board; nothing else is legal.
    assert len(moves) == 3 * spec.n_cells
    assert {m.type for m in moves} == {"place_ring"}


def test_board_parameters():
    assert [board_spec(b).n_cells for b in BOARD_TYPES] == [64, 361, 61, 469]
    sq = board_spec("square8")
    assert [sq.victory_threshold(n) for n in (2, 3, 4)] == [18, 24, 30]
    assert [board_spec("hexagonal").victory_threshold(n) for n in (2, 3, 4)] == [96, 128, 160]
    assert [sq.line_length(n) for n in (2, 3, 4)] == [4, 3, 3]
    assert board_spec("square19").line_length(3) == 4


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(board_type="chess"), "board type"),
        (dict(board_type="square8", num_players=5), "num_players"),
        (dict(board_type="square8", num_players=3, swap_rule=True), "swap_rule"),
        (dict(board_type="square8", lps_rounds=0), "lps_rounds"),
    ],
)
def test_new_game_rejects_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=field):
        new_game(**kwargs)


def test_placement_then_must_move_placed_stack():
    s = _state(stacks={"0,0": [1]}, phase="ring_placement")
    s = apply_move(s, Move.from_json({"type": "place_ring", "player": 1, "to": {"x": 5, "y": 5}, "placementCount": 2}))
    assert s.current_phase == "movement"
    froms = {m.from_ for m in legal_moves(s)}
    assert froms == {(5, 5)}
    # A 2-ring stack moves at least 2 cells.
    assert all(max(abs(m.to[0] - 5), abs(m.to[1] - 5)) >= 2 for m in legal_moves(s))
    with pytest.raises(IllegalMoveError, match="must act"):
        apply_move(s, Move("move_stack", 1, from_=(0, 0), to=(0, 3)))


def test_movement_flips_and_collapses_markers_and_pays_for_landing_on_marker():
    s = _state(stacks={"0,0": [1], "7,7": [2]}, markers={"1,0": 2, "2,0": 1, "4,0": 2})
    s = apply_move(s, Move("move_stack", 1, from_=(0, 0), to=(4, 0)))
    assert s.markers().get("0,0") == 1  # departure marker
    assert s.markers().get("1,0") == 1  # opponent marker flipped
    assert s.collapsed().get("2,0") == 1  # own marker collapsed
    assert s.territory(1) == 1
    # Landing on a marker removes it and eliminates the mover's top ring.
    assert "4,0" not in s.stacks() and "4,0" not in s.markers()
    assert s.eliminated_rings(1) == 1


def test_capture_takes_top_ring_to_bottom_and_chains():
    s = _state(stacks={"0,0": [1, 1], "2,0": [2], "5,0": [2]})
    caps = [m for m in legal_moves(s) if m.type == "overtaking_capture"]
    assert {(m.capture_target, m.to) for m in caps} >= {((2, 0), (3, 0)), ((2, 0), (4, 0))}
    s = apply_move(s, Move("overtaking_capture", 1, from_=(0, 0), to=(3, 0), capture_target=(2, 0)))
    assert s.stacks()["3,0"] == [2, 1, 1]
    assert s.current_phase == "chain_capture"  # the stack at 5,0 can be jumped next
    assert {m.type for m in legal_moves(s)} == {"continue_capture_segment"}


def test_cap_height_limits_captures():
    s = _state(stacks={"0,0": [2, 1], "1,0": [2, 2]})
    assert not [m for m in legal_moves(s) if m.type == "overtaking_capture"]
    with pytest.raises(IllegalMoveError, match="cap height"):
        apply_move(s, Move("overtaking_capture", 1, from_=(0, 0), to=(2, 0), capture_target=(1, 0)))


def test_illegal_move_messages():
    s = new_game("square8", 2)
    with pytest.raises(IllegalMoveError, match="player 1's turn"):
        apply_move(s, Move("place_ring", 2, to=(0, 0), placement_count=1))
    with pytest.raises(IllegalMoveError, match="not allowed now"):
        apply_move(s, Move("move_stack", 1, from_=(0, 0), to=(0, 1)))
    with pytest.raises(IllegalMoveError, match="not on the square8 board"):
        apply_move(s, Move("place_ring", 1, to=(9, 9), placement_count=1))
    s2 = _state(collapsed={"3,3": 2}, phase="ring_placement")
    with pytest.raises(IllegalMoveError, match="collapsed"):
        apply_move(s2, Move("place_ring", 1, to=(3, 3), placement_count=1))
    with pytest.raises(TypeError):
        apply_move(s, {"type": "place_ring"})


@pytest.mark.parametrize(
    "data, field",
    [
        ({"player": 1}, "type"),
        ({"type": "fly", "player": 1}, "type"),
        ({"type": "place_ring", "player": "one", "to": {"x": 0, "y": 0}}, "player"),
        ({"type": "place_ring", "player": 1}, "to"),
        ({"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}, "placementCount": 4}, "placementCount"),
        ({"type": "move_stack", "player": 1, "to": {"x": 0, "y": 0}}, "from"),
        ({"type": "overtaking_capture", "player": 1, "from": {"x": 0, "y": 0}, "to": {"x": 0, "y": 2}}, "captureTarget"),
        ({"type": "place_ring", "player": 1, "to": {"x": "a", "y": 0}}, "to"),
    ],
)
def test_move_json_errors(data, field):
    with pytest.raises(ValueError, match=field):
        Move.from_json(data)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.pop("board"), "board"),
        (lambda d: d["board"].update(type="square9"), "board type"),
        (lambda d: d["board"]["stacks"].update({"8,0": {"rings": [1]}}), "8,0"),
        (lambda d: d["board"]["stacks"].update({"1,1": {"rings": [3]}}), "rings"),
        (lambda d: d["board"]["stacks"].update({"1,1": {"rings": []}}), "rings"),
        (lambda d: d["board"]["markers"].update({"0,0": {"player": 1}}), "marker"),
        (lambda d: d["board"]["collapsedSpaces"].update({"0,0": 1}), "collapsed"),
        (lambda d: d.update(currentPhase="dancing"), "currentPhase"),
        (lambda d: d.update(currentPlayer=3), "currentPlayer"),
        (lambda d: d.update(players=d["players"][:1]), "players"),
        (lambda d: d["players"][0].update(ringsInHand=-1), "ringsInHand"),
        (lambda d: d["board"]["stacks"]["0,0"].update(stackHeight=5), "stackHeight"),
    ],
)
def test_state_json_errors(mutate, field):
    d = _state(stacks={"0,0": [1]}).to_json()
    mutate(d)
    with pytest.raises(ValueError, match=field):
        GameState.from_json(d)


def test_state_json_contract_fields_and_round_trip():
    s = new_game("hex8", 3)
    s = apply_move(s, legal_moves(s)[5])
    d = s.to_json()
    for key in ("currentPlayer", "currentPhase", "gameStatus", "winner", "board", "players", "victoryThreshold"):
        assert key in d
    assert d["board"]["type"] == "hex8" and d["currentPhase"] == "movement"
    assert GameState.from_json(d) == s


def test_move_json_round_trip_over_a_game():
    final, _, _, rows = playout(new_game("square8", 3), seed=11, record_moves=True)
    g = FastGame(new_game("square8", 3))
    for r in rows:
        m = g.move(r)
        assert Move.from_json(m.to_json()).key(False) == m.key(False)
        g.push(r)
    assert np.array_equal(g.S, final.S)


def test_swap_rule_offered_once_to_player_two():
    s = new_game("square8", 2, swap_rule=True)
    assert "swap_sides" not in {m.type for m in legal_moves(s)}
    while s.current_player == 1:
        s = apply_move(s, legal_moves(s)[0])
    assert "swap_sides" in {m.type for m in legal_moves(s)}
    s2 = apply_move(s, Move("swap_sides", 2))
    assert s2.current_player == 2 and s2.current_phase == "ring_placement"
    assert "swap_sides" not in {m.type for m in legal_moves(s2)}
    assert s2.stacks() == s.stacks()
    # Declining by playing on removes the option.
    s3 = apply_move(s, [m for m in legal_moves(s) if m.type == "place_ring"][0])
    assert "swap_sides" not in {m.type for m in legal_moves(s3)}


def test_fast_game_push_pop_and_hash():
    g = FastGame(new_game("hexagonal", 2))
    start = g.S.copy()
    h0 = g.hash()
    rng = np.random.default_rng(0)
    for _ in range(30):
        rows = g.legal()
        g.push(rows[rng.integers(len(rows))])
    assert g.hash() != h0
    for _ in range(30):
        g.pop()
    assert np.array_equal(g.S, start) and g.hash() == h0


def test_game_over_has_no_moves_and_ranks():
    final, *_ = playout(new_game("square8", 4), seed=5)
    assert final.is_over and final.current_phase == "game_over"
    assert legal_moves(final) == []
    ranks = final.ranks
    assert ranks[final.winner] == 1 and sorted(ranks) == [1, 2, 3, 4]
    with pytest.raises(IllegalMoveError, match="game is over"):
        apply_move(final, Move("no_placement_action", 1))


def test_elimination_without_context_matches_the_pending_elimination():
    from ringrift_ml.rules.records import load_json

    from ..conftest import CONFORMANCE

    rec = load_json(CONFORMANCE / "reference-games" / "hex8_2p_seed0004.json.gz")
    opts = {**(rec.get("rulesOptions") or {}), "lpsRoundsRequired": rec["lpsRoundsRequired"]}
    s = GameState.from_json(rec["initialState"], opts)
    for step in rec["steps"]:
        move = step["move"]
        if move["type"] == "eliminate_rings_from_stack" and move.get("eliminationContext") == "line":
            break
        s = apply_move(s, Move.from_json(move))
    bare = {k: v for k, v in move.items() if k != "eliminationContext"}
    assert apply_move(s, Move.from_json(bare)) == apply_move(s, Move.from_json(move))
    with pytest.raises(IllegalMoveError):
        apply_move(s, Move.from_json({**move, "eliminationContext": "territory"}))


def test_records_carry_the_rules_version_and_a_stale_record_says_so():
    from ringrift_ml.rules import RULES_VERSION
    from ringrift_ml.rules.fast import playout
    from ringrift_ml.rules.records import make_record, replay_record

    start = new_game("square8", 2)
    final, _, _, rows = playout(start, 5, record_moves=True)
    moves, g = [], FastGame(start)
    for r in rows:
        moves.append(g.move(r))
        g.apply(r)
    rec = make_record(moves, final, game_id="g", board_type="square8", num_players=2)
    assert rec["rulesVersion"] == RULES_VERSION
    assert replay_record(rec).ok
    broken = dict(rec, moves=rec["moves"][:5] + rec["moves"][6:])
    assert "rules version" not in replay_record(broken).message
    stale = dict(broken, rulesVersion=RULES_VERSION - 1)
    verdict = replay_record(stale)
    assert not verdict.ok
    assert f"recorded under rules version {RULES_VERSION - 1}; this engine implements version {RULES_VERSION}" in verdict.message
