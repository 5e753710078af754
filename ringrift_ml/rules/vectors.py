"""RingRift contract vectors (v2): run one vector and check its assertions.

A vector is a serialized state, a move (or an ``initialMove`` followed by an
``expectedChainSequence``), and assertions about the resulting state.  ``run_vector``
returns the list of failed assertions (empty when the vector holds).
"""

from __future__ import annotations

from typing import Optional

from .api import IllegalMoveError, apply_move, legal_moves
from .mechanics import apply_decision
from .move import Move, norm_pos
from .move import _pos as parse_pos
from .state import GameState

# Assertion keys that describe the run itself rather than the final state.
_RUN_KEYS = {
    "totalCapturesInChain",
    "finalStackHeight",
    "finalStackController",
    "targetStacksRemaining",
    "markersCreated",
    "extractionCount",
    "noLineCollapse",
}


def _pos(p, spec, field: str) -> tuple:
    """A chain segment's position, checked as Move.from_json checks positions."""
    pos = parse_pos(p, field)
    if pos is None:
        raise ValueError(f"{field}: missing")
    return norm_pos(pos, spec.is_hex)


def _apply_chain(state: GameState, vec: dict, first: Move) -> tuple[GameState, int]:
    """Apply the initial move, then the recorded chain segments; returns captures made."""
    state = apply_move(state, first)
    captures = 1 if first.type in ("overtaking_capture", "continue_capture_segment") else 0
    for i, seg in enumerate(vec["input"].get("expectedChainSequence", [])[1:], 1):
        field = f"expectedChainSequence[{i}]"
        if not isinstance(seg, dict):
            raise ValueError(f"{field}: expected a segment object")
        mv = Move(
            "continue_capture_segment",
            first.player,
            from_=_pos(seg.get("from"), state.spec, f"{field}.from"),
            to=_pos(seg.get("landing"), state.spec, f"{field}.landing"),
            capture_target=_pos(seg.get("captureTarget"), state.spec, f"{field}.captureTarget"),
        )
        state = apply_move(state, mv)
        captures += 1
    return state, captures


# Hosts fill in the no-action moves of the decision phases (RR-CANON-R076); the
# interactive phases' no-action moves are the player's own.
_BOOKKEEPING = {"no_line_action", "no_territory_action"}


def _auto_bookkeeping(state: GameState, player: int) -> GameState:
    """Apply the mover's forced no-action moves, as a host does, until a decision
    is needed or the turn passes."""
    for _ in range(16):
        if state.is_over or state.current_player != player:
            return state
        moves = legal_moves(state)
        if len(moves) != 1 or moves[0].type not in _BOOKKEEPING:
            return state
        state = apply_move(state, moves[0])
    return state


def _finish_turn(state: GameState, player: int) -> GameState:
    """Play the mover's remaining forced decisions (single legal move) to the turn's end."""
    for _ in range(64):
        if state.is_over or state.current_player != player:
            return state
        moves = legal_moves(state)
        if len(moves) != 1 and not all(m.type == "continue_capture_segment" for m in moves):
            return state
        state = apply_move(state, moves[0])
    return state


def run_vector(vec: dict, rules_options: Optional[dict] = None) -> tuple[list, Optional[GameState]]:
    """Run one contract vector (under ``rules_options`` on top of its state's own);
    returns (failed assertion messages, final state)."""
    inp = vec["input"]
    move_json = inp.get("move") or inp.get("initialMove")
    options = dict(rules_options or {})
    # A vector that exercises the pie rule runs with the pie rule enabled.
    if move_json.get("type") == "swap_sides":
        options["swapRuleEnabled"] = True
    state = GameState.from_json(inp["state"], options)
    before = state
    move = Move.from_json(move_json)
    try:
        if "initialMove" in inp and inp.get("expectedPhaseSequence"):
            state = apply_move(state, move)
            state = _finish_turn(state, move.player)
            captures = None
        elif "initialMove" in inp:
            state, captures = _apply_chain(state, vec, move)
        else:
            captures = None
            try:
                state = apply_move(state, move)
            except IllegalMoveError:
                if move.type not in ("choose_territory_option", "eliminate_rings_from_stack"):
                    raise
                # A decision vector: the region or target is given, not offered.
                state = apply_decision(state, move)
        state = _auto_bookkeeping(state, move.player)
    except IllegalMoveError as e:
        return [f"move rejected: {e}"], None
    failures = []
    asserts = vec["expectedOutput"].get("assertions", {})
    facts = _facts(before, state, move, captures)
    for key, want in asserts.items():
        if key not in facts:
            failures.append(f"{key}: assertion not understood")
            continue
        got = facts[key]
        if got != want:
            failures.append(f"{key}: expected {want!r}, engine gives {got!r}")
    return failures, state


