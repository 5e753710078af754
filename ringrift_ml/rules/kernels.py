"""The compiled read surface of the rules, for numba code outside the package.

Compiled evaluators (e.g. the heuristic's features) run inside numba and cannot use
:class:`~ringrift_ml.rules.view.StateView`; they call these functions instead, which
numba compiles into the caller, so they cost nothing over raw indexing while keeping
the state layout private to the rules package.  ``G`` is ``BoardSpec.geo``.
"""

from numba import njit

from ._k_board import state_hash  # noqa: F401  (public here: equal positions hash equally)
from ._k_moves import capture_target, free_run, stack_has_action  # noqa: F401  (public here)
from ._k_turn import apply_trusted as apply_row  # noqa: F401  (public here: apply a legal move row in place)
from ._k_turn import legal_moves as legal_rows  # noqa: F401  (public here: fill a buffer, return the count)
from ._layout import (
    F_TYPE,
    M_RANK,
    MOVE_WIDTH,
    MV_CONTINUE_CAPTURE,
    MV_OVERTAKING_CAPTURE,
    CL,
    CP,
    CT,
    H,
    M_CUR,
    M_ELIM,
    M_FROM,
    M_HAND,
    M_LINELEN,
    M_LPS_LEADER,
    M_LPS_REQ,
    M_LPS_STREAK,
    M_NP,
    M_ONB,
    M_PENDING,
    M_PHASE,
    M_RPP,
    M_STATUS,
    M_SWAP_AVAIL,
    M_TERR,
    M_TMIN,
    M_VTHRESH,
    M_WINNER,
    MK,
    MT,
    RG,
)


@njit(cache=True, inline="always")
def is_finished(S):
    """Whether the game is over."""
    return S[MT, M_STATUS] != 0


@njit(cache=True, inline="always")
def num_players(S):
    return S[MT, M_NP]


@njit(cache=True, inline="always")
def current_player(S):
    return S[MT, M_CUR]


@njit(cache=True, inline="always")
def rings_in_hand(S, p):
    return S[MT, M_HAND + p - 1]


@njit(cache=True, inline="always")
def eliminated_rings(S, p):
    return S[MT, M_ELIM + p - 1]


@njit(cache=True, inline="always")
def territory(S, p):
    return S[MT, M_TERR + p - 1]


@njit(cache=True, inline="always")
def rings_on_board(S, p):
    return S[MT, M_ONB + p - 1]


@njit(cache=True, inline="always")
def rings_per_player(S):
    return S[MT, M_RPP]


@njit(cache=True, inline="always")
def line_length(S):
    return S[MT, M_LINELEN]


@njit(cache=True, inline="always")
def elimination_threshold(S):
    return S[MT, M_VTHRESH]


@njit(cache=True, inline="always")
def territory_minimum(S):
    return S[MT, M_TMIN]


@njit(cache=True, inline="always")
def stack_height(S, c):
    return S[H, c]


@njit(cache=True, inline="always")
def cap_height(S, c):
    return S[CP, c]


@njit(cache=True, inline="always")
def controller(S, c):
    """Player controlling the stack on ``c`` (0: no stack)."""
    return S[CT, c]


@njit(cache=True, inline="always")
def marker_owner(S, c):
    return S[MK, c]


@njit(cache=True, inline="always")
def collapsed_owner(S, c):
    """Player owning the collapsed cell ``c`` (0: not collapsed)."""
    return S[CL, c]


@njit(cache=True, inline="always")
def phase_index(S):
    """Index of the current phase in ``PHASE_NAMES``."""
    return S[MT, M_PHASE]


@njit(cache=True, inline="always")
def final_rank(S, p):
    """Player ``p``'s final rank (1 = winner, ties share a rank; 0 while the game runs)."""
    return S[MT, M_RANK + p - 1]


@njit(cache=True, inline="always")
def pending_index(S):
    """The pending elimination decision (``StateView.pending_index``)."""
    return S[MT, M_PENDING]


@njit(cache=True, inline="always")
def must_act_cell(S):
    """The cell whose stack must act (a placed stack, a capture's origin); -1: none."""
    return S[MT, M_FROM]


@njit(cache=True, inline="always")
def swap_available(S):
    """Whether the player to act may play ``swap_sides`` now (``StateView.swap_available``)."""
    return S[MT, M_SWAP_AVAIL] == 2 and S[MT, M_CUR] == 2


@njit(cache=True, inline="always")
def lps_leader(S):
    """The player alone with a real action in the last completed rounds (0: none)."""
    return S[MT, M_LPS_LEADER]


@njit(cache=True, inline="always")
def lps_streak(S):
    """How many consecutive completed rounds :func:`lps_leader` alone had a real action."""
    return S[MT, M_LPS_STREAK]


@njit(cache=True, inline="always")
def lps_rounds_required(S):
    """Rounds of last player standing needed to win."""
    return S[MT, M_LPS_REQ]


@njit(cache=True, inline="always")
def winner(S):
    """The winner of a finished game (0: none yet, or no single winner)."""
    return S[MT, M_WINNER]


@njit(cache=True, inline="always")
def is_capture_row(row):
    """Is the move row a capture segment (first or continued)?"""
    t = row[F_TYPE]
    return t == MV_OVERTAKING_CAPTURE or t == MV_CONTINUE_CAPTURE


ROW_WIDTH = MOVE_WIDTH
"""Columns of a move row (the buffers ``legal_rows`` fills are ``(n, ROW_WIDTH)`` int64)."""


@njit(cache=True, inline="always")
def ring_owner(S, c, i):
    """Owner of ring ``i`` of the stack on ``c``, counted from the bottom (0)."""
    return ((S[RG, c] >> (2 * i)) & 3) + 1


__all__ = [
    "ROW_WIDTH",
    "apply_row",
    "capture_target",
    "cap_height",
    "collapsed_owner",
    "controller",
    "current_player",
    "eliminated_rings",
    "elimination_threshold",
    "final_rank",
    "free_run",
    "is_capture_row",
    "is_finished",
    "legal_rows",
    "line_length",
    "lps_leader",
    "lps_rounds_required",
    "lps_streak",
    "marker_owner",
    "must_act_cell",
    "num_players",
    "pending_index",
    "phase_index",
    "ring_owner",
    "rings_in_hand",
    "rings_on_board",
    "rings_per_player",
    "stack_has_action",
    "stack_height",
    "state_hash",
    "swap_available",
    "territory",
    "territory_minimum",
    "winner",
]
