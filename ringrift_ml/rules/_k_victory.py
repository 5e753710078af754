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
    M_LPS_COUNT,
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
    """Does ``p`` have an action that keeps the last-player-standing count open?

    Placements, moves and captures count, and so does an available recovery slide:
    RingRift's reference games keep counting rounds while a recovering player slides
    (hex8_3p_seed0001 ends a full round later than placements and moves alone give).
    Forced elimination does not count, and under ``lpsCountsRecovery: false`` nor does
    recovery (RR-CANON-R172's list of real actions names only placements, moves and
    captures).
    """
    if has_any_placement(S, G, p) or has_stack_action(S, G, p):
        return True
    if S[MT, M_LPS_NO_RECOVERY] == 1:
        return False
    return recovery_eligible(S, G, p) and has_recovery_slide(S, G, p)


@njit(cache=True)
def lps_turn_start(S, G, q):
    """Last-player-standing bookkeeping when ``q`` starts a turn.

    A round of ``q`` runs from one of its turn starts to the next.  It is exclusive
    when, at its start, ``q`` has a real action and no other player has one.  When
    ``q`` starts a turn after ``lpsRoundsRequired`` exclusive rounds in a row, ``q``
    wins before acting.  (This is how RingRift's reference games count: the other
    players' actions are judged when the round opens, hex8_3p_seed0001.)
    """
    if S[MT, M_STATUS] != 0:
        return
    if S[MT, M_LPS_COUNT + q - 1] >= S[MT, M_LPS_REQ]:
        declare_winner(S, G, q, VR_LPS)
        return
    real = real_action_available(S, G, q)
    S[MT, M_TURN_REAL] = 1 if real else 0
    exclusive = real
    if real:
        for r in range(1, S[MT, M_NP] + 1):
            if r != q and real_action_available(S, G, r):
                exclusive = False
                break
    if exclusive:
        S[MT, M_LPS_COUNT + q - 1] += 1
    else:
        S[MT, M_LPS_COUNT + q - 1] = 0
