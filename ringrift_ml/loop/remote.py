"""The loop's matches (gate and ladder) on a Ray cluster.

:class:`RayMatches` is a game runner with :func:`ringrift_ml.ai.games.play_games`'s
signature, for ``arena.match``'s ``runner``: it sends each batch of games to the actors
of the process's :func:`ringrift_ml.cluster.shared_pool` as plain descriptions (seat names, budgets,
seed, random opening), each actor builds the match's players once from their specs (the
checkpoints shipped as bytes, :mod:`ringrift_ml.nn.shipped`), and the played games come
back to the driver, which scores them, runs the sequential test and keeps them as
training data exactly as when it plays them itself.  A game is a pure function of its
description, so a game an actor lost is replayed identically elsewhere.
"""

from __future__ import annotations

from typing import Callable, Optional

from ..cluster import shared_pool


class _MatchWorker:
    """Actor state: the entrants' players by name, built from shipped specs."""

    def __init__(self, board: str, players: int, entrants: dict, device: str = "cpu"):
        from ..nn.shipped import ShippedSpecs

        self.board, self.players, self.device = board, players, device
        self.entrants = {name: ShippedSpecs([spec], weights) for name, (spec, weights) in entrants.items()}

    def __call__(self) -> Callable:
        from ..ai.games import GameJob, play_games
        from ..nn.players import make_player

        keep, built = [], {}
        for name, files in self.entrants.items():
            tmp, local, weights = files.unpack()
            keep.append(tmp)
            built[name] = make_player(local[files.specs[0]], self.board, self.players, weights=weights,
                                      device=self.device)[0]
            built[name].name = name
        board = self.board

        def run(task: tuple) -> list:
            descs, concurrency = task
            jobs = [GameJob(board, [built[n] for n in d["seats"]], d["budgets"], d["seed"], swap_rule=d["swap_rule"],
                            max_moves=d["max_moves"], random_opening=d["random_opening"]) for d in descs]
            out = play_games(jobs, concurrency=concurrency)
            for pg in out:
                pg.job = None  # the driver puts its own job back; players stay here
            return out

        run.files = keep  # the copies live as long as the players
        return run


class RayMatches:
    """Plays ``arena`` jobs between ``entrants`` (``{name: (spec, weights file or None)}``;
    the players in the jobs are matched to entrants by their ``name``) on ``workers``
    actors of the cluster at ``address``: the process's shared pool, which keeps the
    match's players only until two newer pieces of work replace them, so there is
    nothing to close."""

    def __init__(self, address: str, workers: int, board: str, players: int, entrants: dict,
                 device: str = "cpu"):
        self.workers = max(1, workers)
        self.pool = shared_pool(address, self.workers)
        self.factory = _MatchWorker(board, players, entrants, device)
        self.names = set(entrants)

    def __call__(self, jobs: list, concurrency: int = 1, on_done: Optional[Callable] = None,
                 on_batch: Optional[Callable] = None) -> list:
        descs = []
        for j in jobs:
            if j.temperature is not None or j.explore or j.full_search_prob != 1.0:
                raise ValueError("remote matches: selfplay options (temperature, exploration, playout caps) are "
                                 "not match options")
            seats = [p.name for p in j.players]
            unknown = sorted(set(seats) - self.names)
            if unknown:
                raise ValueError(f"remote matches: players {unknown} are not entrants ({sorted(self.names)})")
            descs.append({"seats": seats, "budgets": list(j.budgets), "seed": j.seed, "swap_rule": j.swap_rule,
                          "max_moves": j.max_moves, "random_opening": j.random_opening})
        # Contiguous shares of at most two batches each (each task plays ``concurrency``
        # games at a time): a free actor takes the next share, so actors whose games ran
        # short are not left idle, and a long match's progress moves share by share.
        per = max(1, min(-(-len(descs) // self.workers), 2 * max(1, concurrency)))
        spans = [(i, min(i + per, len(descs))) for i in range(0, len(descs), per)]

        def back(t: int, played: list) -> None:
            lo = spans[t][0]
            for k, pg in enumerate(played):
                pg.job = jobs[lo + k]
                if on_done is not None:
                    on_done(pg)

        out = self.pool.map(self.factory, [(descs[lo:hi], concurrency) for lo, hi in spans], on_result=back)
        return [pg for part in out for pg in part]


__all__ = ["RayMatches"]
