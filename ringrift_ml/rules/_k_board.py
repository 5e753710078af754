"""Compiled cell-level primitives: stacks, markers, collapsed cells, ring accounting.

Every change to a cell goes through these functions so that the derived fields
(controller, cap height), the per-colour ring counts and the incremental board hash
stay consistent with the rings themselves.
"""

from numba import njit

from ._layout import (
    AGE,
    M_AGE_SEQ,
    M_CUR,
    M_FROM,
    M_PENDING,
    M_PHASE,
    M_STATUS,
    M_SWAP_AVAIL,
    CL,
    CP,
    CT,
    H,
    M_ELIM,
    M_ELIMTURN,
    M_HAND,
    M_HASH,
    M_ONB,
    M_PLY,
    M_TERR,
    M_TOTAL_ELIM,
    MK,
    MT,
    RG,
)

_K1 = 0x3F58476D1CE4E5B9
_K2 = 0x14D049BB133111EB


@njit(cache=True)
def mix64(x):
    """A splitmix64-style finaliser on wrapping int64 arithmetic."""
    x = x ^ ((x >> 30) & 0x3FFFFFFFF)
    x = x * _K1
    x = x ^ ((x >> 27) & 0x1FFFFFFFFF)
    x = x * _K2
    x = x ^ ((x >> 31) & 0x1FFFFFFFF)
    return x


@njit(cache=True)
def stack_hash(G, c, h, bits):
    return mix64(G.zst[c] ^ (bits * _K1) ^ (h * _K2))


@njit(cache=True)
def ring_at(bits, i):
    """Colour (1-based) of ring ``i`` counted from the bottom."""
    return ((bits >> (2 * i)) & 3) + 1


@njit(cache=True)
def cap_of(bits, h):
    top = (bits >> (2 * (h - 1))) & 3
    k = 1
    while k < h and ((bits >> (2 * (h - 1 - k))) & 3) == top:
        k += 1
    return k


@njit(cache=True)
def write_stack(S, G, c, h, bits):
    """Replace the stack on ``c`` by ``h`` rings ``bits`` (``h == 0`` removes it)."""
    oh = S[H, c]
    if oh > 0:
        S[MT, M_HASH] ^= stack_hash(G, c, oh, S[RG, c])
    elif h > 0:
        # A stack appearing on an empty cell is the newest; one changed in place keeps
        # its age.  RingRift pays recovery costs from the oldest eligible stack.
        S[MT, M_AGE_SEQ] += 1
        S[AGE, c] = S[MT, M_AGE_SEQ]
    if h > 0:
        S[H, c] = h
        S[RG, c] = bits
        S[CT, c] = ((bits >> (2 * (h - 1))) & 3) + 1
        S[CP, c] = cap_of(bits, h)
        S[MT, M_HASH] ^= stack_hash(G, c, h, bits)
    else:
        S[H, c] = 0
        S[RG, c] = 0
        S[CT, c] = 0
        S[CP, c] = 0
        S[AGE, c] = 0


@njit(cache=True)
def note_permanent_elimination(S, p):
    """Record the ply at which player ``p`` lost its last ring anywhere."""
    if S[MT, M_ELIMTURN + p - 1] < 0 and S[MT, M_ONB + p - 1] == 0 and S[MT, M_HAND + p - 1] == 0:
        S[MT, M_ELIMTURN + p - 1] = S[MT, M_PLY]


@njit(cache=True)
def credit_elimination(S, colour, causer):
    """A ring of ``colour`` left the board for good; ``causer`` is credited."""
    S[MT, M_ONB + colour - 1] -= 1
    S[MT, M_ELIM + causer - 1] += 1
    S[MT, M_TOTAL_ELIM] += 1
    note_permanent_elimination(S, colour)


@njit(cache=True)
def push_top(S, G, c, p, k):
    """Place ``k`` rings of player ``p`` on top of ``c`` (from p's hand)."""
    h = S[H, c]
    bits = S[RG, c] if h > 0 else 0
    for i in range(k):
        bits |= (p - 1) << (2 * (h + i))
    write_stack(S, G, c, h + k, bits)
    S[MT, M_ONB + p - 1] += k


@njit(cache=True)
def pop_top(S, G, c):
    """Remove the top ring of ``c``; returns its colour.  Ring counts are the caller's."""
    h = S[H, c]
    bits = S[RG, c]
    colour = ((bits >> (2 * (h - 1))) & 3) + 1
    bits &= (1 << (2 * (h - 1))) - 1
    write_stack(S, G, c, h - 1, bits)
    return colour


