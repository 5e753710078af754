"""Conversions between kernel move rows and public :class:`Move` objects."""

from __future__ import annotations

import numpy as np

from ._k_lines import line_cell
from ._k_territory import region_cells
from ._k_turn import legal_moves as _k_legal_moves
from ._layout import (
    EC_LINE,
    EC_RECOVERY,
    EC_TERRITORY,
    F_A,
    F_B,
    F_C,
    F_D,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    H,
    M_LINELEN,
    MAX_MOVES,
    MOVE_TYPE_NAMES,
    MOVE_WIDTH,
    MT,
    MV_CHOOSE_LINE_OPTION,
    MV_CHOOSE_TERRITORY,
    MV_CONTINUE_CAPTURE,
    MV_ELIMINATE,
    MV_FORCED_ELIMINATION,
    MV_MOVE_STACK,
    MV_OVERTAKING_CAPTURE,
    MV_PLACE_RING,
    MV_PROCESS_LINE,
    MV_RECOVERY_SLIDE,
    RM_FALLBACK,
    RM_LINE,
    RM_STACK_STRIKE,
)
from .boards import BoardSpec
from .move import Move

_CONTEXT_NAMES = {EC_LINE: "line", EC_TERRITORY: "territory", EC_RECOVERY: "recovery"}
_mk = Move._unchecked
_MODE_NAMES = {RM_LINE: "line", RM_FALLBACK: "fallback", RM_STACK_STRIKE: "stack_strike"}


def legal_rows(spec: BoardSpec, S: np.ndarray) -> np.ndarray:
    """All legal move rows for state array ``S`` (buffer grown as needed)."""
    cap = MAX_MOVES
    while True:
        buf = np.empty((cap, MOVE_WIDTH), dtype=np.int64)
        n = _k_legal_moves(S, spec.geo, buf)
        if n <= cap:
            return buf[:n].copy()
        cap = n


def _p(spec: BoardSpec, cell: int):
    return spec.positions[cell]


def row_to_move(spec: BoardSpec, S: np.ndarray, row) -> Move:
    t = int(row[F_TYPE])
    name = MOVE_TYPE_NAMES[t]
    player = int(row[F_PLAYER])
    if t == MV_PLACE_RING:
        to = int(row[F_TO])
        return _mk(name, player, to=_p(spec, to), placement_count=int(row[F_B]), placed_on_stack=bool(S[H, to] > 0))
    if t == MV_MOVE_STACK:
        return _mk(name, player, from_=_p(spec, int(row[F_FROM])), to=_p(spec, int(row[F_TO])))
    if t in (MV_OVERTAKING_CAPTURE, MV_CONTINUE_CAPTURE):
        return _mk(
            name,
            player,
            from_=_p(spec, int(row[F_FROM])),
            to=_p(spec, int(row[F_TO])),
            capture_target=_p(spec, int(row[F_A])),
        )
    if t in (MV_PROCESS_LINE, MV_CHOOSE_LINE_OPTION):
        start, d, length, off = int(row[F_TO]), int(row[F_A]), int(row[F_B]), int(row[F_C])
        cells = [_p(spec, line_cell(spec.geo, start, d, i)) for i in range(length)]
        collapsed = None
        if t == MV_CHOOSE_LINE_OPTION:
            L = int(S[MT, M_LINELEN])
            collapsed = tuple(cells) if off < 0 else tuple(cells[off : off + L])
        return _mk(name, player, to=cells[0], line=tuple(cells), collapsed=collapsed)
    if t == MV_ELIMINATE:
        ctx = int(row[F_A])
        return _mk(
            name,
            player,
            to=_p(spec, int(row[F_TO])),
            elimination_context=_CONTEXT_NAMES[ctx],
            eliminated_count=1 if ctx in (EC_LINE, EC_RECOVERY) else None,
        )
    if t == MV_CHOOSE_TERRITORY:
        buf = np.empty(spec.n_cells, dtype=np.int64)
        cnt = region_cells(S, spec.geo, int(row[F_TO]), int(row[F_A]), buf)
        cells = tuple(_p(spec, int(c)) for c in sorted(buf[:cnt]))
        return _mk(name, player, to=cells[0], region=cells)
    if t == MV_FORCED_ELIMINATION:
        return _mk(name, player, to=_p(spec, int(row[F_TO])))
    if t == MV_RECOVERY_SLIDE:
        mode = int(row[F_A])
        ext = int(row[F_B])
        option = None
        collapsed = None
        if mode == RM_LINE:
            option = int(row[F_C])
            if option == 2:
                packed = int(row[F_D])
                off, a, start = packed % 64, (packed // 64) % 8, packed // 512
                L = int(S[MT, M_LINELEN])
                # The line only exists after the slide: walk from its recorded start.
                collapsed = tuple(_p(spec, line_cell(spec.geo, start, a, i)) for i in range(off, off + L))
        return _mk(
            name,
            player,
            from_=_p(spec, int(row[F_FROM])),
            to=_p(spec, int(row[F_TO])),
            recovery_mode=_MODE_NAMES[mode],
            recovery_option=option,
            collapsed=collapsed,
            extraction_stacks=(spec.cell_key(ext),) if ext >= 0 and mode != RM_LINE else None,
        )
    return _mk(name, player)


_NO_TARGET = frozenset(
    code for code, name in enumerate(MOVE_TYPE_NAMES)
    if name in ("skip_placement", "no_placement_action", "swap_sides", "skip_capture", "no_movement_action",
                "skip_recovery", "no_line_action", "skip_territory_processing", "no_territory_action")
)


def row_key(spec: BoardSpec, S: np.ndarray, row) -> tuple:
    """``row_to_move(spec, S, row).key(spec.is_hex)`` without building the Move for the
    common move types (``row`` as a list of ints, e.g. from ``rows.tolist()``)."""
    t = row[F_TYPE]
    pos = spec.positions
    if t == MV_PLACE_RING:
        return ("place_ring", row[F_PLAYER], pos[row[F_TO]], row[F_B])
    if t == MV_MOVE_STACK:
        return ("move_stack", row[F_PLAYER], pos[row[F_FROM]], pos[row[F_TO]])
    if t == MV_OVERTAKING_CAPTURE or t == MV_CONTINUE_CAPTURE:
        return (MOVE_TYPE_NAMES[t], row[F_PLAYER], pos[row[F_FROM]], pos[row[F_TO]], pos[row[F_A]])
    if t == MV_FORCED_ELIMINATION:
        return ("forced_elimination", row[F_PLAYER], pos[row[F_TO]])
    if t in _NO_TARGET:
        return (MOVE_TYPE_NAMES[t], row[F_PLAYER])
    return row_to_move(spec, S, row).key(spec.is_hex)
