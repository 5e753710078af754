"""Exact move encoding: every legal decision of a position has its own policy index.

The policy is a stack of planes on the board's grid plus a few global entries, so its
layout depends on the board only through the grid's size.  A move's index is
``channel * H * W + grid index of its key cell``, with

| move | key cell | channel |
|---|---|---|
| ``place_ring`` of ``k`` rings | destination | ``place_k`` |
| ``move_stack`` in direction ``d`` | destination | ``move_d`` |
| ``overtaking_capture`` / ``continue_capture_segment`` in direction ``d`` | landing cell | ``capture_d`` |
| ``recovery_slide`` in direction ``d`` | destination | ``recovery_d_v`` |
| collapse a whole line on axis ``a`` | the line's end with the smaller cell index | ``line_all_a`` |
| collapse one segment on axis ``a`` | the segment's end with the smaller cell index | ``line_segment_a`` |
| ``choose_territory_option`` | the region's smallest cell | ``territory_b`` (border colour as a seat slot, or "no marker") |
| ``eliminate_rings_from_stack``, ``forced_elimination`` | the stack | ``eliminate`` |

and the moves without a cell (``skip_placement``, ``no_*_action``, ``swap_sides`` ...)
take one global entry each after the planes.  Why these are exact: the destination
and direction of a move (or a capture's landing cell and direction) fix the stack that
moves - it is the first stack met walking back from the destination (for a capture:
the target, then the attacker); a line or a segment is fixed by its smaller end and
its axis (cell indices grow monotonically along every axis); regions are fixed by
their smallest cell and border colour (how the engine names them); one kind of
elimination is pending at a time.  Recovery slides into one cell from one direction
can differ in their line option; ``v`` numbers them in a fixed order.  The two
spellings of "collapse the whole line" (``process_line`` and ``choose_line_option``)
are one decision and share an index.  ``tests/nn/test_policy.py`` checks over random
games of all 12 board x player configurations that distinct decisions never share an
index.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from ..rules.boards import board_spec
from ..rules.view import MOVE_TYPE_NAMES, ROW_FIELDS, StateView
from ._k_encode import fast_move_indices
from .features import slot_of_players
from .grid import Grid, grid_for

RECOVERY_VARIANTS = 4
GLOBAL_MOVES = ("skip_placement", "no_placement_action", "swap_sides", "skip_capture", "no_movement_action",
                "skip_recovery", "no_line_action", "skip_territory_processing", "no_territory_action")
_CODE = {name: i for i, name in enumerate(MOVE_TYPE_NAMES)}
_T, _P, _FROM, _TO, _A, _B, _C, _D = (ROW_FIELDS.index(f) for f in ROW_FIELDS)


@dataclasses.dataclass(frozen=True, eq=False)
class PolicyLayout:
    """The policy's channels for one board."""

    board: str
    grid: Grid
    channels: tuple  # channel names
    nd: int  # movement directions (8 square, 6 hex)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def size(self) -> int:
        return self.n_channels * self.grid.size + len(GLOBAL_MOVES)

    def channel(self, name: str) -> int:
        return self._index[name]

    @property
    def _index(self) -> dict:
        return _channel_index(self.board)


