"""Compiled turn machine: legal moves per phase, move application, turn rotation.

``legal_moves`` lists every legal move of the player to act, bookkeeping moves
(``no_*_action``) when they are the only option.  ``apply_trusted`` applies a move
from that list in place; it does not validate (the Python layer and the generators
do), which keeps search and playouts fast.
"""

import numpy as np
from numba import njit

from ._k_board import (
    collapse_cell,
    eliminate_cap,
    eliminate_top,
    extract_bottommost,
    has_buried_ring,
    pop_top,
    push_top,
    set_marker,
    write_stack,
)
from ._k_lines import collapse_line, find_lines, has_line
from ._k_moves import (
    emit,
    gen_placements,
    gen_stack_moves,
    has_any_placement,
    has_capture_from,
    has_reach_to_stack,
    has_stack_action,
)
from ._k_recovery import apply_recovery, gen_recovery, recovery_eligible
from ._k_territory import collapse_region, find_regions, region_cells
from ._k_victory import check_victory, lps_turn_start
from ._layout import (
    CP,
    CT,
    EC_LINE,
    EC_RECOVERY,
    EC_TERRITORY,
    F_A,
    F_B,
    F_C,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    H,
    M_ACTED,
    M_CAPTURE_UNSCORED,
    M_CUR,
    M_FREE_MOVE,
    M_FROM,
    M_HAND,
    M_LAST_ACTOR,
    M_LINE_AUTO,
    M_LINELEN,
    M_NP,
    M_ONB,
    M_PENDING,
    M_PHASE,
    M_PLY,
    M_RECOVERY,
    M_STATUS,
    M_SWAP_AVAIL,
    M_SWAPPED,
    M_TERR,
    MK,
    MT,
    MV_CHOOSE_LINE_OPTION,
    MV_CHOOSE_TERRITORY,
    MV_CONTINUE_CAPTURE,
    MV_ELIMINATE,
    MV_FORCED_ELIMINATION,
    MV_MOVE_STACK,
    MV_NO_LINE,
    MV_NO_MOVEMENT,
    MV_NO_PLACEMENT,
    MV_NO_TERRITORY,
    MV_OVERTAKING_CAPTURE,
    MV_PLACE_RING,
    MV_PROCESS_LINE,
    MV_RECOVERY_SLIDE,
    MV_SKIP_CAPTURE,
    MV_SKIP_PLACEMENT,
    MV_SKIP_RECOVERY,
    MV_SKIP_TERRITORY,
    MV_SWAP_SIDES,
    PEND_LINE_ELIM,
    PEND_NONE,
    PEND_TERR_ELIM,
    PH_CAPTURE,
    PH_CHAIN_CAPTURE,
    PH_FORCED_ELIM,
    PH_LINE,
    PH_MOVEMENT,
    PH_RING_PLACEMENT,
    PH_TERRITORY,
    RG,
)


# ---- small predicates -------------------------------------------------------------
@njit(cache=True)
def controls_any(S, G, p):
    for c in range(G.ncells):
        if S[CT, c] == p:
            return True
    return False


@njit(cache=True)
def has_region(S, G, p):
    buf = np.empty((1, 4), np.int64)
    return find_regions(S, G, p, S[MT, M_RECOVERY] == 1, buf) > 0


@njit(cache=True)
def forced_elimination_due(S, G, p):
    """Blocked with stacks: nothing was done this turn but ``p`` controls a stack."""
    return S[MT, M_ACTED] == 0 and controls_any(S, G, p)


# ---- legal move generation ----------------------------------------------------------
@njit(cache=True)
def _gen_line_moves(S, G, p, out, n):
    L = S[MT, M_LINELEN]
    lines = np.empty((64, 3), np.int64)
    k = find_lines(S, G, p, L, lines)
    for i in range(min(k, 64)):
        start = lines[i, 0]
        d = lines[i, 1]
        length = lines[i, 2]
        n = emit(out, n, MV_PROCESS_LINE, p, -1, start, d, length, -1, 0)
        n = emit(out, n, MV_CHOOSE_LINE_OPTION, p, -1, start, d, length, -1, 0)
        if length > L:
            for off in range(length - L + 1):
                n = emit(out, n, MV_CHOOSE_LINE_OPTION, p, -1, start, d, length, off, 0)
    return n


