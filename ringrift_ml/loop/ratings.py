"""The candidate's round robin: how a partition's newest network compares with the baselines.

Beside the ladder (every promoted generation, ``loop/ladder.py``), the pipeline rates
its newest candidate: ``random``, ``heuristic`` (the storage root's tuned weights when
it has them), a search player, the candidate's policy alone and the candidate under its
own search, every pairing played with seats rotating; maximum-likelihood Elo with
standard errors anchored at ``random`` = 0, recorded in ``lake.elo``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional

from ..lake import LakeStore
from ..version import file_digest


@dataclasses.dataclass(frozen=True)
class RoundRobinConfig:
    """The candidate's round robin."""

    games_per_pairing: int = 4
    """Games of every pairing (seats rotate over them)."""
    search_player: str = "mcts:64"
    """The search baseline's player spec."""
    candidate_simulations: int = 32
    """The candidate also plays under search (``nn:<candidate>:<this>``); 0 leaves it out."""
    concurrency: int = 8
    """Games in flight (network evaluations are batched across them)."""
    random_opening: int = 2
    """Decisions played at random from each game's seed, so deterministic players meet in different games."""
    seed: int = 0
    """Seeds every game."""

    def __post_init__(self):
        from ..ai.factory import parse_spec

        if self.games_per_pairing < 1 or self.concurrency < 1:
            raise ValueError("round robin: games_per_pairing and concurrency must be positive")
        if self.candidate_simulations < 0 or self.random_opening < 0:
            raise ValueError("round robin: candidate_simulations and random_opening must be >= 0")
        parse_spec(self.search_player)


def rate_candidate(store: LakeStore, board: str, players: int, model_path: Path, cfg: RoundRobinConfig,
                   weights: Optional[Path] = None, run_id: Optional[str] = None,
                   on_game: Optional[Callable] = None) -> dict:
    """Play the round robin of the candidate ``model_path`` and record its ratings in
    ``lake.elo``.  ``weights``: the heuristic weights file (None: the packaged ones).
    Returns ``{elo, se, games_of, games, model_id, weights_version}``."""
    from ..ai.base import Budget
    from ..ai.heuristic import HeuristicEvaluator, HeuristicPlayer, packaged_weights_path
    from ..ai.simple import RandomPlayer
    from ..arena.elo import fit_elo
    from ..arena.match import round_robin
    from ..lake.lineage import record_row
    from ..nn.checkpoint import load_net
    from ..nn.evaluator import NetPolicyPlayer
    from ..nn.infer import NetRunner
    from ..nn.players import make_player

    net, _ = load_net(model_path)
    model_id = file_digest(model_path)
    ev = HeuristicEvaluator.for_board(board, players, weights or packaged_weights_path())
    search, search_budget = make_player(cfg.search_player, board, players, weights=str(weights) if weights else None)
    entrants = {"random": RandomPlayer(), "heuristic": HeuristicPlayer(ev), cfg.search_player: search,
                "candidate": NetPolicyPlayer(NetRunner(net), "candidate")}
    budgets = {"random": Budget(nodes=1), "heuristic": Budget(nodes=1), cfg.search_player: search_budget,
               "candidate": Budget(nodes=1)}
    if cfg.candidate_simulations:
        key = f"candidate+search:{cfg.candidate_simulations}"
        entrants[key], budgets[key] = make_player(f"nn:{model_path}:{cfg.candidate_simulations}", board, players)
    for key, p in entrants.items():
        p.name = key  # game results name seats by player name
    results, records = round_robin(entrants, budgets, board, players, cfg.games_per_pairing, seed=cfg.seed,
                                   progress=False, on_game=on_game, concurrency=cfg.concurrency,
                                   random_opening=cfg.random_opening)
    elo, se = fit_elo(records, anchor="random")
    games_of = {name: sum(name in r.seats for r in results) for name in entrants}
    wv = file_digest(weights) if weights else "packaged"
    record_row(store, "elo", [
        {"board": board, "players": players, "player": k, "elo": float(elo[k]), "se": float(se[k]),
         "games": games_of[k], "model_id": model_id, "weights_version": wv} for k in sorted(elo, key=lambda k: -elo[k])],
        f"elo {board}|{players}", run_id)
    return {"elo": elo, "se": se, "games_of": games_of, "games": len(results), "model_id": model_id,
            "weights_version": wv}


__all__ = ["RoundRobinConfig", "rate_candidate"]
