"""The public rules API: ``new_game``, ``legal_moves``, ``apply_move``."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from ._codec import legal_rows, row_to_move
from ._k_turn import apply_trusted, setup_turn
from ._layout import (
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
from ._match import IllegalMoveError, match_index  # noqa: F401  (IllegalMoveError is public here)
from .move import Move
from .options import check_option, check_player_count, normalize_options, write_options
from .state import GameState


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
    return rows[match_index(state.spec, state.S, rows, move)]


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