@njit(cache=True)
def _gen_acting_stacks(S, G, p, out, n, with_moves, capture_type):
    """Moves of the stack that must act (placed or capturing), else of every stack
    ``p`` controls (a loaded state may not name the capturing stack)."""
    frm = S[MT, M_FROM]
    if frm >= 0:
        return gen_stack_moves(S, G, frm, p, out, n, with_moves, capture_type)
    for c in range(G.ncells):
        if S[CT, c] == p:
            n = gen_stack_moves(S, G, c, p, out, n, with_moves, capture_type)
    return n


@njit(cache=True)
def legal_moves(S, G, out):
    """Fill ``out`` with the legal moves of the player to act; returns how many.

    When the return value exceeds ``out.shape[0]`` only the first rows were written;
    call again with a larger buffer.
    """
    if S[MT, M_STATUS] != 0:
        return 0
    p = S[MT, M_CUR]
    ph = S[MT, M_PHASE]
    n = 0
    if ph == PH_RING_PLACEMENT:
        if S[MT, M_SWAP_AVAIL] == 2 and p == 2:
            n = emit(out, n, MV_SWAP_SIDES, p, -1, -1, 0, 0, 0, 0)
        n0 = n
        n = gen_placements(S, G, p, out, n)
        # With rings in hand, placing is optional when a controlled stack can act or
        # the player may recover instead (RR-CANON-R080, R110); the skip is then a
        # choice even if no placement is legal.  Otherwise there is nothing to do.
        # "Can act" is the reference's looser test: a stack exactly its height away
        # counts too (see has_reach_to_stack).
        if S[MT, M_HAND + p - 1] > 0 and (
            has_stack_action(S, G, p) or has_reach_to_stack(S, G, p) or recovery_eligible(S, G, p)
        ):
            n = emit(out, n, MV_SKIP_PLACEMENT, p, -1, -1, 0, 0, 0, 0)
        elif n == n0:
            n = emit(out, n, MV_NO_PLACEMENT, p, -1, -1, 0, 0, 0, 0)
    elif ph == PH_MOVEMENT:
        if S[MT, M_SWAP_AVAIL] == 2 and p == 2 and S[MT, M_ACTED] == 0:
            # Only reachable from a loaded state: seat 2 has not acted yet this turn.
            n = emit(out, n, MV_SWAP_SIDES, p, -1, -1, 0, 0, 0, 0)
        base = n
        n = _gen_acting_stacks(S, G, p, out, n, True, MV_OVERTAKING_CAPTURE)
        if n == base:
            if recovery_eligible(S, G, p):
                n = gen_recovery(S, G, p, out, n)
                if n > base:
                    n = emit(out, n, MV_SKIP_RECOVERY, p, -1, -1, 0, 0, 0, 0)
        if n == base:
            n = emit(out, n, MV_NO_MOVEMENT, p, -1, -1, 0, 0, 0, 0)
    elif ph == PH_CAPTURE or ph == PH_CHAIN_CAPTURE:
        kind = MV_OVERTAKING_CAPTURE if ph == PH_CAPTURE else MV_CONTINUE_CAPTURE
        n = _gen_acting_stacks(S, G, p, out, n, False, kind)
        if ph == PH_CAPTURE:
            n = emit(out, n, MV_SKIP_CAPTURE, p, -1, -1, 0, 0, 0, 0)
    elif ph == PH_LINE:
        if S[MT, M_PENDING] == PEND_LINE_ELIM:
            for c in range(G.ncells):
                if S[CT, c] == p:
                    n = emit(out, n, MV_ELIMINATE, p, -1, c, EC_LINE, 1, 0, 0)
        else:
            n = _gen_line_moves(S, G, p, out, n)
            if n == 0:
                n = emit(out, n, MV_NO_LINE, p, -1, -1, 0, 0, 0, 0)
    elif ph == PH_TERRITORY:
        if S[MT, M_PENDING] == PEND_TERR_ELIM:
            if S[MT, M_RECOVERY] == 1:
                for c in range(G.ncells):
                    if S[H, c] > 0 and has_buried_ring(S, c, p):
                        n = emit(out, n, MV_ELIMINATE, p, -1, c, EC_RECOVERY, 1, 0, 0)
            else:
                for c in range(G.ncells):
                    if S[CT, c] == p:
                        n = emit(out, n, MV_ELIMINATE, p, -1, c, EC_TERRITORY, 0, 0, 0)
        else:
            regions = np.empty((256, 4), np.int64)
            k = find_regions(S, G, p, S[MT, M_RECOVERY] == 1, regions)
            for i in range(min(k, 256)):
                n = emit(out, n, MV_CHOOSE_TERRITORY, p, -1, regions[i, 0], regions[i, 1], regions[i, 2], 0, regions[i, 3])
            if k > 0:
                n = emit(out, n, MV_SKIP_TERRITORY, p, -1, -1, 0, 0, 0, 0)
            else:
                n = emit(out, n, MV_NO_TERRITORY, p, -1, -1, 0, 0, 0, 0)
    elif ph == PH_FORCED_ELIM:
        if has_any_placement(S, G, p):
            # The player skipped a legal placement (the reference's looser "can act"
            # test offered the skip), so RingRift's engine has no forced-elimination
            # choice to offer and its host eliminates automatically: the smallest cap,
            # then the lowest stack, then the first cell (hex8_4p_seed0108 step 154).
            n = emit(out, n, MV_FORCED_ELIMINATION, p, -1, auto_elimination_target(S, G, p), 0, 0, 0, 0)
        else:
            for c in range(G.ncells):
                if S[CT, c] == p:
                    n = emit(out, n, MV_FORCED_ELIMINATION, p, -1, c, 0, 0, 0, 0)
    return n


