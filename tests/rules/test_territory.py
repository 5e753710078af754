"""Territory and recovery decisions taken from RingRift's reference games, each on a
small constructed position (docs/rules-engine.md lists the evidence)."""

from ringrift_ml.rules import GameState, apply_move, legal_moves

from ..positions import position


def _state(board, stacks, markers=None, collapsed=None, player=1, phase="territory_processing", hands=(0, 0)):
    return position(board, stacks, markers, collapsed, player=player, phase=phase, hands=hands)


def _keys(move):
    return {",".join(map(str, p)) for p in move.region}


def _claim(state, cell):
    options = [m for m in legal_moves(state) if m.type == "choose_territory_option"]
    chosen = [m for m in options if cell in _keys(m)]
    assert len(chosen) == 1, [str(m) for m in options]
    return apply_move(state, chosen[0])


def _corner(board):
    """A corner cell walled in by two collapsed cells and one player-2 marker ``wall``,
    plus the cells a border chain could reach from that marker."""
    if board == "hex8":
        return "4,-4,0", {"4,-3,-1": 2, "3,-4,1": 2}, "3,-3,0"
    return "12,-12,0", {"12,-11,-1": 2, "11,-12,1": 2}, "11,-11,0"


def test_hex_border_chain_follows_the_xy_diagonals_only():
    corner, walls, border = _corner("hex8")
    markers = {
        border: 2,
        "2,-4,2": 1,  # (x, y) diagonal of the border marker: joined
        "2,-1,-1": 1,  # (x, z) diagonal: not a neighbour of anything in the wall
    }
    s = _state("hex8", {"-4,0,4": [1], "-4,4,0": [2]}, markers, walls)
    after = _claim(s, corner)
    collapsed = after.collapsed()
    assert collapsed[corner] == 1 and collapsed[border] == 1
    assert collapsed.get("2,-4,2") == 1
    assert "2,-1,-1" not in collapsed and after.markers()["2,-1,-1"] == 1


def test_no_border_chain_on_the_hexagonal_board():
    corner, walls, border = _corner("hexagonal")
    markers = {border: 2, "10,-11,1": 1}  # hex neighbour of the border marker
    s = _state("hexagonal", {"-12,0,12": [1], "-12,12,0": [2]}, markers, walls)
    after = _claim(s, corner)
    assert after.collapsed()[border] == 1
    assert after.markers()["10,-11,1"] == 1


def test_square_border_chain_still_spans_moore_neighbours():
    # Corner (0,0) walled by collapsed (1,0) and a player-2 marker at (0,1); the chain
    # continues diagonally to (1,2) and then to (2,3).
    s = _state(
        "square8",
        {"7,7": [1], "5,0": [2]},
        {"0,1": 2, "1,2": 1, "2,3": 2, "5,5": 1},
        {"1,0": 2},
    )
    after = _claim(s, "0,0")
    collapsed = after.collapsed()
    assert {"0,0", "0,1", "1,2", "2,3"} <= set(collapsed)
    assert after.markers() == {"5,5": 1}


def test_without_markers_regions_hold_stacks_of_one_controller():
    s = _state(
        "square8",
        {
            "4,4": [1],  # the mover's stack outside every region
            "3,3": [2],  # ... and a player-2 stack beside it: the open board is no region
            "0,0": [2],  # region {0,0}: controlled by 2 only -> claimable
            "0,7": [1, 2],  # region {0,7}: player 1's ring buried under 2 -> claimable
            "7,0": [2],  # region {6,0, 7,0}: stacks of players 1 and 2 -> not offered
            "6,0": [1],
        },
        collapsed={"1,0": 1, "0,1": 1, "7,6": 1, "6,7": 1, "0,6": 1, "1,7": 1, "5,0": 1, "6,1": 1, "7,1": 1},
    )
    regions = sorted((sorted(_keys(m)) for m in legal_moves(s) if m.type == "choose_territory_option"))
    # (7,7) is empty and {6,0, 7,0} holds two controllers: neither is offered.
    assert regions == [["0,0"], ["0,7"]]


def _recovery_state(stack_order):
    stacks = {"2,2": [1, 2], "5,5": [1, 2, 2]}
    ordered = {k: stacks[k] for k in stack_order}
    ordered["6,1"] = [2]
    return _state("square8", ordered, {"0,7": 1}, player=1, phase="movement")


def test_recovery_pays_from_the_oldest_stack_and_json_keeps_the_order():
    for order in (["2,2", "5,5"], ["5,5", "2,2"]):
        s = _recovery_state(order)
        paying = {m.extraction_stacks for m in legal_moves(s) if m.type == "recovery_slide"}
        assert paying == {(order[0],)}
        again = GameState.from_json(s.to_json())
        assert again == s
        assert {m.extraction_stacks for m in legal_moves(again) if m.type == "recovery_slide"} == paying
