"""Players and search behind one player interface and one evaluator interface.

Engines so far: ``random``, ``heuristic`` (weighted features, one-ply greedy),
``mcts`` (PUCT over any evaluator), ``minimax`` (alpha-beta / paranoid) and
``gumbel`` (Gumbel root search with sequential halving) and ``descent`` (unbounded
best-first minimax, the fast bulk selfplay engine).  See :mod:`ringrift_ml.ai.base`.
"""

from .base import Budget, Evaluator, Player, choose_move, play_forced
from .descent import DescentPlayer
from .gumbel import GumbelConfig, GumbelPlayer, GumbelSearch
from .heuristic import HeuristicEvaluator, HeuristicPlayer, load_weights
from .mcts import MCTS, MCTSConfig, MCTSPlayer, visit_policy
from .minimax import MinimaxConfig, MinimaxPlayer
from .simple import RandomPlayer

__all__ = [
    "Budget",
    "DescentPlayer",
    "Evaluator",
    "GumbelConfig",
    "GumbelPlayer",
    "GumbelSearch",
    "HeuristicEvaluator",
    "HeuristicPlayer",
    "MCTS",
    "MCTSConfig",
    "MCTSPlayer",
    "MinimaxConfig",
    "MinimaxPlayer",
    "Player",
    "RandomPlayer",
    "choose_move",
    "load_weights",
    "play_forced",
    "visit_policy",
]