def _facts(before: GameState, after: GameState, move: Move, captures) -> dict:
    n = after.num_players
    facts = {
        "currentPlayer": after.current_player,
        "currentPhase": after.current_phase,
        "gameStatus": after.game_status,
        "stackCount": after.stack_count(),
        "markerCount": after.marker_count(),
        "collapsedCount": after.collapsed_count(),
        "sInvariantDelta": after.progress() - before.progress(),
        "victoryWinner": after.winner,
        "victoryReason": after.victory_reason,
        "pendingDecisionType": pending_decision_type(after),
    }
    for p in range(1, n + 1):
        facts[f"player{p}RingsInHand"] = after.rings_in_hand(p)
        facts[f"player{p}EliminatedRings"] = after.eliminated_rings(p)
        facts[f"player{p}TerritorySpaces"] = after.territory(p)
    if captures is not None:
        facts["totalCapturesInChain"] = captures
    stacks = after.stacks()
    if move.to is not None and captures is not None:
        # The capturing stack ends where the last segment landed.
        last = _last_landing(before, after, move)
        if last is not None and last in stacks:
            facts["finalStackHeight"] = len(stacks[last])
            facts["finalStackController"] = stacks[last][-1]
        targets_before = {k for k, r in before.stacks().items() if r[-1] != move.player}
        facts["targetStacksRemaining"] = len([k for k in targets_before if k in stacks and stacks[k][-1] != move.player])
        facts["markersCreated"] = after.marker_count() - before.marker_count()
    if move.type == "recovery_slide":
        facts["extractionCount"] = after.eliminated_rings(move.player) - before.eliminated_rings(move.player)
        facts["noLineCollapse"] = after.collapsed_count() == before.collapsed_count()
    return facts


def _last_landing(before: GameState, after: GameState, move: Move):
    stacks = after.stacks()
    grown = [k for k, r in stacks.items() if r[-1] == move.player and len(r) > len(before.stacks().get(k, []))]
    return grown[0] if len(grown) == 1 else None


def pending_decision_type(state: GameState) -> Optional[str]:
    """The kind of decision the player to act faces, in RingRift's vocabulary."""
    if state.is_over:
        return None
    phase = state.current_phase
    pending = state.pending_decision
    if phase == "line_processing":
        if pending == "line_elimination":
            return "line_reward_elimination"
        if any(m.type in ("process_line", "choose_line_option") for m in legal_moves(state)):
            return "select_line_to_process"
    if phase == "territory_processing":
        if pending == "territory_elimination":
            return "territory_self_elimination"
        if any(m.type == "choose_territory_option" for m in legal_moves(state)):
            return "select_territory_region"
    if phase == "chain_capture":
        return "chain_capture"
    if phase == "forced_elimination":
        return "forced_elimination"
    return None


def run_vector_file(path) -> list:
    """``(vector id, failed assertions)`` for every vector of a ``*.vectors.json``
    bundle; a vector whose state or move cannot be read fails with the reason."""
    import json
    from pathlib import Path

    out = []
    for vec in json.loads(Path(path).read_text()).get("vectors", []):
        try:
            problems, _ = run_vector(vec)
        except (ValueError, KeyError, TypeError) as e:
            problems = [f"unreadable vector: {e}"]
        out.append((vec.get("id"), problems))
    return out
