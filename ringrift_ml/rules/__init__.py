"""The RingRift rules (RR-CANON v1): exact, complete and fast.

Public surface::

    from ringrift_ml.rules import GameState, Move, IllegalMoveError, new_game, legal_moves, apply_move

Layers inside: ``boards`` (geometry), ``_k_*`` (compiled kernels over a flat state
array), ``state`` / ``move`` (public types and JSON), ``api`` (the functions above),
``fast`` (in-place play for search), ``options`` (rules options and the golden
games' rules), ``records`` (game records and replay).
"""

from . import _jit  # noqa: F401  (must precede the kernels)

from .api import IllegalMoveError, apply_move, legal_move_rows, legal_moves, new_game
from .boards import BOARD_TYPES, BoardSpec, board_spec
from .move import Move
from .state import GameState
from .version import RULES_VERSION

__all__ = [
    "BOARD_TYPES",
    "BoardSpec",
    "GameState",
    "IllegalMoveError",
    "Move",
    "RULES_VERSION",
    "apply_move",
    "board_spec",
    "legal_move_rows",
    "legal_moves",
    "new_game",
]