@njit(cache=True)
def auto_elimination_target(S, G, p):
    """The stack RingRift's host picks for an automatic forced elimination."""
    best = -1
    for c in range(G.ncells):
        if S[CT, c] != p:
            continue
        if best < 0 or S[CP, c] < S[CP, best] or (S[CP, c] == S[CP, best] and S[H, c] < S[H, best]):
            best = c
    return best


# ---- turn rotation --------------------------------------------------------------------
@njit(cache=True)
def start_turn(S, G, q):
    """Hand the turn to ``q`` (after a rotation; last-player-standing rounds count it)."""
    setup_turn(S, q)
    lps_turn_start(S, G, q)


@njit(cache=True)
def setup_turn(S, q):
    """Turn fields for ``q`` starting in ring placement, without last-player-standing
    bookkeeping (the opening turn of a game is not counted, as in RingRift's reference
    games)."""
    S[MT, M_CUR] = q
    S[MT, M_PHASE] = PH_RING_PLACEMENT
    S[MT, M_FROM] = -1
    S[MT, M_PENDING] = PEND_NONE
    S[MT, M_ACTED] = 0
    S[MT, M_RECOVERY] = 0
    if S[MT, M_SWAP_AVAIL] == 1 and q == 2:
        S[MT, M_SWAP_AVAIL] = 2
    elif S[MT, M_SWAP_AVAIL] == 2:
        S[MT, M_SWAP_AVAIL] = 0


@njit(cache=True)
def end_turn(S, G):
    p = S[MT, M_CUR]
    np_ = S[MT, M_NP]
    q = p
    for _ in range(np_):
        q = q % np_ + 1
        if S[MT, M_HAND + q - 1] > 0 or S[MT, M_ONB + q - 1] > 0:
            break
    start_turn(S, G, q)


