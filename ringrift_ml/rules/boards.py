"""Board geometry and per-board parameters.

Every board is flattened to cells ``0..N-1``.  Square boards index ``y * size + x``;
hex boards enumerate cube coordinates ``(x, y, z)`` with ``x + y + z = 0`` in
lexicographic ``(x, y)`` order.  Everything the rules need about geometry is
precomputed here once per board type as flat integer tables (rays along each
movement direction, territory neighbours, hashing keys), so that the kernels never
do coordinate arithmetic.

Direction order matters: the opposite of direction ``d`` is ``(d + nd // 2) % nd``
and directions ``0 .. nd//2 - 1`` are the positive half of each line axis.
"""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from functools import lru_cache

import numpy as np

from ._check import INT_LIMIT, is_int, parse_key, show

BOARD_TYPES = ("square8", "square19", "hex8", "hexagonal")

# E, SE, S, SW, W, NW, N, NE: opposite pairs are 4 apart, axes are the first 4.
_SQUARE_DIRS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
_SQUARE_TERRITORY = ((1, 0), (0, 1), (-1, 0), (0, -1))
# Cube directions; opposite pairs are 3 apart.
_HEX_DIRS = ((1, -1, 0), (1, 0, -1), (0, 1, -1), (-1, 1, 0), (-1, 0, 1), (0, -1, 1))

# Geometry handed to the compiled kernels (a namedtuple of arrays and ints).
Geo = namedtuple("Geo", ["ray", "rlen", "tnb", "wnb", "chain", "zst", "zmk", "zcl", "nd", "ncells"])


@dataclasses.dataclass(frozen=True, eq=False)
class BoardSpec:
    """Static description of one board type."""

    name: str
    """Board type name as used in RingRift JSON (``square8``, ``hexagonal`` ...)."""
    is_hex: bool
    """Cube coordinates (hex boards) or ``(x, y)`` (square boards)."""
    size: int
    """The ``board.size`` written to serialized states (side for square, 2r+1 for hex)."""
    radius: int
    """Hex radius (0 for square boards)."""
    rings_per_player: int
    """Own-colour ring supply of each player."""
    coords: np.ndarray
    """``(N, 2)`` or ``(N, 3)`` integer coordinates of every cell."""
    directions: tuple
    """Movement / line direction vectors, opposite pairs ``nd // 2`` apart."""
    geo: Geo
    """Precomputed tables for the kernels."""
    key_to_cell: dict = dataclasses.field(repr=False)
    """``"x,y"`` / ``"x,y,z"`` position key to cell index."""
    positions: tuple = dataclasses.field(repr=False, default=())
    """Position tuple of every cell (what :class:`Move` fields hold)."""
    pos_to_cell: dict = dataclasses.field(repr=False, default_factory=dict)
    """Position tuple to cell index."""

    @property
    def n_cells(self) -> int:
        return int(self.coords.shape[0])

    def line_length(self, num_players: int) -> int:
        """Markers needed for a line (RR-CANON-R120)."""
        if self.name in ("square8", "hex8") and num_players >= 3:
            return 3
        return 4

    def victory_threshold(self, num_players: int) -> int:
        """Rings a player must be credited with to win by elimination."""
        # round(rpp * (2/3 + (n-1)/3)) computed exactly in integers: rpp*(n+1)/3.
        num = self.rings_per_player * (num_players + 1)
        return (2 * num + 3) // 6  # round-half-up of num / 3

    def territory_minimum(self, num_players: int) -> int:
        """Own collapsed cells needed for a territory win (with dominance)."""
        return self.n_cells // num_players + 1

    def territory_legacy_threshold(self) -> int:
        """The legacy ``territoryVictoryThreshold`` (more than half the board)."""
        return self.n_cells // 2 + 1

    # ---- positions -------------------------------------------------------------
    def cell_key(self, cell: int) -> str:
        return ",".join(str(int(v)) for v in self.coords[cell])

    def cell_pos(self, cell: int) -> dict:
        c = self.coords[cell]
        if self.is_hex:
            return {"x": int(c[0]), "y": int(c[1]), "z": int(c[2])}
        return {"x": int(c[0]), "y": int(c[1])}

    def cell_of_pos(self, pos, field: str = "position") -> int:
        """Cell index of a JSON position ``{"x", "y"[, "z"]}``; ValueError if malformed
        or off-board.  Coordinates are plain integers; ``z`` may be left out or null
        (hex boards complete it, square boards ignore it) but must otherwise be an
        integer, and on a hex board equal ``-x - y``."""
        if not isinstance(pos, dict) or "x" not in pos or "y" not in pos:
            raise ValueError(f"{field}: expected a position object with x and y, got {show(pos)}")
        x, y, z = pos["x"], pos["y"], pos.get("z")
        if not (is_int(x) and is_int(y)) or abs(x) > INT_LIMIT or abs(y) > INT_LIMIT:
            raise ValueError(f"{field}: x and y must be integers, got {show(pos)}")
        if z is not None and (not is_int(z) or abs(z) > INT_LIMIT):
            raise ValueError(f"{field}: z must be an integer, got {show(pos)}")
        x, y = int(x), int(y)
        if self.is_hex:
            if z is not None and int(z) != -x - y:
                raise ValueError(f"{field}: cube coordinates must sum to 0, got {show(pos)}")
            key = f"{x},{y},{-x - y}"
        else:
            key = f"{x},{y}"
        cell = self.key_to_cell.get(key)
        if cell is None:
            raise ValueError(f"{field}: position {key} is not on the {self.name} board")
        return cell

    def cell_of_key(self, key: str, field: str = "position key") -> int:
        """Cell index of a position key ``"x,y"`` or ``"x,y,z"``; ValueError if
        malformed or off-board.  Keys must be canonical (see ``_check.parse_key``):
        ``"01,1"`` or ``" 1,1"`` are rejected, not read as ``"1,1"``.  A hex key may
        leave out z (completed as ``-x - y``); given, it must agree."""
        nums = parse_key(key, field)
        if self.is_hex:
            if len(nums) == 2:
                nums = nums + (-nums[0] - nums[1],)
            elif nums[2] != -nums[0] - nums[1]:
                raise ValueError(f"{field}: cube coordinates must sum to 0, got {show(key)}")
        elif len(nums) != 2:
            raise ValueError(f"{field}: a {self.name} position key is 'x,y', got {show(key)}")
        cell = self.pos_to_cell.get(nums)
        if cell is None:
            raise ValueError(f"{field}: position {key} is not on the {self.name} board")
        return cell


