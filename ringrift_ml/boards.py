"""What a partition's games cost, and the work sizes derived from it: the one home of
every per-board default.

:data:`GAME_COST` is the measured CPU of one selfplay game of a partition relative to
square8 2p at the same search budget (``benchmarks/board_cost.py``: ``mcts:16`` in
every seat, 2 games per partition, square8 2p 0.27 CPU s per game on this 2-core
machine; square19 games run 380-670 moves, hexagonal 820-1,200).  A cost above
:data:`BIG` makes a partition "big".

:func:`quick_config` sizes the quick job (``ringrift-pipeline``) so that a partition
costs about as much as a small one: fewer games at fewer simulations, short
training of the small network, the smallest gate, ladder, round robin and CMA-ES that
still run every step.  :func:`loop_defaults` sizes a campaign's loop the same way.
"""

from __future__ import annotations

GAME_COST = {
    ("square8", 2): 1.0, ("square8", 3): 1.3, ("square8", 4): 1.0,
    ("hex8", 2): 1.0, ("hex8", 3): 1.6, ("hex8", 4): 1.6,
    ("square19", 2): 30.0, ("square19", 3): 34.0, ("square19", 4): 57.0,
    ("hexagonal", 2): 66.0, ("hexagonal", 3): 100.0, ("hexagonal", 4): 120.0,
}
"""CPU of one selfplay game relative to square8 2p at equal simulations (measured:
``python benchmarks/board_cost.py --sims 16 --games 2``, rounded)."""

BIG = 4.0
"""Partitions whose games cost more than this many square8 2p games are big."""


def game_cost(board: str, players: int) -> float:
    """:data:`GAME_COST` of a partition; a clear error for one that does not exist."""
    try:
        return GAME_COST[(board, int(players))]
    except KeyError:
        boards = sorted({b for b, _ in GAME_COST})
        raise ValueError(f"partition {board}|{players}: expected a board of {', '.join(boards)} and 2-4 players")\
            from None


def is_big(board: str, players: int) -> bool:
    return game_cost(board, players) > BIG


def quick_config(board: str, players: int) -> dict:
    """The quick job's work sizes of a partition: ``{"loop": LoopConfig fields (``train``
    as a dict of TrainConfig overrides), "tune":
    TuneConfig fields, "confirm": ConfirmConfig fields, "elo": RoundRobinConfig fields}``.
    Small partitions: 8 heuristic selfplay games, a gate of 8-16 games and 4-game ladder
    rungs at 16 simulations, 2 CMA-ES generations of 4 candidates x 2 games and a
    confirmation of at most 40 games, a round robin of 1 game per pairing.  Big ones:
    the same steps with 4 games at 4 simulations, three epochs of the small network and
    the smallest tests, since one of their games costs 30-120 square8 games."""
    if not is_big(board, players):
        return {
            "loop": {"games": 8, "bootstrap": "heuristic", "simulations": 16, "gate_min_games": 8,
                     "gate_max_games": 16, "batch_games": 8, "ladder_games": 4,
                     "ladder_predecessor_games": 4},
            "tune": {"generations": 2, "popsize": 4, "games_per_eval": 2},
            "confirm": {"max_games": 40, "min_games": 20},
            "elo": {"games_per_pairing": 1, "search_player": "mcts:16", "candidate_simulations": 16},
        }
    return {
        # Four games and three epochs of the small network: with fewer, the candidate can
        # stay above the trivial baseline held out and the blocking check stops the run.
        "loop": {"games": 4, "bootstrap": "heuristic", "simulations": 4, "gate_min_games": 2, "gate_max_games": 2,
                 "batch_games": 4, "ladder_games": 1, "ladder_predecessor_games": 1,
                 "train": {"epochs": 3, "early_stopping": 0, "preset": "small"}},
        "tune": {"generations": 1, "popsize": 2, "games_per_eval": 1},
        "confirm": {"max_games": 2, "min_games": 1},
        "elo": {"games_per_pairing": 1, "search_player": "mcts:4", "candidate_simulations": 4},
    }


def loop_defaults(board: str, players: int) -> dict:
    """A partition's loop settings for a campaign (``LoopConfig`` fields, ``train`` as a
    dict of TrainConfig overrides).  Small partitions: the loop's own defaults, the
    configuration of the square8 2p proof runs (docs/loop.md).  Big ones keep a
    generation's CPU near a small one's although a game costs 30-120 square8 games:
    16 simulations instead of 64 (Gumbel's policy improvement holds at few
    simulations), a quarter of the games, and the small network; a gate of 16-48 games
    and ladder rungs of 8 games (16 against the predecessor), since each of their games
    costs as much as the selfplay's.  With 24 games a generation the value head has a
    few dozen results to learn from and memorises them within a few epochs, which stops
    the training early; half of its
    target is the search's root value instead (``value_target_mix``), a target per
    position.  square19 2p's first generation, retrained on its own 24 games and
    replaying its gate's 36 games against ``mcts:16``: 11.1% with the results alone,
    44.4% with the mix at 0.5, 33.3% at 1.0 (``benchmarks/retrain_gate.py``, docs/loop.md).
    Training may take half of a generation's CPU (``train_share`` 0.5): at a quarter,
    hexagonal 2p's candidates trained on less than one pass over their window (about 140
    CPU s at 154-172 positions/s) and four generations lost their gates at 9-18%; at a
    half, continued candidates went 3-33% in four gates, and three quarters from the first
    generation on (another seed) 13-35% in four, the same gates at 1.5 times a
    generation's CPU (docs/loop.md, "hexagonal 2p again" and "a third time").

    hexagonal 2p bootstraps from ``mcts:4`` with 72 games a generation (its gate still
    plays ``mcts:16``, ``loop.run.gate_bootstrap_spec``): with ``mcts:16`` and 24 games
    three runs did not promote within 3 CPU hours (their gates 3-52% against
    ``mcts:16``), with these settings two of two did (seeds 3 and 4: 64.5% against
    ``heuristic`` after 3.40 CPU hours with the first training uncapped, 92.5% after
    1.51 with it capped; docs/loop.md, "a fourth time" and "a fifth time").
    """
    if not is_big(board, players):
        return {}
    out = {"simulations": 16, "games": 24, "batch_games": 8, "gate_min_games": 16, "gate_max_games": 48,
           "ladder_games": 8, "ladder_predecessor_games": 16, "train_share": 0.5,
           "train": {"preset": "small", "value_target_mix": 0.5}}
    if (board, players) == ("hexagonal", 2):
        out.update(bootstrap="mcts:4", games=72)
    return out


__all__ = ["BIG", "GAME_COST", "game_cost", "is_big", "loop_defaults", "quick_config"]
