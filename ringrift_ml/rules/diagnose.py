"""Human-readable reasons for illegal moves, naming the rule that forbids them."""

from __future__ import annotations

from ._layout import (
    CL,
    CP,
    CT,
    F_TYPE,
    H,
    M_FROM,
    M_HAND,
    M_PENDING,
    MK,
    MOVE_TYPE_NAMES,
    MT,
)
from .move import norm_pos


def _cell(spec, pos):
    pos = norm_pos(pos, spec.is_hex)
    key = ",".join(map(str, pos))
    cell = spec.key_to_cell.get(key)
    return cell, key


def _line_cells(spec, a, b):
    """Cells strictly between ``a`` and ``b`` when they share a movement line, else None."""
    for d in range(spec.geo.nd):
        ray = spec.geo.ray[a, d, : spec.geo.rlen[a, d]]
        hits = [i for i, x in enumerate(ray) if x == b]
        if hits:
            return [int(x) for x in ray[: hits[0]]]
    return None


def explain_illegal(state, move, rows) -> str:
    spec, S = state.spec, state.S
    where = f"in {state.board_type} {state.num_players}p, ply {state.ply}, phase {state.current_phase}"
    if state.is_over:
        return f"illegal move {move}: the game is over (player {state.winner} won by {state.victory_reason})"
    if move.player != state.current_player:
        return f"illegal move {move}: it is player {state.current_player}'s turn, not player {move.player}'s"
    legal_types = sorted({MOVE_TYPE_NAMES[int(r[F_TYPE])] for r in rows})
    families = (
        {"process_line", "choose_line_option"},
        {"move_stack", "overtaking_capture", "continue_capture_segment"},
    )
    same_type = move.type in legal_types or any(
        move.type in fam and fam & set(legal_types) for fam in families
    )
    if not same_type:
        why = ""
        pending = int(S[MT, M_PENDING])
        if pending == 1:
            why = " a collapsed line must first be paid for with one ring (RR-CANON-R122);"
        elif pending == 2:
            why = " a claimed region must first be paid for with a whole cap (RR-CANON-R145);"
        return (
            f"illegal move {move} {where}:{why} a {move.type} is not allowed now; "
            f"legal move types: {', '.join(legal_types)}"
        )
    for field, pos in (("to", move.to), ("from", move.from_), ("captureTarget", move.capture_target)):
        if pos is not None and _cell(spec, pos)[0] is None:
            return f"illegal move {move}: {field} {pos} is not on the {spec.name} board"
    reason = _specific_reason(state, move)
    return f"illegal move {move} {where}: {reason or 'it is not among the ' + str(len(rows)) + ' legal moves'}"


def _specific_reason(state, move):
    spec, S = state.spec, state.S
    p = move.player
    t = move.type
    if t == "place_ring":
        c, key = _cell(spec, move.to)
        k = move.placement_count or 1
        if S[CL, c]:
            return f"{key} is collapsed territory; rings cannot be placed there (RR-CANON-R081)"
        if S[MK, c]:
            return f"{key} holds a marker; rings go on empty cells or stacks (RR-CANON-R081)"
        if k > S[MT, M_HAND + p - 1]:
            return f"player {p} has only {int(S[MT, M_HAND + p - 1])} rings in hand (RR-CANON-R081)"
        if S[H, c] and k != 1:
            return "exactly one ring may be placed on an existing stack (RR-CANON-R082)"
        return (
            f"no-dead-placement: a stack placed at {key} would have no legal move or capture "
            f"(RR-CANON-R081/R082)"
        )
    if t in ("move_stack", "overtaking_capture", "continue_capture_segment"):
        a, akey = _cell(spec, move.from_)
        b, bkey = _cell(spec, move.to)
        must = int(S[MT, M_FROM])
        if must >= 0 and a != must:
            return f"the stack at {spec.cell_key(must)} must act this turn (RR-CANON-R090/R103)"
        if S[H, a] == 0 or S[CT, a] != p:
            return f"player {p} controls no stack at {akey}"
        between = _line_cells(spec, a, b)
        if between is None:
            return f"{akey} and {bkey} do not lie on one straight movement line (RR-CANON-R091)"
        h = int(S[H, a])
        dist = len(between) + 1
        if dist < h:
            return f"a stack of height {h} must travel at least {h} cells, not {dist} (RR-CANON-R091)"
        if S[CL, b] or S[H, b]:
            return f"the landing cell {bkey} is occupied or collapsed (RR-CANON-R091)"
        if t == "move_stack":
            for x in between:
                if S[CL, x] or S[H, x]:
                    return f"the path crosses {'collapsed' if S[CL, x] else 'a stack at'} {spec.cell_key(x)} (RR-CANON-R091)"
            return "this non-capture move is not available now"
        tgt, tkey = _cell(spec, move.capture_target)
        if tgt not in between:
            return f"the capture target {tkey} is not between {akey} and {bkey} (RR-CANON-R101)"
        if S[H, tgt] == 0:
            return f"there is no stack to overtake at {tkey} (RR-CANON-R101)"
        if S[CP, tgt] > S[CP, a]:
            return (
                f"the target's cap height {int(S[CP, tgt])} exceeds the attacker's {int(S[CP, a])} "
                f"(RR-CANON-R101)"
            )
        for x in between:
            if x != tgt and (S[CL, x] or S[H, x]):
                return f"the jump path is blocked at {spec.cell_key(x)} (RR-CANON-R101)"
        return None
    if t in ("eliminate_rings_from_stack", "forced_elimination"):
        c, key = _cell(spec, move.to)
        if S[CT, c] != p:
            return f"player {p} does not control a stack at {key}"
    if t == "choose_territory_option":
        return "the region is not disconnected, is represented by every active colour, or cannot be paid for (RR-CANON-R141-R143)"
    if t in ("process_line", "choose_line_option"):
        return "no such line of the player's markers, or the chosen segment is not part of it (RR-CANON-R120-R122)"
    return None