def _channel_names(nd: int) -> tuple:
    names = [f"place_{k}" for k in (1, 2, 3)]
    names += [f"move_{d}" for d in range(nd)]
    names += [f"capture_{d}" for d in range(nd)]
    names += [f"recovery_{d}_{v}" for d in range(nd) for v in range(RECOVERY_VARIANTS)]
    names += [f"line_all_{a}" for a in range(nd // 2)]
    names += [f"line_segment_{a}" for a in range(nd // 2)]
    names += [f"territory_{b}" for b in ("slot0", "slot1", "slot2", "slot3", "none")]
    names += ["eliminate"]
    return tuple(names)


@lru_cache(maxsize=None)
def layout_for(board: str) -> PolicyLayout:
    spec = board_spec(board)
    nd = len(spec.directions)
    return PolicyLayout(board, grid_for(board), _channel_names(nd), nd)


@lru_cache(maxsize=None)
def _channel_index(board: str) -> dict:
    return {name: i for i, name in enumerate(layout_for(board).channels)}


@lru_cache(maxsize=None)
def _direction_table(board: str) -> dict:
    """Unit step vector -> direction index."""
    spec = board_spec(board)
    return {tuple(int(x) for x in d): i for i, d in enumerate(spec.directions)}


def _direction(spec, dirs: dict, a: int, b: int) -> int:
    """Direction of travel from cell ``a`` to cell ``b`` (on one line)."""
    diff = spec.coords[b].astype(np.int64) - spec.coords[a].astype(np.int64)
    step = int(np.abs(diff).max())
    return dirs[tuple(int(x) for x in diff // step)]


def _line_cells(spec, start: int, d: int, length: int) -> list:
    """The ``length`` cells from ``start`` along direction ``d`` (start included)."""
    ray = spec.geo.ray[start, d, : spec.geo.rlen[start, d]]
    return [int(start)] + [int(x) for x in ray[: length - 1]]


@lru_cache(maxsize=None)
def _fast_tables(board: str) -> tuple:
    """Vectorised lookups for the common move types: the direction from any cell to
    any cell on one of its lines (-1 elsewhere) and the channel of each direction."""
    lay = layout_for(board)
    spec = board_spec(board)
    ch = _channel_index(board)
    n = spec.n_cells
    dir_of = np.full((n, n), -1, dtype=np.int64)
    for a in range(n):
        for d in range(lay.nd):
            dir_of[a, spec.geo.ray[a, d, : spec.geo.rlen[a, d]]] = d
    move_ch = np.array([ch[f"move_{d}"] for d in range(lay.nd)], dtype=np.int64)
    cap_ch = np.array([ch[f"capture_{d}"] for d in range(lay.nd)], dtype=np.int64)
    place_ch = np.array([-1] + [ch[f"place_{k}"] for k in (1, 2, 3)], dtype=np.int64)
    flat = np.asarray(lay.grid.flat, dtype=np.int64)
    return dir_of, move_ch, cap_ch, place_ch, flat, ch["eliminate"], lay.grid.size


_MOVE = _CODE["move_stack"]
_CAPTURE, _CONTINUE = _CODE["overtaking_capture"], _CODE["continue_capture_segment"]
_PLACE = _CODE["place_ring"]
_ELIM, _FORCED = _CODE["eliminate_rings_from_stack"], _CODE["forced_elimination"]
# Type code -> position in GLOBAL_MOVES (-1: not a global move).
_GLOBAL_OF = np.full(len(MOVE_TYPE_NAMES), -1, dtype=np.int64)
for _i, _name in enumerate(GLOBAL_MOVES):
    _GLOBAL_OF[_CODE[_name]] = _i


def move_indices(board: str, S: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Policy index of every legal move row of state array ``S`` (see the module
    docstring); equal decisions get equal indices.  Placements, movements, captures,
    eliminations and the cell-free moves (nearly all rows) are indexed with table
    lookups in compiled code (``_k_encode.fast_move_indices``); the other types one by
    one."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    dir_of, move_ch, cap_ch, place_ch, flat, elim_ch, size = _fast_tables(board)
    out = np.empty(len(rows), dtype=np.int64)
    left = fast_move_indices(rows, _T, _FROM, _TO, _B, _MOVE, _CAPTURE, _CONTINUE, _PLACE, _ELIM, _FORCED,
                             dir_of, move_ch, cap_ch, place_ch, flat, elim_ch, size, _GLOBAL_OF,
                             len(layout_for(board).channels) * size, out)
    if left:
        rest = np.flatnonzero(out < 0)
        out[rest] = _slow_indices(board, S, rows[rest], rows)
    return out


def _slow_indices(board: str, S: np.ndarray, rows: np.ndarray, all_rows: np.ndarray) -> np.ndarray:
    """:func:`move_indices` one row at a time (``all_rows``: the whole legal list,
    which numbers recovery variants)."""
    lay = layout_for(board)
    spec = board_spec(board)
    g = lay.grid
    dirs = _direction_table(board)
    ch = _channel_index(board)
    nd = lay.nd
    rows = np.asarray(rows)
    out = np.empty(len(rows), dtype=np.int64)
    glob0 = lay.n_channels * g.size
    view = StateView(S, spec.n_cells)
    has_recovery = False
    slot = None
    for i, r in enumerate(rows.tolist()):
        t = MOVE_TYPE_NAMES[r[_T]]
        if t in GLOBAL_MOVES:
            out[i] = glob0 + GLOBAL_MOVES.index(t)
            continue
        if t == "place_ring":
            c, name = r[_TO], f"place_{r[_B]}"
        elif t == "move_stack":
            c, name = r[_TO], f"move_{_direction(spec, dirs, r[_FROM], r[_TO])}"
        elif t in ("overtaking_capture", "continue_capture_segment"):
            c, name = r[_TO], f"capture_{_direction(spec, dirs, r[_FROM], r[_TO])}"
        elif t == "recovery_slide":
            has_recovery = True
            c, name = r[_TO], f"recovery_{_direction(spec, dirs, r[_FROM], r[_TO])}_0"  # variant set below
        elif t in ("process_line", "choose_line_option"):
            start, d, length, off = r[_TO], r[_A], r[_B], r[_C]
            cells = _line_cells(spec, start, d, length)
            axis = d % (nd // 2)
            if off < 0:
                c, name = min(cells), f"line_all_{axis}"
            else:
                seg = cells[off: off + view.line_length]
                c, name = min(seg), f"line_segment_{axis}"
        elif t == "choose_territory_option":
            if slot is None:
                slot = slot_of_players(view.num_players, view.current_player)
            border = r[_A]
            c, name = r[_TO], (f"territory_slot{slot[border]}" if border > 0 else "territory_none")
        elif t in ("eliminate_rings_from_stack", "forced_elimination"):
            c, name = r[_TO], "eliminate"
        else:
            raise ValueError(f"move type {t!r} has no policy index")
        out[i] = ch[name] * g.size + g.flat[c]
    if has_recovery:
        full = np.full(len(all_rows), -1, dtype=np.int64)
        pos = {tuple(r): i for i, r in enumerate(all_rows.tolist())}
        at = np.array([pos[tuple(r)] for r in rows.tolist()])
        full[at] = out
        out = _order_recovery_variants(board, all_rows, full)[at]
    return out


def _order_recovery_variants(board: str, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Number the recovery options into one cell from one direction by their fields
    (line option, segment, extraction) rather than by their order in the list."""
    lay = layout_for(board)
    spec = board_spec(board)
    dirs = _direction_table(board)
    ch = _channel_index(board)
    groups: dict = {}
    for i, r in enumerate(rows.tolist()):
        if MOVE_TYPE_NAMES[r[_T]] == "recovery_slide":
            d = _direction(spec, dirs, r[_FROM], r[_TO])
            groups.setdefault((r[_TO], d), []).append((r[_C], r[_D], r[_B], i))
    for (cell, d), members in groups.items():
        if len(members) > RECOVERY_VARIANTS:
            raise ValueError(f"{board}: {len(members)} recovery options into one cell from one direction; "
                             f"the policy has {RECOVERY_VARIANTS} (raise RECOVERY_VARIANTS)")
        for v, (*_, i) in enumerate(sorted(members)):
            out[i] = ch[f"recovery_{d}_{v}"] * lay.grid.size + lay.grid.flat[cell]
    return out


def decode(board: str, S: np.ndarray, rows: np.ndarray, logits: np.ndarray) -> int:
    """Row index of the legal move with the highest logit (``logits`` over the whole
    policy layout)."""
    idx = move_indices(board, S, rows)
    return int(np.argmax(np.asarray(logits)[idx]))


__all__ = ["GLOBAL_MOVES", "PolicyLayout", "RECOVERY_VARIANTS", "decode", "layout_for", "move_indices"]
