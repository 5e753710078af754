"""Players and search behind one player interface and one evaluator interface.

Engines so far: ``random``, ``heuristic`` (weighted features, one-ply greedy) and
``mcts`` (PUCT over any evaluator).  See :mod:`ringrift_ml.ai.base`.
"""

from .base import Budget, Evaluator, Player, choose_move, play_forced
from .heuristic import HeuristicEvaluator, HeuristicPlayer, load_weights
from .mcts import MCTS, MCTSConfig, MCTSPlayer, visit_policy
from .simple import RandomPlayer

__all__ = [
    "Budget",
    "Evaluator",
    "HeuristicEvaluator",
    "HeuristicPlayer",
    "MCTS",
    "MCTSConfig",
    "MCTSPlayer",
    "Player",
    "RandomPlayer",
    "choose_move",
    "load_weights",
    "play_forced",
    "visit_policy",
]
