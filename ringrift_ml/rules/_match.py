"""Matching a public :class:`Move` against the compiled legal-move rows of a position.

Works on a raw state array and its rows, so that the validating API (one immutable
state per move) and the in-place replay (``replay.py``) share one matcher; the
explanation of an illegal move is built only when a move does not match.
"""

from __future__ import annotations

import numpy as np

from ._codec import row_to_move
from ._layout import (
    EC_LINE,
    EC_RECOVERY,
    EC_TERRITORY,
    F_A,
    F_B,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    MOVE_TYPE_NAMES,
)
from .boards import BoardSpec
from .move import NO_TARGET_TYPES, Move, norm_pos


class IllegalMoveError(ValueError):
    """A move that the rules do not allow in the given state; the message says why."""

    def __init__(self, message: str, move=None):
        super().__init__(message)
        self.move = move


def match_index(spec: BoardSpec, S: np.ndarray, rows: np.ndarray, move: Move) -> int:
    """Index in ``rows`` (the legal rows of ``S``) of the decision ``move`` names.

    Raises :class:`IllegalMoveError` with the reason when no legal move matches."""
    if move.type == "recovery_slide":
        return _match_recovery(spec, S, rows, move)
    fast = _match_simple(spec, rows, move)
    if fast is not None:
        return fast
    want = move.key(spec.is_hex)
    # A record may leave out an elimination's context: a state has one pending
    # elimination at a time, so the target alone names the decision.
    width = 3 if move.type == "eliminate_rings_from_stack" and move.elimination_context is None else len(want)
    for i, r in enumerate(rows):
        if _row_may_match(r, move) and row_to_move(spec, S, r).key(spec.is_hex)[:width] == want[:width]:
            return i
    raise _illegal(spec, S, rows, move)


def _illegal(spec: BoardSpec, S: np.ndarray, rows: np.ndarray, move: Move) -> IllegalMoveError:
    from .diagnose import explain_illegal
    from .state import GameState

    return IllegalMoveError(explain_illegal(GameState(spec, S.copy()), move, rows), move)


def _match_recovery(spec: BoardSpec, S: np.ndarray, rows: np.ndarray, move: Move) -> int:
    """Recovery slides may leave out what the slide itself decides (its mode, the
    line option of an exact-length line, the extraction of a line recovery)."""
    hexb = spec.is_hex
    found = []
    for i, r in enumerate(rows):
        if not _row_may_match(r, move):
            continue
        cand = row_to_move(spec, S, r)
        if (cand.from_, cand.to) != (norm_pos(move.from_, hexb), norm_pos(move.to, hexb)):
            continue
        if move.recovery_mode is not None and move.recovery_mode != cand.recovery_mode:
            continue
        if move.recovery_option is not None and cand.recovery_option not in (None, move.recovery_option):
            continue
        if move.recovery_option is None and cand.recovery_option == 2:
            continue  # option 2 (free, partial collapse) must be asked for
        if move.collapsed and cand.recovery_option == 2:
            if {norm_pos(p, hexb) for p in move.collapsed} != set(cand.collapsed):
                continue
        if move.extraction_stacks and cand.extraction_stacks and tuple(move.extraction_stacks) != cand.extraction_stacks:
            continue
        found.append(i)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise IllegalMoveError(
            f"ambiguous move {move}: {len(found)} recovery slides match; give recoveryOption, "
            "collapsePositions or extractionStacks",
            move,
        )
    raise _illegal(spec, S, rows, move)


_TYPE_CODE = {name: code for code, name in enumerate(MOVE_TYPE_NAMES)}
_CONTEXT_CODE = {"line": EC_LINE, "territory": EC_TERRITORY, "recovery": EC_RECOVERY}
# Row fields that identify a move of each simple type, and how to read them off a Move.
_SIMPLE_FIELDS = {
    "place_ring": ((F_TO, "to"), (F_B, "count")),
    "move_stack": ((F_FROM, "from_"), (F_TO, "to")),
    "overtaking_capture": ((F_FROM, "from_"), (F_TO, "to"), (F_A, "capture_target")),
    "continue_capture_segment": ((F_FROM, "from_"), (F_TO, "to"), (F_A, "capture_target")),
    "eliminate_rings_from_stack": ((F_TO, "to"), (F_A, "context")),
    "forced_elimination": ((F_TO, "to"),),
}


def _match_simple(spec: BoardSpec, rows: np.ndarray, move: Move):
    """Match placements, movements, captures, eliminations and bookkeeping moves on the
    raw rows (no decoding).  ``None`` means "use the general matcher", which also
    writes the error message when nothing matches."""
    if move.type in NO_TARGET_TYPES:
        fields = ()
    else:
        fields = _SIMPLE_FIELDS.get(move.type)
        if fields is None:
            return None
    want = [(F_TYPE, _TYPE_CODE[move.type]), (F_PLAYER, move.player)]
    for col, attr in fields:
        if attr == "count":
            value = move.placement_count or 1
        elif attr == "context":
            if move.elimination_context is None:
                continue  # one pending elimination at a time: the target names it
            value = _CONTEXT_CODE[move.elimination_context]
        else:
            value = spec.pos_to_cell.get(norm_pos(getattr(move, attr), spec.is_hex))
            if value is None:
                return None
        want.append((col, value))
    if len(rows) <= 16:
        # Short lists (most positions after placement): plain Python beats numpy's
        # per-call overhead.
        for i, r in enumerate(rows.tolist()):
            if all(r[col] == v for col, v in want):
                return i
        return None
    mask = np.ones(len(rows), dtype=bool)
    for col, v in want:
        mask &= rows[:, col] == v
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _row_may_match(row, move: Move) -> bool:
    """Cheap pre-filter on type and player before building the full key."""
    name = MOVE_TYPE_NAMES[int(row[F_TYPE])]
    if int(row[F_PLAYER]) != move.player:
        return False
    if name == move.type:
        return True
    # process_line and choose_line_option both spell "collapse the whole line".
    return {name, move.type} == {"process_line", "choose_line_option"}