@njit(cache=True)
def finish_turn(S, G, p):
    if forced_elimination_due(S, G, p):
        S[MT, M_PHASE] = PH_FORCED_ELIM
    else:
        end_turn(S, G)


# ---- move application -------------------------------------------------------------
@njit(cache=True)
def _direction_to(G, src, dst):
    for d in range(G.nd):
        for k in range(G.rlen[src, d]):
            if G.ray[src, d, k] == dst:
                return d, k + 1
    return -1, 0


@njit(cache=True)
def _apply_path(S, G, p, src, dst, target):
    """Move (or capture with) the stack on ``src`` to ``dst`` with marker effects."""
    d, dist = _direction_to(G, src, dst)
    h = S[H, src]
    bits = S[RG, src]
    write_stack(S, G, src, 0, 0)
    set_marker(S, G, src, p)
    for k in range(dist - 1):
        x = G.ray[src, d, k]
        if x == target:
            continue
        owner = S[MK, x]
        if owner == p:
            collapse_cell(S, G, x, p)
            if target >= 0 and S[MT, M_CAPTURE_UNSCORED] == 1:
                S[MT, M_TERR + p - 1] -= 1  # variant: the cell collapses but is not scored
        elif owner > 0:
            set_marker(S, G, x, p)
    if target >= 0:
        colour = pop_top(S, G, target)
        bits = (bits << 2) | (colour - 1)
        h += 1
    landed_on_marker = S[MK, dst] > 0
    if landed_on_marker:
        set_marker(S, G, dst, 0)
    write_stack(S, G, dst, h, bits)
    if landed_on_marker:
        eliminate_top(S, G, dst, p)


@njit(cache=True)
def _after_capture_or_move(S, G, p, dst, capture_phase):
    if S[CT, dst] == p and has_capture_from(S, G, dst):
        S[MT, M_PHASE] = capture_phase
        S[MT, M_FROM] = dst
    else:
        S[MT, M_PHASE] = PH_LINE
        S[MT, M_FROM] = -1


@njit(cache=True)
def _after_line_decision(S, G, p):
    if has_line(S, G, p, S[MT, M_LINELEN]):
        S[MT, M_PHASE] = PH_LINE
    else:
        S[MT, M_PHASE] = PH_TERRITORY


@njit(cache=True)
def _territory_or_end_turn(S, G, p):
    """After a paid elimination: on to territory processing while a region is left to
    claim, else the turn ends there (the payment was its last action).  True when the
    turn ended."""
    if has_region(S, G, p):
        S[MT, M_PHASE] = PH_TERRITORY
        return False
    S[MT, M_ACTED] = 1
    S[MT, M_LAST_ACTOR] = p
    finish_turn(S, G, p)
    return True


