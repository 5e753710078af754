"""CMA-ES fitness of heuristic weights from a network's evaluations.

Scoring weights by games is noisy: with a handful of games per candidate, CMA-ES
mostly ranks luck.  When the partition has a network that plays better than the
heuristic, its value head is a denser signal: on a fixed set of positions, let the
one-ply heuristic with the candidate weights choose its move, and score the position
it reaches by the network's value for the player who moved.  Weights whose choices
the network rates higher score higher; the positions are the same for every
candidate (common random numbers), so differences between candidates are not luck of
the draw.

The network must first have beaten the heuristic (``require_network_beats_heuristic``):
fitting the heuristic to a network that plays worse would pull it towards the worse
player.  The model may also be an NNUE file (``*.npz``, :mod:`ringrift_ml.nnue`): its
values replace the network's, and its test is alpha-beta with it against alpha-beta
with the heuristic at equal nodes.  The positions come from seeded games of the packaged heuristic against
random play with random openings, so they cover openings, middle games and endings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .ai import Budget, HeuristicEvaluator, HeuristicPlayer, RandomPlayer
from .ai.base import terminal_values
from .ai.heuristic import _settle
from .rules import new_game
from .rules.fast import FastGame


def sample_positions(board: str, players: int, count: int, seed: int = 0, max_moves: int = 400) -> list:
    """``count`` positions (a :class:`FastGame` each, the mover with at least two legal
    moves) from seeded games of the packaged heuristic against random players."""
    if count < 1:
        raise ValueError(f"positions: must be positive, got {count}")
    rng = np.random.default_rng(seed)
    heur = HeuristicPlayer(HeuristicEvaluator.for_board(board, players))
    rand = RandomPlayer()
    out: list = []
    game_no = 0
    while len(out) < count:
        g = FastGame(new_game(board, players))
        seats = [heur if (k + game_no) % 2 == 0 else rand for k in range(players)]
        opening = int(rng.integers(2, 9))
        # Keep each position with a probability that spreads the sample over whole games.
        keep_p = 0.15
        for ply in range(max_moves):
            if g.is_over:
                break
            rows = g.legal()
            if len(rows) > 1 and ply >= opening and rng.random() < keep_p:
                out.append(g.copy())
                if len(out) == count:
                    break
            if ply < opening or len(rows) == 1:
                row = rows[int(rng.integers(len(rows)))]
            else:
                row = seats[g.current_player - 1].choose_row(g, Budget(nodes=100_000), int(rng.integers(2**31)))
            g.apply(row)
        game_no += 1
    return out


def is_nnue(model) -> bool:
    """Is ``model`` an NNUE file (``.npz``) rather than a network checkpoint?"""
    return Path(model).suffix == ".npz"


class _NNUEValues:
    """An NNUE behind the network evaluator's ``evaluate`` (values only, no priors)."""

    def __init__(self, model: Path, board: str, players: int):
        from .nnue import load_nnue
        from .nnue.evaluator import NNUEEvaluator

        w = load_nnue(model)
        if w.board != board:
            raise ValueError(f"neural fitness: {model} is a {w.board} NNUE, tuning is on {board}")
        if w.meta.get("players") not in (None, players):
            raise ValueError(f"neural fitness: {model} is an NNUE of {w.meta['players']}-player games, tuning is "
                             f"on {players} players")
        self.ev = NNUEEvaluator(w)

    def evaluate(self, items):
        return [(None, self.ev.values(g)) for g, _ in items]


class NeuralFitness:
    """``score(weights)``: mean network value, for the mover, of the positions the
    one-ply heuristic with ``weights`` moves to, over fixed positions (module docstring);
    ``model``: a network checkpoint or an NNUE file."""

    def __init__(self, model: Path, board: str, players: int, positions: int = 256, seed: int = 0,
                 device: str = "cpu"):
        if is_nnue(model):
            self.evaluator = _NNUEValues(Path(model), board, players)
        else:
            from .nn.checkpoint import load_net
            from .nn.evaluator import NetEvaluator
            from .nn.infer import NetRunner

            net, _ = load_net(Path(model))
            if net.cfg.board != board:
                raise ValueError(f"neural fitness: {model} is a {net.cfg.board} network, tuning is on {board}")
            self.evaluator = NetEvaluator(NetRunner(net, device=device))
        self.board, self.players = board, players
        self.positions = sample_positions(board, players, positions, seed=seed)
        self.seed = seed

    def children(self, weights: np.ndarray, scale: float = 0.35) -> list:
        """The position each heuristic choice reaches (after the mover's forced follow-ups)."""
        player = HeuristicPlayer(HeuristicEvaluator(np.asarray(weights, dtype=np.float64), scale))
        out = []
        for i, g in enumerate(self.positions):
            row = player.choose_row(g, Budget(nodes=100_000), self.seed * 100_003 + i)
            child = g.copy()
            child.apply(row)
            _settle(child, g.current_player)
            out.append(child)
        return out

    def score(self, weights: np.ndarray, scale: float = 0.35) -> float:
        kids = self.children(weights, scale)
        values = []
        live = [(k, c) for k, c in enumerate(kids) if not c.is_over]
        answers = self.evaluator.evaluate([(c, c.legal()) for _, c in live]) if live else []
        by_index = {k: a[1] for (k, _), a in zip(live, answers)}
        for k, (g, c) in enumerate(zip(self.positions, kids)):
            mover = g.current_player - 1
            if c.is_over:
                values.append(float(terminal_values(c)[mover]))  # the search's scale for finished games
            else:
                values.append(float(by_index[k][mover]))
        return float(np.mean(values))


def require_network_beats_heuristic(model: Path, board: str, players: int, simulations: int = 0,
                                    games: int = 100, seed: int = 0, concurrency: int = 16,
                                    weights: Optional[Path] = None) -> dict:
    """Play the network (its policy, or ``nn`` search with ``simulations``) against the
    heuristic; ``ValueError`` unless the 95% interval of its score lies above 0.5.  An
    NNUE plays alpha-beta (``minimax-nnue``) against alpha-beta with the heuristic
    (``minimax``), ``simulations`` nodes per move each (default 1000)."""
    from .arena import head_to_head
    from .nn.players import make_player

    if is_nnue(model):
        nodes = simulations or 1000
        spec, other = f"minimax-nnue:{model}:{nodes}", f"minimax:{nodes}"
    else:
        spec, other = (f"nn:{model}:{simulations}" if simulations else f"policy:{model}"), "heuristic"
    a, ab = make_player(spec, board, players)
    b, bb = make_player(other, board, players, weights=str(weights) if weights else None)
    a.name, b.name = "network", "heuristic"
    out = head_to_head(a, b, ab, bb, board, games, seed=seed, concurrency=concurrency, random_opening=2,
                       progress=False, num_players=players)
    if not out["ci95"][0] > 0.5:
        raise ValueError(f"neural fitness refused: {spec} scored {out['score']:.3f} "
                         f"(95% CI {out['ci95'][0]:.3f}-{out['ci95'][1]:.3f}) over {out['games']} games against the "
                         f"heuristic ({other}); the {'NNUE' if is_nnue(model) else 'network'} must beat it first")
    return out


__all__ = ["NeuralFitness", "is_nnue", "require_network_beats_heuristic", "sample_positions"]