@njit(cache=True)
def push_bottom(S, G, c, colour):
    """Tuck a captured ring under the stack on ``c``."""
    h = S[H, c]
    write_stack(S, G, c, h + 1, (S[RG, c] << 2) | (colour - 1))


@njit(cache=True)
def move_stack_cells(S, G, src, dst):
    """Move the whole stack from ``src`` to the empty (stack-free) cell ``dst``."""
    h = S[H, src]
    bits = S[RG, src]
    write_stack(S, G, src, 0, 0)
    write_stack(S, G, dst, h, bits)


@njit(cache=True)
def eliminate_top(S, G, c, causer):
    colour = pop_top(S, G, c)
    credit_elimination(S, colour, causer)
    return colour


@njit(cache=True)
def eliminate_cap(S, G, c, causer):
    """Eliminate the whole cap of the stack on ``c``; returns the rings removed."""
    k = S[CP, c]
    for _ in range(k):
        eliminate_top(S, G, c, causer)
    return k


@njit(cache=True)
def eliminate_stack(S, G, c, causer):
    """Eliminate every ring of the stack on ``c`` (territory collapse)."""
    n = S[H, c]
    for _ in range(n):
        eliminate_top(S, G, c, causer)
    return n


@njit(cache=True)
def bottommost_index(bits, h, p):
    """Index (from the bottom) of the lowest ring of colour ``p``; -1 if none."""
    for i in range(h):
        if ((bits >> (2 * i)) & 3) + 1 == p:
            return i
    return -1


@njit(cache=True)
def has_buried_ring(S, c, p):
    """Does the stack on ``c`` hold a ring of ``p`` below its top ring?"""
    h = S[H, c]
    bits = S[RG, c]
    for i in range(h - 1):
        if ((bits >> (2 * i)) & 3) + 1 == p:
            return True
    return False


@njit(cache=True)
def extract_bottommost(S, G, c, p, causer):
    """Eliminate player ``p``'s bottommost ring of the stack on ``c`` (recovery cost)."""
    h = S[H, c]
    bits = S[RG, c]
    i = bottommost_index(bits, h, p)
    low = bits & ((1 << (2 * i)) - 1)
    high = bits >> (2 * i + 2)
    write_stack(S, G, c, h - 1, low | (high << (2 * i)))
    credit_elimination(S, p, causer)


@njit(cache=True)
def set_marker(S, G, c, p):
    old = S[MK, c]
    if old == p:
        return
    if old > 0:
        S[MT, M_HASH] ^= G.zmk[c, old]
    S[MK, c] = p
    if p > 0:
        S[MT, M_HASH] ^= G.zmk[c, p]


@njit(cache=True)
def collapse_cell(S, G, c, owner):
    """Turn ``c`` into territory of ``owner`` (clearing a marker first)."""
    if S[MK, c] > 0:
        set_marker(S, G, c, 0)
    S[CL, c] = owner
    S[MT, M_HASH] ^= G.zcl[c, owner]
    S[MT, M_TERR + owner - 1] += 1


@njit(cache=True)
def count_controlled(S, G, p):
    n = 0
    for c in range(G.ncells):
        if S[CT, c] == p:
            n += 1
    return n


@njit(cache=True)
def rebuild_derived(S, G):
    """Recompute controller, cap, per-colour ring counts and the board hash from the
    raw rings, markers and collapsed cells (after a state is loaded)."""
    h_all = 0
    for q in range(4):
        S[MT, M_ONB + q] = 0
    for c in range(G.ncells):
        h = S[H, c]
        if h > 0:
            bits = S[RG, c]
            S[CT, c] = ((bits >> (2 * (h - 1))) & 3) + 1
            S[CP, c] = cap_of(bits, h)
            h_all ^= stack_hash(G, c, h, bits)
            for i in range(h):
                S[MT, M_ONB + ((bits >> (2 * i)) & 3)] += 1
        else:
            S[CT, c] = 0
            S[CP, c] = 0
            S[RG, c] = 0
            S[AGE, c] = 0
        if S[MK, c] > 0:
            h_all ^= G.zmk[c, S[MK, c]]
        if S[CL, c] > 0:
            h_all ^= G.zcl[c, S[CL, c]]
    S[MT, M_HASH] = h_all


@njit(cache=True)
def state_hash(S):
    """Board hash combined with the turn fields: equal positions hash equally."""
    h = S[MT, M_HASH]
    for i in (M_CUR, M_PHASE, M_FROM, M_PENDING, M_STATUS, M_SWAP_AVAIL):
        h = mix64(h ^ ((S[MT, i] + 7) * _K2))
    for p in range(4):
        h = mix64(h ^ ((S[MT, M_HAND + p] + 1) * _K1 + p))
    return h