@njit(cache=True)
def apply_trusted(S, G, mv):
    """Apply a legal move in place, then run the victory checks."""
    t = mv[F_TYPE]
    p = mv[F_PLAYER]
    acted = True
    if S[MT, M_SWAP_AVAIL] == 2 and t != MV_SWAP_SIDES:
        S[MT, M_SWAP_AVAIL] = 0
    if t == MV_PLACE_RING:
        c = mv[F_TO]
        k = mv[F_B]
        push_top(S, G, c, p, k)
        S[MT, M_HAND + p - 1] -= k
        S[MT, M_FROM] = -1 if S[MT, M_FREE_MOVE] else c
        S[MT, M_PHASE] = PH_MOVEMENT
    elif t == MV_SKIP_PLACEMENT or t == MV_NO_PLACEMENT:
        acted = False
        S[MT, M_FROM] = -1
        S[MT, M_PHASE] = PH_MOVEMENT
    elif t == MV_SWAP_SIDES:
        acted = False
        S[MT, M_SWAP_AVAIL] = 0
        S[MT, M_SWAPPED] ^= 1
    elif t == MV_MOVE_STACK:
        _apply_path(S, G, p, mv[F_FROM], mv[F_TO], -1)
        _after_capture_or_move(S, G, p, mv[F_TO], PH_CAPTURE)
    elif t == MV_OVERTAKING_CAPTURE or t == MV_CONTINUE_CAPTURE:
        _apply_path(S, G, p, mv[F_FROM], mv[F_TO], mv[F_A])
        _after_capture_or_move(S, G, p, mv[F_TO], PH_CHAIN_CAPTURE)
    elif t == MV_SKIP_CAPTURE or t == MV_NO_MOVEMENT or t == MV_SKIP_RECOVERY:
        acted = False
        S[MT, M_PHASE] = PH_LINE
        S[MT, M_FROM] = -1
    elif t == MV_RECOVERY_SLIDE:
        apply_recovery(S, G, p, mv)
        S[MT, M_RECOVERY] = 1
        S[MT, M_PHASE] = PH_LINE
        S[MT, M_FROM] = -1
    elif t == MV_PROCESS_LINE or t == MV_CHOOSE_LINE_OPTION:
        start = mv[F_TO]
        d = mv[F_A]
        length = mv[F_B]
        off = mv[F_C]
        if off < 0:
            collapse_line(S, G, start, d, 0, length, p)
            if controls_any(S, G, p):
                S[MT, M_PENDING] = PEND_LINE_ELIM
            else:
                _after_line_decision(S, G, p)
        else:
            collapse_line(S, G, start, d, off, S[MT, M_LINELEN], p)
            _after_line_decision(S, G, p)
    elif t == MV_NO_LINE:
        acted = False
        if has_region(S, G, p):
            S[MT, M_PHASE] = PH_TERRITORY
        elif forced_elimination_due(S, G, p):
            S[MT, M_PHASE] = PH_FORCED_ELIM
        else:
            S[MT, M_PHASE] = PH_TERRITORY
    elif t == MV_ELIMINATE:
        c = mv[F_TO]
        ctx = mv[F_A]
        S[MT, M_PENDING] = PEND_NONE
        if ctx == EC_LINE:
            eliminate_top(S, G, c, p)
            if S[MT, M_LINE_AUTO] == 1 and not has_line(S, G, p, S[MT, M_LINELEN]):
                # Variant: nothing left to decide in the line phase, so it closes,
                # as the territory phase does after its payment.
                acted = not _territory_or_end_turn(S, G, p)
        else:
            if ctx == EC_RECOVERY:
                extract_bottommost(S, G, c, p, p)
            else:
                eliminate_cap(S, G, c, p)
            acted = not _territory_or_end_turn(S, G, p)
    elif t == MV_CHOOSE_TERRITORY:
        cells = np.empty(G.ncells, np.int64)
        cnt = region_cells(S, G, mv[F_TO], mv[F_A], cells)
        collapse_region(S, G, p, mv[F_A], cells, cnt)
        S[MT, M_PENDING] = PEND_TERR_ELIM
    elif t == MV_SKIP_TERRITORY or t == MV_NO_TERRITORY:
        acted = False
        finish_turn(S, G, p)
    elif t == MV_FORCED_ELIMINATION:
        eliminate_cap(S, G, mv[F_TO], p)
        S[MT, M_LAST_ACTOR] = p
        end_turn(S, G)
        acted = False
    if acted:
        S[MT, M_ACTED] = 1
        S[MT, M_LAST_ACTOR] = p
    S[MT, M_PLY] += 1
    check_victory(S, G)


@njit(cache=True)
def apply_region_decision(S, G, p, border, cells, count):
    """Claim the given cells for ``p`` as a region, as a ``choose_territory_option``
    would, without checking that they form a disconnected region."""
    collapse_region(S, G, p, border, cells, count)
    S[MT, M_PENDING] = PEND_TERR_ELIM
    S[MT, M_PHASE] = PH_TERRITORY
    S[MT, M_ACTED] = 1
    S[MT, M_LAST_ACTOR] = p
    S[MT, M_PLY] += 1
    check_victory(S, G)
