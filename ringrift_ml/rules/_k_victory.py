"""Compiled victory checks, last-player-standing rounds and final ranks.

Checked after every applied move, in order: ring elimination, territory, early last
player standing (one player controls stacks, nobody else has a ring anywhere), global
stalemate (no stacks and no placement possible).  Round-based last player standing is
evaluated when a turn starts.
"""

from numba import njit

from ._k_moves import has_any_placement, has_stack_action
from ._k_recovery import has_recovery_slide, recovery_eligible
from ._layout import (
    CT,
    H,
    M_ELIM,
    M_ELIMTURN,
    M_HAND,
    M_LAST_ACTOR,
    M_LPS_ANCHOR,
    M_LPS_DUE,
    M_LPS_EXCL,
    M_LPS_LAST,
    M_LPS_LEADER,
    M_LPS_MASK,
    M_LPS_STREAK,
    M_LPS_NO_RECOVERY,
    M_LPS_REQ,
    M_NP,
    M_ONB,
    M_PHASE,
    M_RANK,
    M_REASON,
    M_STATUS,
    M_TERR,
    M_TMIN,
    M_TURN_REAL,
    M_VTHRESH,
    M_WINNER,
    MK,
    MT,
    PH_GAME_OVER,
    VR_EARLY_LPS,
    VR_ELIMINATION,
    VR_LPS,
    VR_STALEMATE,
    VR_TERRITORY,
)


@njit(cache=True)
def _markers_of(S, G, p):
    n = 0
    for c in range(G.ncells):
        if S[MK, c] == p:
            n += 1
    return n


@njit(cache=True)
def _rank_key_cmp(S, G, a, b):
    """> 0 when player ``a`` ranks above ``b`` (territory, eliminated, markers, survival)."""
    ta = S[MT, M_TERR + a - 1]
    tb = S[MT, M_TERR + b - 1]
    if ta != tb:
        return ta - tb
    ea = S[MT, M_ELIM + a - 1]
    eb = S[MT, M_ELIM + b - 1]
    if S[MT, M_REASON] == VR_STALEMATE:
        # At a stalemate rings in hand count as eliminated (RR-CANON-R173).  The
        # counters themselves are left as they are, as in RingRift's records.
        ea += S[MT, M_HAND + a - 1]
        eb += S[MT, M_HAND + b - 1]
    if ea != eb:
        return ea - eb
    ma = _markers_of(S, G, a)
    mb = _markers_of(S, G, b)
    if ma != mb:
        return ma - mb
    # Later permanent elimination ranks higher; never eliminated (-1) beats all.
    xa = S[MT, M_ELIMTURN + a - 1]
    xb = S[MT, M_ELIMTURN + b - 1]
    if xa == xb:
        return 0
    if xa < 0:
        return 1
    if xb < 0:
        return -1
    return xa - xb


@njit(cache=True)
def assign_ranks(S, G, winner):
    np_ = S[MT, M_NP]
    for p in range(1, np_ + 1):
        if p == winner:
            S[MT, M_RANK + p - 1] = 1
            continue
        better = 1  # the winner
        for q in range(1, np_ + 1):
            if q != winner and q != p and _rank_key_cmp(S, G, q, p) > 0:
                better += 1
        S[MT, M_RANK + p - 1] = better + 1


@njit(cache=True)
def declare_winner(S, G, p, reason):
    S[MT, M_STATUS] = 1
    S[MT, M_WINNER] = p
    S[MT, M_REASON] = reason
    S[MT, M_PHASE] = PH_GAME_OVER
    assign_ranks(S, G, p)


@njit(cache=True)
def _stalemate(S, G):
    np_ = S[MT, M_NP]
    S[MT, M_REASON] = VR_STALEMATE  # ranks below count rings in hand as eliminated
    best = 1
    for p in range(2, np_ + 1):
        c = _rank_key_cmp(S, G, p, best)
        if c > 0 or (c == 0 and S[MT, M_LAST_ACTOR] == p):
            best = p
    declare_winner(S, G, best, VR_STALEMATE)


