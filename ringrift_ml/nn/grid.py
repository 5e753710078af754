"""Boards as 2-D grids for convolutional networks.

Square boards are their own ``N x N`` grid (row ``y``, column ``x``).  Hex boards of
radius ``R`` sit on the axial ``(2R + 1) x (2R + 1)`` grid (row ``y + R``, column
``x + R`` of the cube coordinates): the six hex neighbours of a cell are six of its
eight grid neighbours, all but ``(+1, +1)`` and ``(-1, -1)``, so a 3 x 3 kernel with
those two taps masked is the 7-cell hexagonal kernel.  Grid points off the board are
marked invalid and kept at zero.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from ..rules.boards import board_spec


@dataclasses.dataclass(frozen=True, eq=False)
class Grid:
    board: str
    is_hex: bool
    height: int
    width: int
    n_cells: int
    flat: np.ndarray  # cell -> flat grid index (row * width + col)
    valid: np.ndarray  # [height, width] bool

    @property
    def size(self) -> int:
        return self.height * self.width


@lru_cache(maxsize=None)
def grid_for(board: str) -> Grid:
    spec = board_spec(board)
    c = spec.coords
    if spec.is_hex:
        r = spec.radius
        h = w = 2 * r + 1
        rows, cols = c[:, 1] + r, c[:, 0] + r
    else:
        h = w = spec.size
        rows, cols = c[:, 1], c[:, 0]
    flat = (rows * w + cols).astype(np.int64)
    valid = np.zeros(h * w, dtype=bool)
    valid[flat] = True
    return Grid(board, spec.is_hex, h, w, spec.n_cells, flat, valid.reshape(h, w))


def hex_kernel_mask() -> np.ndarray:
    """The 3 x 3 tap mask of the 7-cell hexagonal kernel on the axial grid."""
    m = np.ones((3, 3), dtype=np.float32)
    m[0, 0] = 0.0  # (-1, -1)
    m[2, 2] = 0.0  # (+1, +1)
    return m


__all__ = ["Grid", "grid_for", "hex_kernel_mask"]
