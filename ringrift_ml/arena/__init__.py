"""Tournaments, Elo by maximum likelihood and sequential tests."""

from .elo import SPRT, TRUNCATIONS, PairRecord, fit_elo, pairwise_from_ranks, simulated_scores, wilson
from .match import GameResult, gauntlet, head_to_head, play_game, round_robin, sequential_match

__all__ = ["SPRT", "TRUNCATIONS", "GameResult", "PairRecord", "fit_elo", "gauntlet", "head_to_head",
           "pairwise_from_ranks", "play_game", "round_robin", "sequential_match", "simulated_scores", "wilson"]
