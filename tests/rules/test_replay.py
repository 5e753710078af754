"""The in-place replay path gives the same positions, errors and keys as the public API."""

import json

import numpy as np
import pytest

from ringrift_ml.rules import IllegalMoveError, Move, apply_move, new_game
from ringrift_ml.rules._codec import row_key, row_to_move
from ringrift_ml.rules.fast import FastGame, playout
from ringrift_ml.rules.move import json_move_key
from ringrift_ml.rules.records import load_json, make_record, replay_record, start_state
from ringrift_ml.rules.replay import Replayer, ReplayError, iter_replay, replay_moves

from ..conftest import CONFORMANCE

CONFIGS = [(b, n) for b in ("square8", "square19", "hex8", "hexagonal") for n in (2, 3, 4)]


def _random_moves(board, n, seed, limit=None):
    start = new_game(board, n)
    _, _, _, rows = playout(start, seed, max_moves=limit or 100_000, record_moves=True)
    g = FastGame(start)
    moves = []
    for r in rows:
        moves.append(g.move(r).to_json())
        g.apply(r)
    return start, moves, g.state()


@pytest.mark.parametrize("board,n", CONFIGS, ids=[f"{b}-{n}p" for b, n in CONFIGS])
def test_fast_replay_matches_the_public_api_move_by_move(board, n):
    start, moves, final = _random_moves(board, n, seed=11, limit=400)
    state = start
    for step in iter_replay(start, moves):
        assert np.array_equal(step.S, state.S)
        assert step.player == state.current_player and step.phase == state.current_phase
        assert row_to_move(state.spec, state.S, step.row).key() == Move.from_json(moves[step.ply]).key()
        state = apply_move(state, Move.from_json(moves[step.ply]))
    assert replay_moves(start, moves) == state == final


def test_an_illegal_move_names_its_ply_and_the_rule():
    start, moves, _ = _random_moves("square8", 2, seed=3, limit=30)
    bad = dict(moves[7], player=3 - moves[7]["player"])
    with pytest.raises(ReplayError) as err:
        replay_moves(start, moves[:7] + [bad])
    assert err.value.ply == 7 and str(err.value).startswith("move 8: ")
    # The same reason as the validating API gives.
    state = replay_moves(start, moves[:7])
    with pytest.raises(IllegalMoveError) as api_err:
        apply_move(state, Move.from_json(bad))
    assert str(err.value) == f"move 8: {api_err.value}"


def test_a_malformed_move_is_a_replay_error_naming_the_field():
    start = new_game("hex8", 2)
    with pytest.raises(ReplayError, match=r"move 1: malformed move: to: expected a position object"):
        replay_moves(start, [{"type": "place_ring", "player": 1, "to": 5}])
    with pytest.raises(ReplayError, match=r"move 1: malformed move: move: expected an object"):
        replay_moves(start, ["place_ring"])


def test_replayer_matches_extra_moves_without_moving():
    start, moves, _ = _random_moves("hex8", 3, seed=5, limit=20)
    r = Replayer(start)
    rows = r.rows().copy()
    i = r.match(moves[0])
    assert r.match(Move.from_json(moves[0])) == i and r.ply == 0
    assert np.array_equal(r.rows(), rows)
    r.apply_index(i)
    assert r.ply == 1 and r.state() == apply_move(start, Move.from_json(moves[0]))


@pytest.mark.parametrize("board,n", [("square8", 2), ("hex8", 3), ("square19", 4), ("hexagonal", 2)])
def test_match_all_finds_every_legal_move_as_match_does(board, n):
    """A search policy names many moves of one position: ``match_all`` (a table of the
    rows per field pattern, the general matcher for the rest) gives each the row
    ``match`` gives, for every legal move of positions of a random game, as JSON and as
    Move objects, in any order and with repeats."""
    start, moves, _ = _random_moves(board, n, seed=21, limit=300)
    r = Replayer(start)
    seen_types = set()
    for ply, md in enumerate(moves):
        if ply % 7 == 0:
            g = FastGame(r.state())
            names = [g.move(row).to_json() for row in r.rows()]
            names = names[::-1] + names[:3]
            want = [r.match(m) for m in names]
            assert r.match_all(names) == want
            assert r.match_all([Move.from_json(m) for m in names]) == want
            seen_types |= {m["type"] for m in names}
        r.advance(md)
    assert {"place_ring", "move_stack"} <= seen_types


def test_match_all_refuses_an_illegal_move_as_match_does():
    start, moves, _ = _random_moves("square8", 2, seed=3, limit=30)
    r = Replayer(start)
    for md in moves[:7]:
        r.advance(md)
    bad = dict(moves[7], player=3 - moves[7]["player"])
    with pytest.raises(ReplayError) as err:
        r.match_all([moves[7], bad])
    with pytest.raises(ReplayError) as one:
        r.match(bad)
    assert str(err.value) == str(one.value)


def test_record_replay_uses_the_fast_path_and_keeps_its_verdicts():
    start, moves, final = _random_moves("square8", 3, seed=9)
    rec = make_record([Move.from_json(m) for m in moves], final, game_id="g", board_type="square8", num_players=3)
    v = replay_record(json.loads(json.dumps(rec)))
    assert v.ok and v.complete and v.final_state == final and v.moves == len(moves)
    rec["moves"][5] = dict(rec["moves"][5], type="skip_capture")
    v = replay_record(rec)
    assert not v.ok and v.moves == 5 and v.message.startswith("move 6: illegal move")


def _reference_samples():
    files = sorted((CONFORMANCE / "reference-games").glob("*.json.gz"))
    return [files[i] for i in range(0, len(files), 9)]


@pytest.mark.parametrize("path", _reference_samples(), ids=lambda p: p.name.split(".")[0])
def test_fast_keys_equal_the_move_keys(path):
    """``json_move_key`` and ``row_key`` are shortcuts for ``Move.key``: on every legal
    move of a spread of reference games they give exactly the same keys."""
    rec = load_json(path)
    state = start_state(rec)
    hexb = state.spec.is_hex
    r = Replayer(state)
    for st in rec["steps"]:
        for m in st["legalMoves"]:
            assert json_move_key(m, hexb) == Move.from_json(m).key(hexb)
        for row in r.rows().tolist():
            assert row_key(r.spec, r.S, row) == row_to_move(r.spec, r.S, row).key(hexb)
        r.apply_index(r.match(st["move"]))


def test_json_move_key_falls_back_for_unusual_json():
    # String coordinates are not taken at face value by the shortcut: it falls back to
    # Move.from_json, which rejects them (input is strict, see test_strict_input.py).
    d = {"type": "move_stack", "player": 1, "from": {"x": "1", "y": 0}, "to": {"x": 3, "y": 0}}
    with pytest.raises(ValueError, match="from: position needs integer x and y"):
        json_move_key(d, False)
    with pytest.raises(ValueError, match="from: position needs integer x and y"):
        Move.from_json(d)
    with pytest.raises(ValueError):
        json_move_key({"type": "move_stack", "player": 1}, False)
