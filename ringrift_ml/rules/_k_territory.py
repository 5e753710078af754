"""Compiled territory regions (RR-CANON-R140-R145).

A region is a connected component (territory adjacency) of the cells that are neither
collapsed nor markers of one border colour ``B``, for each colour ``B`` with a marker
on the board.  It is *claimable* by the mover ``P`` when

* it is not the only component (something lies beyond its border),
* it lacks a stack of at least one player who still has rings on the board (under the
  ``territoryRepresentation: "rings"`` option: it lacks every ring of at least one
  player who controls a stack), and
* ``P`` can pay for it from outside: a controlled stack (normal turn) or a stack with
  a buried ring of ``P`` (a recovery turn, which pays by extraction).

With no marker left anywhere, regions are the components cut off by collapsed cells
alone (``B = 0``), and RingRift's data then offers only those that hold a stack and
miss a colour among *all* their rings (buried ones included); see
``docs/rules-engine.md``.

The same cell set can arise for several border colours; it is reported once.  Regions
are identified by ``(smallest cell, border colour)``: components for one border colour
are disjoint, so that pair names exactly one region.
"""

import numpy as np
from numba import njit

from ._k_board import collapse_cell, eliminate_stack, has_buried_ring, mix64
from ._layout import CL, CT, H, M_NP, M_ONB, M_TERR_REPR, MK, MT, RG


@njit(cache=True)
def label_components(S, G, border, labels, queue):
    """Label passable cells with component ids; blocked cells get -1.  Returns the count."""
    n = G.ncells
    for c in range(n):
        if S[CL, c] > 0 or (border > 0 and S[MK, c] == border):
            labels[c] = -1
        else:
            labels[c] = -2
    k = 0
    for s in range(n):
        if labels[s] != -2:
            continue
        labels[s] = k
        head = 0
        tail = 1
        queue[0] = s
        while head < tail:
            c = queue[head]
            head += 1
            for j in range(6):
                x = G.tnb[c, j]
                if x >= 0 and labels[x] == -2:
                    labels[x] = k
                    queue[tail] = x
                    tail += 1
        k += 1
    return k


@njit(cache=True)
def _is_payer(S, c, p, recovery):
    if recovery:
        return S[H, c] > 0 and has_buried_ring(S, c, p)
    return S[CT, c] == p


@njit(cache=True)
def _ring_colours(S, c):
    """Bit set of the colours of every ring in the stack on ``c``."""
    bits = S[RG, c]
    out = 0
    for i in range(S[H, c]):
        out |= 1 << ((bits >> (2 * i)) & 3)
    return out


