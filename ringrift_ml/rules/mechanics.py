"""Rule mechanics applied outside the turn machine.

RingRift's contract vectors include *decision vectors*: a territory region or an
elimination target is handed to the engine directly, on hand-made boards where it
would not be offered as a legal move (an open region, the wrong seat to act).  They
test the mechanics of a decision (what collapses, which rings go, who is credited)
rather than its legality.  These functions apply exactly the kernels that legal
moves use; the public ``apply_move`` never goes through here.
"""

from __future__ import annotations

import numpy as np

from ._k_turn import apply_region_decision, apply_trusted
from ._layout import EC_LINE, EC_TERRITORY, MK, MOVE_WIDTH, MV_ELIMINATE
from .move import Move, norm_pos
from .state import GameState


def claim_region(state: GameState, player: int, cells: list) -> GameState:
    """Process ``cells`` as a region claimed by ``player`` (border: the single colour
    of markers around it, if there is one)."""
    spec = state.spec
    idx = np.array(
        [spec.cell_of_key(",".join(map(str, norm_pos(c, spec.is_hex))), "region") for c in cells], dtype=np.int64
    )
    S = state.copy_array()
    inside = set(idx.tolist())
    colours = set()
    for c in idx:
        for x in spec.geo.tnb[c]:
            if x >= 0 and x not in inside and S[MK, x] > 0:
                colours.add(int(S[MK, x]))
    border = colours.pop() if len(colours) == 1 else 0
    buf = np.zeros(max(len(idx), 1), dtype=np.int64)
    buf[: len(idx)] = idx
    apply_region_decision(S, spec.geo, player, border, buf, len(idx))
    return GameState(spec, S)


def eliminate_from(state: GameState, player: int, cell_pos, context: str = "territory") -> GameState:
    """Pay an elimination decision from the stack at ``cell_pos``."""
    spec = state.spec
    cell = spec.cell_of_key(",".join(map(str, norm_pos(cell_pos, spec.is_hex))), "to")
    row = np.zeros(MOVE_WIDTH, dtype=np.int64)
    row[0] = MV_ELIMINATE
    row[1] = player
    row[2] = -1
    row[3] = cell
    row[4] = EC_LINE if context == "line" else EC_TERRITORY
    S = state.copy_array()
    apply_trusted(S, spec.geo, row)
    return GameState(spec, S)


def apply_decision(state: GameState, move: Move) -> GameState:
    """Apply a territory or elimination decision through the mechanics above."""
    if move.type == "choose_territory_option":
        return claim_region(state, move.player, list(move.region or ()))
    if move.type == "eliminate_rings_from_stack":
        return eliminate_from(state, move.player, move.to, move.elimination_context or "territory")
    raise ValueError(f"move: {move.type} is not a decision that mechanics can apply")
