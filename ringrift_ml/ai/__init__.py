"""Players and search behind one player interface and one evaluator interface.

Every player answers a decision with a :class:`SearchResult` (``Player.think``).
Engines: ``random``, ``heuristic`` (weighted features, one-ply greedy), ``mcts``
(PUCT tree over any evaluator), ``gumbel`` (the same tree with a Gumbel root and
sequential halving), ``minimax`` (alpha-beta / paranoid), ``descent`` (unbounded
best-first minimax) and, with a trained network, ``policy`` and ``nn``.  Specs are
parsed by :mod:`ringrift_ml.ai.factory`, which also makes the players without a network
(:func:`make_engine_player`); :func:`ringrift_ml.nn.players.make_player` makes every
spec, network players included (this package never imports torch or the network).
"""

from .base import Budget, Evaluator, MovePlayer, Player, choose_move, play_forced
from .descent import DescentPlayer
from .factory import PlayerSpec, make_engine_player, parse_player, parse_spec
from .heuristic import HeuristicEvaluator, HeuristicPlayer, load_weights
from .mcts import GumbelConfig, GumbelPlayer, MCTSConfig, MCTSPlayer, SearchPlayer
from .minimax import MinimaxConfig, MinimaxPlayer
from .result import SearchResult
from .search import SearchConfig, run_search, run_searches, search_steps, visit_policy
from .simple import RandomPlayer

__all__ = [
    "Budget",
    "DescentPlayer",
    "Evaluator",
    "GumbelConfig",
    "GumbelPlayer",
    "HeuristicEvaluator",
    "HeuristicPlayer",
    "MCTSConfig",
    "MCTSPlayer",
    "MinimaxConfig",
    "MinimaxPlayer",
    "MovePlayer",
    "Player",
    "PlayerSpec",
    "RandomPlayer",
    "SearchConfig",
    "SearchPlayer",
    "SearchResult",
    "choose_move",
    "load_weights",
    "make_engine_player",
    "parse_player",
    "parse_spec",
    "play_forced",
    "run_search",
    "run_searches",
    "search_steps",
    "visit_policy",
]