def _build(name: str) -> BoardSpec:
    if name in ("square8", "square19"):
        size = 8 if name == "square8" else 19
        coords = np.array([(x, y) for y in range(size) for x in range(size)], dtype=np.int64)
        dirs = _SQUARE_DIRS
        tdirs = _SQUARE_TERRITORY
        radius = 0
        json_size = size
        rpp = 18 if name == "square8" else 72
    elif name in ("hex8", "hexagonal"):
        radius = 4 if name == "hex8" else 12
        cells = []
        for x in range(-radius, radius + 1):
            for y in range(-radius, radius + 1):
                z = -x - y
                if abs(z) <= radius:
                    cells.append((x, y, z))
        coords = np.array(cells, dtype=np.int64)
        dirs = _HEX_DIRS
        tdirs = _HEX_DIRS
        json_size = 2 * radius + 1
        rpp = 18 if name == "hex8" else 96
    else:
        raise ValueError(f"board type: unknown board {name!r}; expected one of {', '.join(BOARD_TYPES)}")

    n = coords.shape[0]
    key_to_cell = {",".join(str(int(v)) for v in coords[i]): i for i in range(n)}
    lookup = {tuple(int(v) for v in coords[i]): i for i in range(n)}
    lookup_items = [tuple(int(v) for v in coords[i]) for i in range(n)]
    nd = len(dirs)
    maxlen = max(1, (json_size - 1) if radius == 0 else 2 * radius)
    ray = np.full((n, nd, maxlen), -1, dtype=np.int64)
    rlen = np.zeros((n, nd), dtype=np.int64)
    for c in range(n):
        base = tuple(int(v) for v in coords[c])
        for d, vec in enumerate(dirs):
            k = 0
            pos = base
            while True:
                pos = tuple(p + v for p, v in zip(pos, vec))
                nxt = lookup.get(pos)
                if nxt is None:
                    break
                ray[c, d, k] = nxt
                k += 1
            rlen[c, d] = k
    tnb = np.full((n, 6), -1, dtype=np.int64)
    for c in range(n):
        base = tuple(int(v) for v in coords[c])
        for j, vec in enumerate(tdirs):
            nxt = lookup.get(tuple(p + v for p, v in zip(base, vec)))
            if nxt is not None:
                tnb[c, j] = nxt
    # Marker-chain neighbours for territory border collapse: the eight (x, y)
    # offsets, z following from x + y + z = 0 on hex boards (so the six hex
    # neighbours plus the two cells at cube offsets +-(1, 1, -2)).  This is how
    # RingRift's reference games join border markers; see docs/rules-engine.md.
    wnb = np.full((n, 8), -1, dtype=np.int64)
    for c in range(n):
        base = tuple(int(v) for v in coords[c])
        j = 0
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                if dx == 0 and dy == 0:
                    continue
                pos = (base[0] + dx, base[1] + dy)
                if radius:
                    pos = pos + (-pos[0] - pos[1],)
                nxt = lookup.get(pos)
                if nxt is not None:
                    wnb[c, j] = nxt
                j += 1
    # Fixed seeds keep hashes reproducible across processes and runs.
    rng = np.random.default_rng(0x5EED + BOARD_TYPES.index(name))
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    zst = rng.integers(lo, hi, size=n, dtype=np.int64)
    zmk = rng.integers(lo, hi, size=(n, 5), dtype=np.int64)
    zcl = rng.integers(lo, hi, size=(n, 5), dtype=np.int64)
    # The reference games on the 469-cell hexagonal board collapse only the markers
    # next to a claimed region, never a chain beyond them (docs/rules-engine.md).
    chain = name != "hexagonal"
    geo = Geo(ray, rlen, tnb, wnb, chain, zst, zmk, zcl, nd, n)
    return BoardSpec(
        name=name,
        is_hex=radius > 0,
        size=json_size,
        radius=radius,
        rings_per_player=rpp,
        coords=coords,
        directions=tuple(dirs),
        geo=geo,
        key_to_cell=key_to_cell,
        positions=tuple(lookup_items),
        pos_to_cell=lookup,
    )


def board_spec(name: str) -> BoardSpec:
    """The (cached) :class:`BoardSpec` for a board type name."""
    if not isinstance(name, str) or name not in BOARD_TYPES:
        raise ValueError(f"board type: unknown board {show(name)}; expected one of {', '.join(BOARD_TYPES)}")
    return _cached_spec(name)


@lru_cache(maxsize=None)
def _cached_spec(name: str) -> BoardSpec:
    return _build(name)