@njit(cache=True)
def find_regions(S, G, p, recovery, out):
    """Claimable regions for ``p``: ``out[k] = (min cell, border, size, signature)``."""
    n = G.ncells
    nplayers = S[MT, M_NP]
    by_rings = S[MT, M_TERR_REPR] == 1
    # ``active``: the colours a region must not lack all of; ``colours[j]`` below: the
    # colours present in component ``j``.  The option swaps which side counts rings
    # and which counts stack control (see options.py).
    active = 0
    if not by_rings:
        for q in range(1, nplayers + 1):
            if S[MT, M_ONB + q - 1] > 0:
                active |= 1 << (q - 1)
    payers = 0
    has_marker = np.zeros(5, np.bool_)
    for c in range(n):
        if by_rings and S[H, c] > 0:
            active |= 1 << (S[CT, c] - 1)
        if _is_payer(S, c, p, recovery):
            payers += 1
        if S[MK, c] > 0:
            has_marker[S[MK, c]] = True
    if payers == 0:
        return 0
    labels = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    colours = np.zeros(n, np.int64)
    size = np.zeros(n, np.int64)
    first = np.zeros(n, np.int64)
    inside_payers = np.zeros(n, np.int64)
    sig = np.zeros(n, np.int64)
    any_marker = False
    for q in range(1, nplayers + 1):
        any_marker = any_marker or has_marker[q]
    found = 0
    for border in range(0 if not any_marker else 1, nplayers + 1):
        if border > 0 and not has_marker[border]:
            continue
        k = label_components(S, G, border, labels, queue)
        if k < 2:
            continue
        for j in range(k):
            colours[j] = 0
            size[j] = 0
            first[j] = -1
            inside_payers[j] = 0
            sig[j] = 0
        for c in range(n):
            j = labels[c]
            if j < 0:
                continue
            if first[j] < 0:
                first[j] = c
            size[j] += 1
            sig[j] += mix64(c + 1)
            if S[H, c] > 0:
                if by_rings:
                    colours[j] |= _ring_colours(S, c)
                else:
                    colours[j] |= 1 << (S[CT, c] - 1)
            if _is_payer(S, c, p, recovery):
                inside_payers[j] += 1
        for j in range(k):
            if (active & ~colours[j]) == 0 or payers - inside_payers[j] <= 0:
                continue
            if border == 0 and (colours[j] == 0 or (not by_rings and colours[j] & (colours[j] - 1) != 0)):
                # Walled in by collapsed cells alone: only an area whose stacks all
                # belong to one player is a region (none: an empty area is not).
                continue
            dup = False
            for r in range(min(found, out.shape[0])):
                if out[r, 0] == first[j] and out[r, 2] == size[j] and out[r, 3] == sig[j]:
                    dup = True
                    break
            if dup:
                continue
            if found < out.shape[0]:
                out[found, 0] = first[j]
                out[found, 1] = border
                out[found, 2] = size[j]
                out[found, 3] = sig[j]
            found += 1
    return found


@njit(cache=True)
def region_cells(S, G, rep, border, cells):
    """Write the cells of the component of ``rep`` (border colour ``border``); count."""
    n = G.ncells
    if S[CL, rep] > 0 or (border > 0 and S[MK, rep] == border):
        return 0
    labels = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    for c in range(n):
        if S[CL, c] > 0 or (border > 0 and S[MK, c] == border):
            labels[c] = -1
        else:
            labels[c] = -2
    labels[rep] = 0
    head = 0
    tail = 1
    queue[0] = rep
    while head < tail:
        c = queue[head]
        head += 1
        for j in range(6):
            x = G.tnb[c, j]
            if x >= 0 and labels[x] == -2:
                labels[x] = 0
                queue[tail] = x
                tail += 1
    for i in range(tail):
        cells[i] = queue[i]
    return tail


@njit(cache=True)
def collapse_region(S, G, p, border, cells, count):
    """Claim a region for ``p``: interior and border markers collapse, rings go.

    The border markers that collapse are the border-colour markers next to the region
    (territory adjacency) and, where the board has a marker chain (``G.chain``), every
    marker of any colour joined to them through ``G.wnb``: the eight (x, y) neighbours,
    which on hex boards are the six hex neighbours plus the cells at cube offsets
    +-(1, 1, -2).  Both choices come from RingRift's reference games; see
    ``docs/rules-engine.md``."""
    n = G.ncells
    wall = np.zeros(n, np.bool_)
    for i in range(count):
        wall[cells[i]] = True  # the interior is handled below, not as wall
    if border > 0:
        queue = np.empty(n, np.int64)
        tail = 0
        for i in range(count):
            c = cells[i]
            for j in range(6):
                x = G.tnb[c, j]
                if x >= 0 and not wall[x] and S[MK, x] == border:
                    wall[x] = True
                    queue[tail] = x
                    tail += 1
        head = 0
        while G.chain and head < tail:
            c = queue[head]
            head += 1
            for j in range(8):
                x = G.wnb[c, j]
                if x >= 0 and not wall[x] and S[MK, x] > 0:
                    wall[x] = True
                    queue[tail] = x
                    tail += 1
    for i in range(count):
        c = cells[i]
        if S[H, c] > 0:
            eliminate_stack(S, G, c, p)
        collapse_cell(S, G, c, p)
    if border > 0:
        for x in range(n):
            if wall[x] and S[MK, x] > 0:
                collapse_cell(S, G, x, p)
