"""Board symmetries as cell permutations, and the subgroup the rules respect.

Public surface::

    from ringrift_ml.rules.symmetry import (
        Symmetry, symmetries, rules_symmetries, transform_state, transform_move, board_hash)

* ``symmetries(board) -> list[Symmetry]``: the geometric symmetry group of the board.
  Square boards (``square8``, ``square19``): D4, 8 elements on the ``N x N`` grid,
  in this order: ``id`` ``(x, y)``, ``rot90`` ``(N-1-y, x)``, ``rot180``
  ``(N-1-x, N-1-y)``, ``rot270`` ``(y, N-1-x)``, ``flip_x`` ``(N-1-x, y)``,
  ``flip_y`` ``(x, N-1-y)``, ``transpose`` ``(y, x)``, ``antitranspose``
  ``(N-1-y, N-1-x)``.  Hex boards (``hex8``, ``hexagonal``): D6, 12 elements on cube
  coordinates: ``id``, ``rot60`` ... ``rot300`` (powers of ``(x, y, z) -> (-z, -x, -y)``),
  then the six reflections ``rot(60k) o (x, y, z) -> (y, x, z)``, named by their
  formula (``mirror(y,x,z)``, ``mirror(-x,-z,-y)``, ...).  Element 0 is always the
  identity.
* ``Symmetry`` (frozen; equal when board, linear part and offset agree): ``name``,
  ``formula``, ``matrix`` / ``offset`` (the affine map on coordinates), ``perm``
  (cell ``c`` maps to cell ``perm[c]``), ``inverse_perm``, ``dir_perm`` (movement
  direction index ``d`` maps to direction ``dir_perm[d]`` of ``board_spec(board).directions``);
  methods ``cell``, ``pos``, ``key`` (position keys ``"x,y"`` / ``"x,y,z"``), ``vector``,
  ``direction``, ``inverse()`` and ``compose(h)`` (``g.compose(h)`` is ``g o h``: ``h``
  first), both returning elements of the same group.
* ``rules_symmetries(board) -> list[Symmetry]``: the subgroup under which the rules are
  invariant (below).
* ``transform_state(state, g) -> GameState``: every per-cell row permuted (stack
  heights, rings, controllers, caps, markers, collapsed owners and stack ages),
  ``M_FROM`` (the stack that must act) mapped, the board hash recomputed from scratch
  (:func:`board_hash`); every other scalar is unchanged.
* ``transform_move(move, g, spec=None) -> Move``: every position field mapped (``to``,
  ``from_``, ``capture_target``, ``line``, ``collapsed``, ``region`` and the
  ``extraction_stacks`` keys).  Lines and line segments are re-ordered to run along a
  positive direction and regions sorted by cell, with a decorative ``to`` (the first
  cell of a line or region) following, so that the result is the very ``Move`` that
  ``legal_moves`` decodes in the transformed state, not only one with the same ``key``.
* ``board_hash(spec, S) -> int``: the Zobrist board hash (``M_HASH``) of a state array
  computed from the whole board, exactly what the incremental updates of ``_k_board``
  maintain (it runs ``_k_board.rebuild_derived`` on a scratch copy).

**Which elements are rules symmetries.**  An element ``g`` is kept when it maps every
geometry table the kernels read onto itself (checked on the tables of ``boards.py``,
not taken from a list): the movement rays (``ray`` / ``rlen``: ray ``d`` of cell ``c``,
mapped cell by cell, is ray ``dir_perm[d]`` of ``g(c)``, and opposite directions stay
opposite, so line axes map to line axes), the territory neighbours ``tnb`` as a set per
cell and, on boards with a border-collapse chain (``geo.chain``), the chain neighbours
``wnb`` as a set per cell.  The Zobrist keys are not rules (the hash is recomputed).
The result:

* ``square8``, ``square19``: all of D4 (8 elements): the rays are the eight king
  directions, the territory neighbours the von Neumann and the chain neighbours the
  Moore neighbourhood, all D4-invariant.
* ``hexagonal``: all of D6 (12 elements): it has no border chain, and rays and
  territory neighbours are the six hex directions.
* ``hex8``: 4 elements, ``id``, ``rot180`` ``(-x, -y, -z)``, ``mirror(y,x,z)`` and
  ``mirror(-y,-x,-z)`` (a Klein four-group): the border chain joins markers through the
  eight ``(x, y)`` neighbours, i.e. the six hex neighbours plus cube offsets
  ``+-(1, 1, -2)`` only, and exactly these four elements map that axis to itself.  The
  other eight move it onto ``+-(1, -2, 1)`` or ``+-(-2, 1, 1)``, and a claimed region
  then collapses a different marker chain (``tests/rules/test_symmetry.py`` shows a
  failing position for each of them).

**A position-level exception.**  The automatic forced elimination
(``_k_turn.auto_elimination_target``: phase ``forced_elimination`` after a skipped
legal placement, one ``forced_elimination`` offered) picks the stack with the smallest
cap, then the lowest, then the *first cell index*.  When the player controls several
stacks tied on (cap, height), that last tie-break is scan order, not geometry, so such
positions are not symmetric under any non-identity element.  This module does not
change the rules; the oracle tests skip exactly those positions.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Optional

import numpy as np

from ._k_board import rebuild_derived
from ._layout import AGE, CL, CP, CT, H, M_FROM, M_HASH, MK, MT, RG
from .boards import BoardSpec, board_spec
from .move import Move, norm_pos
from .state import GameState

__all__ = [
    "Symmetry",
    "board_hash",
    "rules_symmetries",
    "symmetries",
    "transform_move",
    "transform_state",
]

# Rows holding one value per cell (everything but the scalar row MT).
CELL_ROWS = (H, RG, CT, CP, MK, CL, AGE)


@dataclasses.dataclass(frozen=True, eq=False)
class Symmetry:
    """One symmetry of a board: ``p -> matrix @ p + offset`` on cell coordinates."""

    board: str
    """Board type the element belongs to."""
    name: str
    """Short name (``id``, ``rot90``, ``flip_x``, ``rot60``, ``mirror(y,x,z)`` ...)."""
    formula: str
    """The map written out, e.g. ``(7-y,x)`` or ``(-z,-x,-y)``."""
    matrix: tuple
    """Linear part, rows of integers (2 x 2 on square boards, 3 x 3 on cube coordinates)."""
    offset: tuple
    """Translation (zero on hex boards)."""
    perm: np.ndarray = dataclasses.field(repr=False)
    """Cell ``c`` maps to cell ``perm[c]`` (read-only)."""
    inverse_perm: np.ndarray = dataclasses.field(repr=False)
    """The inverse permutation: ``inverse_perm[perm[c]] == c``."""
    dir_perm: np.ndarray = dataclasses.field(repr=False)
    """Direction index ``d`` (of ``BoardSpec.directions``) maps to ``dir_perm[d]``."""

    # ---- identity -------------------------------------------------------------------
    def _ident(self) -> tuple:
        return (self.board, self.matrix, self.offset)

    def __eq__(self, other) -> bool:
        return isinstance(other, Symmetry) and self._ident() == other._ident()

    def __hash__(self) -> int:
        return hash(self._ident())

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.perm, np.arange(self.perm.shape[0])))

    # ---- mapping ----------------------------------------------------------------------
    def cell(self, c: int) -> int:
        return int(self.perm[c])

    def vector(self, v) -> tuple:
        """Image of a displacement (a direction vector): the linear part only."""
        v = tuple(int(a) for a in v)
        if len(self.matrix) == 3 and len(v) == 2:
            v = (v[0], v[1], -v[0] - v[1])
        return tuple(sum(a * b for a, b in zip(row, v)) for row in self.matrix)

    def pos(self, p) -> tuple:
        """Image of a position tuple (a hex ``(x, y)`` is completed with ``z``);
        ValueError if the image is off the board (it is not, for board positions)."""
        is_hex = len(self.matrix) == 3
        q = norm_pos(tuple(int(a) for a in p), is_hex)
        out = tuple(a + t for a, t in zip(self.vector(q), self.offset))
        if out not in board_spec(self.board).pos_to_cell:
            raise ValueError(f"position {p!r} is not on the {self.board} board")
        return out

    def key(self, k: str) -> str:
        """Image of a position key ``"x,y"`` / ``"x,y,z"``."""
        spec = board_spec(self.board)
        return spec.cell_key(int(self.perm[spec.cell_of_key(k)]))

    def direction(self, d: int) -> int:
        return int(self.dir_perm[d])

    # ---- group ------------------------------------------------------------------------
    def compose(self, other: "Symmetry") -> "Symmetry":
        """``self o other`` (``other`` applied first), as an element of the group."""
        if other.board != self.board:
            raise ValueError(f"cannot compose a {self.board} symmetry with a {other.board} one")
        A, B = np.array(self.matrix), np.array(other.matrix)
        matrix = A @ B
        offset = A @ np.array(other.offset) + np.array(self.offset)
        return _lookup(self.board, matrix, offset)

    def inverse(self) -> "Symmetry":
        """The inverse element (signed permutation matrices are orthogonal)."""
        A = np.array(self.matrix)
        inv = A.T
        return _lookup(self.board, inv, -(inv @ np.array(self.offset)))


# ---- building the groups --------------------------------------------------------------
_VARS = ("x", "y", "z")


def _formula(matrix: np.ndarray, offset: np.ndarray) -> str:
    parts = []
    for row, t in zip(matrix, offset):
        j = int(np.flatnonzero(row)[0])
        var = _VARS[j]
        if row[j] < 0:
            parts.append(f"{int(t)}-{var}" if t else f"-{var}")
        else:
            parts.append(f"{int(t)}+{var}" if t else var)
    return "(" + ",".join(parts) + ")"


def _square_elements():
    r = np.array([[0, -1], [1, 0]])  # (x, y) -> (-y, x), then translated onto the grid
    m = np.array([[-1, 0], [0, 1]])  # (x, y) -> (-x, y)
    out = []
    rot = np.eye(2, dtype=np.int64)
    for k in range(4):
        out.append(("id" if k == 0 else f"rot{90 * k}", rot.copy()))
        rot = r @ rot
    reflections = {
        "flip_x": m,
        "flip_y": -m,
        "transpose": np.array([[0, 1], [1, 0]]),
        "antitranspose": np.array([[0, -1], [-1, 0]]),
    }
    out.extend(reflections.items())
    return out


def _hex_elements():
    r = np.array([[0, 0, -1], [-1, 0, 0], [0, -1, 0]])  # (x, y, z) -> (-z, -x, -y)
    m = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])  # (x, y, z) -> (y, x, z)
    rots = []
    rot = np.eye(3, dtype=np.int64)
    for k in range(6):
        rots.append(rot.copy())
        rot = r @ rot
    out = [("id" if k == 0 else f"rot{60 * k}", a) for k, a in enumerate(rots)]
    for a in rots:
        refl = a @ m
        out.append(("mirror" + _formula(refl, np.zeros(3, np.int64)), refl))
    return out


def _make(spec: BoardSpec, name: str, matrix: np.ndarray) -> Symmetry:
    matrix = np.asarray(matrix, dtype=np.int64)
    if spec.is_hex:
        offset = np.zeros(3, dtype=np.int64)
    else:
        # Rotate / reflect about the board centre ((N-1)/2, (N-1)/2); the offset
        # (N-1) * (1 - row sum) / 2 is an integer for signed permutation matrices.
        offset = (spec.size - 1) * (1 - matrix.sum(axis=1)) // 2
    coords = spec.coords
    images = coords @ matrix.T + offset
    lookup = spec.pos_to_cell
    perm = np.array([lookup[tuple(int(v) for v in row)] for row in images], dtype=np.int64)
    if len(set(perm.tolist())) != spec.n_cells:  # pragma: no cover (a bijection by construction)
        raise AssertionError(f"{name} is not a permutation of the {spec.name} cells")
    inv = np.empty_like(perm)
    inv[perm] = np.arange(spec.n_cells, dtype=np.int64)
    dir_index = {tuple(int(a) for a in v): i for i, v in enumerate(spec.directions)}
    dir_perm = np.array(
        [dir_index[tuple(int(a) for a in matrix @ np.array(v))] for v in spec.directions], dtype=np.int64
    )
    for arr in (perm, inv, dir_perm):
        arr.setflags(write=False)
    return Symmetry(
        board=spec.name,
        name=name,
        formula=_formula(matrix, offset),
        matrix=tuple(tuple(int(a) for a in row) for row in matrix),
        offset=tuple(int(a) for a in offset),
        perm=perm,
        inverse_perm=inv,
        dir_perm=dir_perm,
    )


@lru_cache(maxsize=None)
def _group(board: str) -> tuple:
    spec = board_spec(board)
    elements = _hex_elements() if spec.is_hex else _square_elements()
    return tuple(_make(spec, name, a) for name, a in elements)


@lru_cache(maxsize=None)
def _index(board: str) -> dict:
    return {(g.matrix, g.offset): g for g in _group(board)}


def _lookup(board: str, matrix: np.ndarray, offset: np.ndarray) -> Symmetry:
    key = (tuple(tuple(int(a) for a in row) for row in matrix), tuple(int(a) for a in offset))
    g = _index(board).get(key)
    if g is None:  # pragma: no cover (the groups are closed)
        raise AssertionError(f"{key} is not a symmetry of {board}")
    return g


def symmetries(board: str) -> list:
    """The geometric symmetry group of ``board`` (D4 or D6); element 0 is the identity."""
    return list(_group(board))


# ---- the rules subgroup ------------------------------------------------------------
def _same_sets(table: np.ndarray, g: Symmetry) -> bool:
    """Does ``g`` map the neighbour set ``table[c]`` (entries ``-1`` = none) of every cell
    ``c`` onto the neighbour set of ``g(c)``?"""
    perm = g.perm
    mapped = np.where(table >= 0, perm[np.maximum(table, 0)], -1)
    return bool(np.array_equal(np.sort(mapped, axis=1), np.sort(table[perm], axis=1)))


def _preserves_rules(spec: BoardSpec, g: Symmetry) -> bool:
    geo = spec.geo
    perm, sigma = g.perm, g.dir_perm
    nd = geo.nd
    half = nd // 2
    # Opposite directions stay opposite (line axes map to line axes).
    if any(sigma[(d + half) % nd] != (sigma[d] + half) % nd for d in range(nd)):
        return False
    # Ray d of c, cell by cell, is ray sigma(d) of g(c).
    ray, rlen = geo.ray, geo.rlen
    if not np.array_equal(rlen[perm][:, sigma], rlen):
        return False
    mapped = np.where(ray >= 0, perm[np.maximum(ray, 0)], -1)
    if not np.array_equal(ray[perm][:, sigma, :], mapped):
        return False
    if not _same_sets(geo.tnb, g):
        return False
    if geo.chain and not _same_sets(geo.wnb, g):
        return False
    return True


@lru_cache(maxsize=None)
def _rules_group(board: str) -> tuple:
    spec = board_spec(board)
    return tuple(g for g in _group(board) if _preserves_rules(spec, g))


def rules_symmetries(board: str) -> list:
    """The elements of :func:`symmetries` that map every geometry table the kernels use
    onto itself (see the module docstring for the result per board)."""
    return list(_rules_group(board))


# ---- states and moves -------------------------------------------------------------
def board_hash(spec: BoardSpec, S: np.ndarray) -> int:
    """The board hash ``M_HASH`` of state array ``S`` computed from the whole board
    (stacks, markers, collapsed cells), as the incremental updates maintain it."""
    scratch = S.copy()
    rebuild_derived(scratch, spec.geo)
    return int(scratch[MT, M_HASH])


def _check_board(spec: BoardSpec, g: Symmetry) -> None:
    if not isinstance(g, Symmetry):
        raise TypeError(f"g: expected a Symmetry, got {type(g).__name__}")
    if g.board != spec.name:
        raise ValueError(f"g: a {g.board} symmetry cannot act on a {spec.name} position")


def transform_state(state: GameState, g: Symmetry) -> GameState:
    """The position ``g(state)``: cell rows permuted, ``M_FROM`` mapped, hash recomputed."""
    if not isinstance(state, GameState):
        raise TypeError(f"state: expected a GameState, got {type(state).__name__}")
    spec = state.spec
    _check_board(spec, g)
    S = state.S
    n = spec.n_cells
    T = S.copy()
    for row in CELL_ROWS:
        T[row, g.perm] = S[row, :n]
    frm = int(S[MT, M_FROM])
    if frm >= 0:
        T[MT, M_FROM] = g.perm[frm]
    T[MT, M_HASH] = board_hash(spec, T)
    return GameState(spec, T)


def _run_order(spec: BoardSpec, cells: tuple) -> tuple:
    """A straight run of positions, re-ordered (if needed) to step along a positive
    direction, as the engine writes lines; anything else is returned as it is."""
    if len(cells) < 2:
        return cells
    step = tuple(b - a for a, b in zip(cells[0], cells[1]))
    directions = spec.directions
    if step in directions and directions.index(step) >= len(directions) // 2:
        return tuple(reversed(cells))
    return cells


def transform_move(move: Move, g: Symmetry, spec: Optional[BoardSpec] = None) -> Move:
    """The move ``g(move)``: every position field mapped (see the module docstring)."""
    if not isinstance(move, Move):
        raise TypeError(f"move: expected a Move, got {type(move).__name__}")
    spec = spec if spec is not None else board_spec(g.board)
    _check_board(spec, g)
    is_hex = spec.is_hex

    def one(p):
        return None if p is None else g.pos(norm_pos(p, is_hex))

    def many(ps):
        return None if ps is None else tuple(g.pos(norm_pos(p, is_hex)) for p in ps)

    fields = {
        "to": one(move.to),
        "from_": one(move.from_),
        "capture_target": one(move.capture_target),
        "line": many(move.line),
        "collapsed": many(move.collapsed),
        "region": many(move.region),
    }
    if move.extraction_stacks is not None:
        fields["extraction_stacks"] = tuple(g.key(k) for k in move.extraction_stacks)
    # Decorative ordering, as the engine decodes moves: lines and segments run along a
    # positive direction, regions are sorted by cell, and a line's or region's ``to`` is
    # its first cell.
    for name in ("line", "collapsed"):
        if fields[name] is not None:
            fields[name] = _run_order(spec, fields[name])
    if fields["region"] is not None:
        fields["region"] = tuple(sorted(fields["region"], key=spec.pos_to_cell.__getitem__))
    first = norm_pos(move.to, is_hex) if move.to is not None else None
    for name, src in (("line", move.line), ("region", move.region)):
        if src and first is not None and norm_pos(src[0], is_hex) == first and fields[name]:
            fields["to"] = fields[name][0]
    return dataclasses.replace(move, **fields)
