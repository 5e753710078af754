"""The public rules API: ``new_game``, ``legal_moves``, ``apply_move``."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from ._codec import legal_rows, row_to_move
from ._k_turn import apply_trusted, setup_turn
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
    M_CUR,
    M_ELIMTURN,
    M_FROM,
    M_HAND,
    M_LINELEN,
    M_NP,
    M_RPP,
    M_SWAP_AVAIL,
    M_TERR_LEGACY,
    M_TMIN,
    M_VTHRESH,
    MT,
    PH_RING_PLACEMENT,
)
from .boards import board_spec
from .diagnose import explain_illegal
from .move import NO_TARGET_TYPES, Move, norm_pos
from .options import check_option, check_player_count, normalize_options, write_options
from .state import GameState


class IllegalMoveError(ValueError):
    """A move that the rules do not allow in the given state; the message says why."""

    def __init__(self, message: str, move=None):
        super().__init__(message)
        self.move = move


def new_game(
    board_type: str,
    num_players: int = 2,
    *,
    swap_rule: Optional[bool] = None,
    lps_rounds: Optional[int] = None,
    placed_stack_must_move: Optional[bool] = None,
    rules_options: Optional[Mapping[str, Any]] = None,
) -> GameState:
    """The starting position: empty board, full hands, player 1 to place.

    ``swap_rule`` enables the two-player pie rule; ``lps_rounds`` is the number of
    consecutive exclusive rounds for a last-player-standing win;
    ``placed_stack_must_move=False`` lets any controlled stack move after a placement.
    ``rules_options`` takes RingRift's ``rulesOptions`` object (every option of
    :mod:`ringrift_ml.rules.options`, e.g. ``options.GOLDEN_GAME_RULES``); a keyword
    above and the same option in ``rules_options`` must agree.
    """
    spec = board_spec(board_type)
    if isinstance(num_players, bool) or not isinstance(num_players, int) or not 2 <= num_players <= 4:
        raise ValueError(f"num_players: RingRift is played by 2-4 players, got {num_players!r}")
    normalize_options(rules_options)  # checked as given, before the keywords join it
    opts = dict(rules_options or {})
    keywords = {"swap_rule": ("swapRuleEnabled", swap_rule), "lps_rounds": ("lpsRoundsRequired", lps_rounds),
                "placed_stack_must_move": ("placedStackMustMove", placed_stack_must_move)}
    for kw, (key, value) in keywords.items():
        if value is None:
            continue
        check_option(key, value, kw)
        if key in opts and opts[key] != value:
            raise ValueError(f"{kw}: {value!r} contradicts rules_options.{key} = {opts[key]!r}")
        opts[key] = value
    opts = normalize_options(opts)
    check_player_count(opts, num_players, "swap_rule" if swap_rule is not None else "rules_options.swapRuleEnabled")
    S = GameState.empty_array(spec)
    S[MT, M_NP] = num_players
    S[MT, M_FROM] = -1
    write_options(S, opts)
    S[MT, M_SWAP_AVAIL] = 1 if opts["swapRuleEnabled"] else 0
    S[MT, M_VTHRESH] = spec.victory_threshold(num_players)
    S[MT, M_TMIN] = spec.territory_minimum(num_players)
    S[MT, M_TERR_LEGACY] = spec.territory_legacy_threshold()
    S[MT, M_LINELEN] = spec.line_length(num_players)
    S[MT, M_RPP] = spec.rings_per_player
    for p in range(num_players):
        S[MT, M_HAND + p] = spec.rings_per_player
        S[MT, M_ELIMTURN + p] = -1
    S[MT, M_CUR] = 1
    setup_turn(S, 1)
    assert S[MT, 2] == PH_RING_PLACEMENT
    return GameState(spec, S)


def legal_move_rows(state: GameState) -> np.ndarray:
    """Legal moves as kernel rows ``(K, 8)`` (cached on the state)."""
    if state._legal is None:
        state._legal = legal_rows(state.spec, state.S)
    return state._legal


def legal_moves(state: GameState) -> list:
    """Every legal move of the player to act (bookkeeping moves when they are the
    only option); empty once the game is over."""
    if not isinstance(state, GameState):
        raise TypeError(f"state: expected a GameState, got {type(state).__name__}")
    rows = legal_move_rows(state)
    spec, S = state.spec, state.S
    # Plain Python ints decode several times faster than numpy scalars.
    return [row_to_move(spec, S, r) for r in rows.tolist()]


def match_move(state: GameState, move: Move) -> np.ndarray:
    """The kernel row of ``move`` in ``state``; IllegalMoveError if it is not legal."""
    if not isinstance(move, Move):
        raise TypeError(f"move: expected a Move, got {type(move).__name__}")
    rows = legal_move_rows(state)
    spec, S = state.spec, state.S
    if move.type == "recovery_slide":
        return _match_recovery(state, move, rows)
    fast = _match_simple(spec, rows, move)
    if fast is not None:
        return fast
    want = move.key(state.spec.is_hex)
    # A record may leave out an elimination's context: a state has one pending
    # elimination at a time, so the target alone names the decision.
    width = 3 if move.type == "eliminate_rings_from_stack" and move.elimination_context is None else len(want)
    for r in rows:
        if _row_may_match(spec, r, move) and row_to_move(spec, S, r).key(spec.is_hex)[:width] == want[:width]:
            return r
    raise IllegalMoveError(explain_illegal(state, move, rows), move)


def _match_recovery(state: GameState, move: Move, rows) -> np.ndarray:
    """Recovery slides may leave out what the slide itself decides (its mode, the
    line option of an exact-length line, the extraction of a line recovery)."""
    spec, S = state.spec, state.S
    hexb = spec.is_hex
    found = []
    for r in rows:
        if not _row_may_match(spec, r, move):
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
        found.append(r)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise IllegalMoveError(
            f"ambiguous move {move}: {len(found)} recovery slides match; give recoveryOption, "
            "collapsePositions or extractionStacks",
            move,
        )
    raise IllegalMoveError(explain_illegal(state, move, rows), move)


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


def _match_simple(spec, rows: np.ndarray, move: Move):
    """Match placements, movements, captures, eliminations and bookkeeping moves on the
    raw rows (no decoding).  ``None`` means "use the general matcher", which also
    writes the error message when nothing matches."""
    if move.type in NO_TARGET_TYPES:
        fields = ()
    else:
        fields = _SIMPLE_FIELDS.get(move.type)
        if fields is None:
            return None
    mask = (rows[:, F_TYPE] == _TYPE_CODE[move.type]) & (rows[:, F_PLAYER] == move.player)
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
        mask &= rows[:, col] == value
    hits = np.flatnonzero(mask)
    return rows[hits[0]] if len(hits) else None


def _row_may_match(spec, row, move: Move) -> bool:
    """Cheap pre-filter on type and player before building the full key."""
    name = MOVE_TYPE_NAMES[int(row[F_TYPE])]
    if int(row[F_PLAYER]) != move.player:
        return False
    if name == move.type:
        return True
    # process_line and choose_line_option both spell "collapse the whole line".
    return {name, move.type} == {"process_line", "choose_line_option"}


def apply_move(state: GameState, move: Move) -> GameState:
    """The successor state; raises IllegalMoveError naming the rule that forbids it."""
    if not isinstance(state, GameState):
        raise TypeError(f"state: expected a GameState, got {type(state).__name__}")
    row = match_move(state, move)
    S = state.copy_array()
    apply_trusted(S, state.spec.geo, row)
    return GameState(state.spec, S)


def apply_row(state: GameState, row: np.ndarray) -> GameState:
    """Apply a legal kernel row (from :func:`legal_move_rows`) without re-validation."""
    S = state.copy_array()
    apply_trusted(S, state.spec.geo, row)
    return GameState(state.spec, S)