@njit(cache=True)
def check_victory(S, G):
    if S[MT, M_STATUS] != 0:
        return
    np_ = S[MT, M_NP]
    for p in range(1, np_ + 1):
        if S[MT, M_ELIM + p - 1] >= S[MT, M_VTHRESH]:
            declare_winner(S, G, p, VR_ELIMINATION)
            return
    total_terr = 0
    for p in range(1, np_ + 1):
        total_terr += S[MT, M_TERR + p - 1]
    for p in range(1, np_ + 1):
        t = S[MT, M_TERR + p - 1]
        if t >= S[MT, M_TMIN] and t > total_terr - t:
            declare_winner(S, G, p, VR_TERRITORY)
            return
    if S[MT, M_LPS_DUE] > 0:
        declare_winner(S, G, S[MT, M_LPS_DUE], VR_LPS)
        return
    controllers = 0
    any_stack = False
    for c in range(G.ncells):
        if S[H, c] > 0:
            any_stack = True
            controllers |= 1 << (S[CT, c] - 1)
    if any_stack:
        if controllers & (controllers - 1) == 0:
            sole = 1
            while (controllers >> (sole - 1)) & 1 == 0:
                sole += 1
            for q in range(1, np_ + 1):
                if q != sole and (S[MT, M_HAND + q - 1] > 0 or S[MT, M_ONB + q - 1] > 0):
                    return
            declare_winner(S, G, sole, VR_EARLY_LPS)
        return
    for p in range(1, np_ + 1):
        if S[MT, M_HAND + p - 1] > 0 and has_any_placement(S, G, p):
            return
    _stalemate(S, G)


@njit(cache=True)
def real_action_available(S, G, p):
    """Does ``p`` have a real action for last player standing: a placement, a move or a
    capture (RR-CANON-R172)?  Forced elimination never counts; a recovery slide counts
    only under ``lpsCountsRecovery: true``."""
    if has_any_placement(S, G, p) or has_stack_action(S, G, p):
        return True
    if S[MT, M_LPS_NO_RECOVERY] == 1:
        return False
    return recovery_eligible(S, G, p) and has_recovery_slide(S, G, p)


@njit(cache=True)
def _has_material(S, p):
    return S[MT, M_HAND + p - 1] > 0 or S[MT, M_ONB + p - 1] > 0


@njit(cache=True)
def _passes_anchor(last, q, anchor, n):
    """Does the turn order, going forward from seat ``last`` to seat ``q``, reach seat
    ``anchor`` (``q`` included, ``last`` not; a full circle when ``last == q``)?"""
    x = last
    for _ in range(n):
        x = x % n + 1
        if x == anchor:
            return True
        if x == q:
            return False
    return False


@njit(cache=True)
def _complete_round(S):
    """Close the current round: it is exclusive when exactly one player who still has
    material had a real action at the start of their turn in it."""
    n = S[MT, M_NP]
    mask = S[MT, M_LPS_MASK]
    sole = 0
    count = 0
    for p in range(1, n + 1):
        if (mask >> (p - 1)) & 1 and _has_material(S, p):
            count += 1
            sole = p
    if count == 1:
        S[MT, M_LPS_EXCL] = sole
        if S[MT, M_LPS_LEADER] == sole:
            S[MT, M_LPS_STREAK] += 1
        else:
            S[MT, M_LPS_LEADER] = sole
            S[MT, M_LPS_STREAK] = 1
    else:
        S[MT, M_LPS_EXCL] = 0
        S[MT, M_LPS_LEADER] = 0
        S[MT, M_LPS_STREAK] = 0
    S[MT, M_LPS_MASK] = 0


@njit(cache=True)
def lps_turn_start(S, G, q):
    """Last-player-standing bookkeeping when ``q`` starts a turn (RR-CANON-R172 as
    RingRift's reference games count it; evidence in docs/rules-engine.md).

    Rounds are cycles of turns that open at one seat, the anchor: the seat of the first
    turn start after tracking began (for a new game, the game's second turn).  A round
    is complete when the turn order next reaches the anchor again; it is exclusive when
    exactly one player who still has material had a real action available at the start
    of their own turn in it.  A player whose exclusive rounds reach
    ``lpsRoundsRequired`` in a row wins at the start of their next turn, before acting,
    provided they still have a real action there (RR-CANON-R172: the winner is the one
    player who acts; a streak holder left with only a forced elimination plays it, and
    the round in progress, without them, ends the streak).
    """
    if S[MT, M_STATUS] != 0:
        return
    n = S[MT, M_NP]
    if S[MT, M_LPS_ANCHOR] == 0:
        S[MT, M_LPS_ANCHOR] = q
    elif _passes_anchor(S[MT, M_LPS_LAST], q, S[MT, M_LPS_ANCHOR], n):
        _complete_round(S)
    S[MT, M_LPS_LAST] = q
    real = real_action_available(S, G, q)
    if real and S[MT, M_LPS_LEADER] == q and S[MT, M_LPS_STREAK] >= S[MT, M_LPS_REQ]:
        # Declared by check_victory, after the victories that the move which ended
        # the previous turn may have won.
        S[MT, M_LPS_DUE] = q
        return
    S[MT, M_TURN_REAL] = 1 if real else 0
    if real:
        S[MT, M_LPS_MASK] |= 1 << (q - 1)
