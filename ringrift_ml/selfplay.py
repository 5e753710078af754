"""Selfplay: games between any tuple of players, written as canonical game records.

Players are named by specs (:mod:`ringrift_ml.ai.factory`): ``random``,
``heuristic``, ``mcts:200``, ``gumbel:64``, ``minimax:2000``, ``descent:2000``,
``policy:<model.pt>`` and ``nn:<model.pt>:64`` (Gumbel search with the network).
Games run ``batch_games`` at a time in each of ``workers`` processes; the network
evaluations of all games in flight are batched into one forward pass
(:mod:`ringrift_ml.ai.games`).

Records double as training data.  Each search decision records, in ``search``, the
simulations spent, whether it was a full search and the root value of every seat;
full searches also record their policy target in ``policy`` (``[[move, probability],
...]``: visit shares for a PUCT root, the improved policy for a Gumbel root).  A
position is a policy target exactly when its ``policy`` entry is non-null; positions
of fast searches (playout-cap randomization, ``full_search_prob < 1``) are not
training samples at all.  A full search's entry also carries its target's signal:
``entropy``, ``kl_prior`` (KL from the search's noise-free root prior) and
``kl_uniform`` (:mod:`ringrift_ml.ai.signal`; :func:`ringrift_ml.ai.signal.summarize`
averages them over a run).  Moves are chosen with a temperature schedule: ``opening``
for the first ``opening_moves`` decisions, then ``base`` (0 = the best), multiplied
by ``decay`` after each later decision.  Records replay with ``ringrift rules replay``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import multiprocessing as mp
from pathlib import Path
from typing import Callable, Optional

from tqdm import tqdm

from .ai import Budget
from .atomic import atomic_path
from .ai.factory import ENGINES, NET_ENGINES, parse_player, parse_spec  # noqa: F401 (re-exported)
from .ai.games import GameJob, play_games
from .ai.heuristic import packaged_weights_path
from .ai.signal import target_stats
from .nn.players import make_player
from .rules import BOARD_TYPES, RULES_VERSION, new_game
from .rules.fast import FastGame
from .lake.records import game_id_for
from .rules.records import RECORD_SCHEMA
from .version import file_digest

GENERATOR_VERSION = "3"  # 3: informative heuristic priors, rescaled Gumbel Q, pruned PUCT targets


@dataclasses.dataclass(frozen=True)
class TemperatureSchedule:
    """How search players turn visit counts into a move."""

    opening_moves: int = 12
    """Decisions (per game, all players) played at the opening temperature."""
    opening: float = 1.0
    """Temperature of the opening decisions (1 = proportional to visits)."""
    base: float = 0.0
    """Temperature afterwards (0 = the most visited move)."""
    decay: float = 1.0
    """Factor applied to the temperature after each post-opening decision."""

    def __post_init__(self):
        if self.opening_moves < 0 or self.opening < 0 or self.base < 0 or not 0 < self.decay <= 1:
            raise ValueError("temperature: opening_moves, opening, base >= 0 and 0 < decay <= 1 required")

    def at(self, decision: int) -> float:
        if decision < self.opening_moves:
            return self.opening
        return self.base * self.decay ** (decision - self.opening_moves)


@dataclasses.dataclass(frozen=True)
class SelfplayConfig:
    """One selfplay run."""

    board: str
    """Board type."""
    players: tuple
    """Player spec per seat, e.g. ``("mcts:200", "heuristic")``; its length is the player count."""
    games: int = 10
    """Games to play."""
    seed: int = 0
    """Game ``i`` uses seed ``seed + i``: runs are reproducible and can be extended."""
    max_moves: int = 20_000
    """Safety cap per game (the progress measure bounds real games well below it)."""
    workers: int = 1
    """Worker processes."""
    temperature: TemperatureSchedule = TemperatureSchedule()
    """Move-choice temperature for search players."""
    dirichlet_alpha: float = 0.3
    """Dirichlet root noise of PUCT searches in selfplay (0 disables); Gumbel roots
    explore with their Gumbel noise."""
    weights: Optional[str] = None
    """Heuristic weights file the heuristic-based players read (None: the packaged
    defaults).  Never looked up from the environment or the working directory: the
    weights are an explicit input, and their content hash is part of every game's
    generator config (and so of its id)."""
    batch_games: int = 8
    """Games in flight per worker; their network evaluations share forward passes."""
    full_search_prob: float = 1.0
    """Playout-cap randomization: share of search decisions with a full search (the
    only ones recorded as policy targets); the rest get ``fast_fraction`` of it."""
    fast_fraction: float = 0.25
    """Budget of a fast search as a fraction of the full one (at least 1)."""
    device: str = "cpu"
    """Where networks run (``cpu``, ``cuda``, ``mps``)."""
    threads: int = 1
    """Torch CPU threads per selfplay process (set when a network plays)."""
    label: str = ""
    """A name for the run that becomes part of every game's config (the closed loop
    labels its generations); empty: none."""
    ray_address: str = ""
    """Play on a Ray cluster: ``workers`` actors of one CPU each (``auto``: the cluster
    this host belongs to; ``local``: Ray started in this process; ``<head>:<port>``).
    Empty: worker processes on this machine.  The games are the same either way."""

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"board: unknown board {self.board!r}")
        if not 2 <= len(self.players) <= 4:
            hint = (" (the player count is the number of specs, e.g. --players heuristic,heuristic)"
                    if len(self.players) == 1 and str(self.players[0]).strip().isdigit() else "")
            raise ValueError(f"players: 2-4 player specs needed, got {len(self.players)}: "
                             f"{','.join(map(str, self.players))}{hint}")
        for spec in self.players:
            parse_spec(spec)
        if min(self.games, self.workers, self.max_moves, self.batch_games, self.threads) < 1:
            raise ValueError("games, workers, batch_games, threads and max_moves must be positive")
        if not 0 < self.full_search_prob <= 1:
            raise ValueError(f"full_search_prob: must be in (0, 1], got {self.full_search_prob}")
        if not 0 < self.fast_fraction <= 1:
            raise ValueError(f"fast_fraction: must be in (0, 1], got {self.fast_fraction}")
        if not self.dirichlet_alpha >= 0:  # also refuses NaN
            raise ValueError(f"dirichlet_alpha: must be >= 0 (0 disables the root noise), got {self.dirichlet_alpha}")


def game_job(cfg: SelfplayConfig, index: int, seats: list, prefix: tuple = ()) -> GameJob:
    """Game ``index`` of run ``cfg`` as a :class:`GameJob` for ``seats`` (from
    :func:`make_seats`): seed ``cfg.seed + index``, selfplay's exploration, temperature
    schedule and playout caps.  ``prefix``: legal-move rows of a recorded game to replay
    first; the game goes on from there with its decisions numbered on (a continuation,
    as ``benchmarks/value_floor.py`` plays them)."""
    budgets = [b for _, b in seats]
    fast = [Budget(nodes=max(1, int(round(b.nodes * cfg.fast_fraction)))) if b.nodes else b for b in budgets]
    return GameJob(board=cfg.board, players=[p for p, _ in seats], budgets=budgets, seed=cfg.seed + index,
                   max_moves=cfg.max_moves, temperature=cfg.temperature.at, explore=True,
                   full_search_prob=cfg.full_search_prob, fast_budgets=fast, tag=index, prefix=tuple(prefix))


def make_seats(cfg: SelfplayConfig) -> list:
    """The ``(player, budget)`` of every seat of run ``cfg``, networks loaded once (build
    them once per process and reuse them for every game)."""
    n = len(cfg.players)
    if any(parse_player(s).uses_network for s in cfg.players):
        import torch

        torch.set_num_threads(cfg.threads)  # one thread per process: several share the cores
    return [make_player(s, cfg.board, n, weights=cfg.weights, device=cfg.device,
                        dirichlet_alpha=cfg.dirichlet_alpha) for s in cfg.players]


def play_batch(cfg: SelfplayConfig, indices: list, on_batch: Optional[Callable[[int], None]] = None,
               on_record: Optional[Callable[[dict], None]] = None, seats: Optional[list] = None,
               config: Optional[dict] = None) -> list:
    """Play games ``indices`` of a run together (``batch_games`` in flight) and
    return their records in order; ``on_record`` sees each record as its game ends.
    ``seats`` and ``config``: the players and generator config, when built elsewhere
    (a Ray actor builds its players once, from its own copies of the model files)."""
    seats = make_seats(cfg) if seats is None else seats
    config = generator_config(cfg) if config is None else config
    done = None if on_record is None else (lambda pg: on_record(played_record(cfg, pg, config)))
    played = play_games([game_job(cfg, i, seats) for i in indices], concurrency=cfg.batch_games,
                        on_done=done, on_batch=on_batch)
    return [played_record(cfg, pg, config) for pg in played]


def play_one(cfg: SelfplayConfig, index: int) -> dict:
    """Play game ``index`` of a run and return its record."""
    return play_batch(cfg, [index])[0]


def sample_decisions(board: str, players: int, source: str, games: int, count: int, min_legal: int,
                     seed: int) -> list:
    """``count`` positions (FastGames, seeded draw, in game order) at decisions of
    ``games`` selfplay games of ``source`` in every seat: decisions with at least
    ``min_legal`` legal moves that no move wins on the spot (a search player answers
    those without searching).  What the benchmarks that compare players' decisions on
    real positions draw from."""
    import numpy as np

    from .ai.base import immediate_win
    from .rules.replay import iter_replay

    cfg = SelfplayConfig(board=board, players=(source,) * players, games=games, seed=seed,
                         batch_games=min(16, games))
    pool = []
    for rec in play_batch(cfg, list(range(games))):
        g = FastGame(new_game(board, players))
        for step in iter_replay(new_game(board, players), rec["moves"]):
            rows = g.legal()
            if len(rows) >= min_legal and immediate_win(g, rows) is None:
                pool.append(g.copy())
            g.apply(step.row)
    if len(pool) < count:
        raise ValueError(f"only {len(pool)} decisions with >= {min_legal} legal moves in {games} games of "
                         f"{source}; play more games")
    pick = np.random.default_rng(seed).choice(len(pool), size=count, replace=False)
    return [pool[i] for i in sorted(pick)]


def played_record(cfg: SelfplayConfig, pg, config: dict, searched_only: bool = False) -> dict:
    """The game record of one played game (``arena.match`` output) under run config
    ``cfg``, with the search target of every fully searched decision; ``config`` is
    ``generator_config(cfg)`` (its hash is part of the game id).

    ``searched_only``: a move that no search chose (a random opening decision, a move of
    a player that does not search) is marked as no training position (a search entry
    that is not full, as playout-cap randomization's fast searches are), instead of
    becoming a one-hot target of the move played.  For games between a searching
    player and e.g. ``heuristic``, whose moves are no search's improved policy."""
    n = len(cfg.players)
    game = FastGame(new_game(cfg.board, n))
    moves, policies, searches = [], [], []
    for row, res, fast in zip(pg.moves, pg.results, pg.fast):
        moves.append(game.move(row).to_json())
        # A search player's decision (a win played without searching has 0 simulations).
        searched = res is not None and (res.full or res.simulations > 0 or fast)
        if searched_only and not searched:
            searches.append({"full": False, "simulations": 0, "values": [0.0] * n})
        elif searched:
            entry = {"full": bool(res.full), "simulations": int(res.simulations),
                     "values": [round(float(v), 4) for v in res.values]}
            if res.full and res.simulations > 0:
                st = target_stats(res.policy, res.prior)
                entry.update({k: (None if v is None else round(v, 4)) for k, v in st.items()})
            searches.append(entry)
        else:
            searches.append(None)
        if searched and res.full:
            policies.append([[game.move(r).to_json(), round(float(t), 6)]
                             for r, t in zip(res.rows, res.policy) if t > 0])
        else:
            policies.append(None)
        game.apply(row)
    final = game.state()
    seed = pg.job.seed
    return {
        "schema": RECORD_SCHEMA,
        "gameId": game_id_for(cfg.board, n, "selfplay", identity_config(config), seed, moves),
        "boardType": cfg.board,
        "numPlayers": n,
        "rulesOptions": {"swapRuleEnabled": False},
        "rulesVersion": RULES_VERSION,
        "seed": seed,
        "generator": "selfplay:" + ",".join(cfg.players),
        "generatorVersion": GENERATOR_VERSION,
        "generatorConfig": config,
        "moves": moves,
        "policy": policies,
        "search": searches,
        "winner": final.winner,
        "ranks": {str(k): v for k, v in final.ranks.items()} if final.is_over else None,
        "victoryReason": final.victory_reason,
        "length": len(moves),
    }


def weights_version(path: Optional[str]) -> str:
    """Content hash of a weights file (the packaged defaults when ``path`` is None)."""
    return file_digest(path if path else packaged_weights_path())


def model_versions(specs) -> dict:
    """Content hash of every model file the players load, by spec."""
    out = {}
    for spec in specs:
        p = parse_player(spec)
        if p.uses_network:
            from .ai.factory import resolve_model

            out[spec] = file_digest(resolve_model(p.model))
    return out


def generator_config(cfg: SelfplayConfig) -> dict:
    """Everything besides the seed that decides a game: part of its id."""
    return {
        "players": list(cfg.players),
        "max_moves": cfg.max_moves,
        "temperature": dataclasses.asdict(cfg.temperature),
        "dirichlet_alpha": cfg.dirichlet_alpha,
        "full_search_prob": cfg.full_search_prob,
        "fast_fraction": cfg.fast_fraction,
        "models": model_versions(cfg.players),
        **({"label": cfg.label} if cfg.label else {}),
        "weights_version": weights_version(cfg.weights),
        "generator_version": GENERATOR_VERSION,
    }


def identity_config(config: dict) -> dict:
    """The generator config as a game's id hashes it: a network player names its model
    by the file's content digest (``models``), not by its path, so the same command and
    seeds give the same game ids under any storage root (the ids decide the training's
    held-out split).  The record keeps the paths in ``generatorConfig``."""
    models = config.get("models") or {}
    if not models:
        return config

    def named(spec: str) -> str:
        digest = models.get(spec)
        return spec if digest is None else spec.replace(f":{parse_player(spec).model}", f":model:{digest}", 1)

    return {**config, "players": [named(s) for s in config["players"]], "models": sorted(set(models.values()))}


_WORKER_CFG: Optional[SelfplayConfig] = None


def _init(cfg: SelfplayConfig) -> None:
    global _WORKER_CFG
    _WORKER_CFG = cfg


def _work(indices: list) -> list:
    return play_batch(_WORKER_CFG, indices)


class _RayWorker:
    """The state of one Ray actor (:class:`ringrift_ml.cluster.ActorPool` factory): the
    run's config, its generator config (computed on the driver, where the model files
    are) and the files its players read, shipped as bytes
    (:class:`ringrift_ml.nn.shipped.ShippedSpecs`: the driver's paths need not exist on
    the actor's host)."""

    def __init__(self, cfg: SelfplayConfig):
        from .nn.shipped import ShippedSpecs

        self.cfg = cfg
        self.config = generator_config(cfg)
        self.files = ShippedSpecs(cfg.players, cfg.weights)

    def __call__(self) -> Callable[[list], list]:
        tmp, local, weights = self.files.unpack()
        seats = make_seats(dataclasses.replace(self.cfg, players=tuple(local[s] for s in self.cfg.players),
                                               weights=weights))
        cfg, config = self.cfg, self.config

        def run(indices: list) -> list:
            return play_batch(cfg, indices, seats=seats, config=config)

        run.files = tmp  # the copies live as long as the actor's players
        return run


def _chunks(cfg: SelfplayConfig, batches: int) -> list:
    """The run's game indices in tasks of ``batches`` batches each (fewer when the
    workers would otherwise go without)."""
    size = max(1, min(cfg.batch_games * batches, -(-cfg.games // cfg.workers)))
    return [list(range(i, min(i + size, cfg.games))) for i in range(0, cfg.games, size)]


def _evaluator_stats(cfg: SelfplayConfig) -> Optional[dict]:
    """This process's network evaluators' counters when this run plays in-process with a
    network (its batches and cache hits are then this process's), else None."""
    if cfg.ray_address or cfg.workers != 1 or not any(parse_player(s).uses_network for s in cfg.players):
        return None
    from .nn.players import evaluator_stats

    return evaluator_stats()


def run_selfplay(
    cfg: SelfplayConfig,
    out: Optional[Path] = None,
    progress: bool = True,
    on_game: Optional[Callable[[int, dict], None]] = None,
    keep_records: bool = True,
) -> Optional[list]:
    """Play all games; write them as JSON Lines to ``out`` (temp file, then rename).
    Records come back in game order; ``on_game(count, record)`` sees each as it ends.

    The file is written while the games are played, in game order: a game that ends
    before an earlier one waits in memory only until that one ends (the games in
    flight, not the run).  ``keep_records=False`` holds no other record and returns
    None: a long run to a file then needs memory for its games in flight, not for all
    of them (1,500 square8 games held 6.4 GB)."""
    bar = tqdm(total=cfg.games, desc=f"selfplay {cfg.board} {len(cfg.players)}p", unit="game",
               disable=not progress)
    done = {}  # seed -> record: every record, or with keep_records=False those waiting for an earlier game
    games = positions = 0
    t0 = time.time()
    stats0 = _evaluator_stats(cfg)
    with contextlib.ExitStack() as stack:
        fh = None
        if out is not None:
            fh = open(stack.enter_context(atomic_path(out)), "x", encoding="utf-8")
            stack.callback(fh.close)  # closed before the rename (callbacks run last in, first out)
        next_seed = cfg.seed  # the next game the file is waiting for

        def keep(rec: dict) -> None:
            nonlocal games, positions, next_seed
            if rec["seed"] < next_seed or rec["seed"] in done:
                return  # a game played twice (a retried task): the same seed plays the same game
            done[rec["seed"]] = rec
            games += 1
            positions += sum(1 for e in (rec.get("search") or []) if e and e.get("full", True))
            bar.update(1)
            if on_game is not None:
                on_game(games, rec)
            while next_seed in done:
                ready = done[next_seed] if keep_records else done.pop(next_seed)
                if fh is not None:
                    fh.write(json.dumps(ready) + "\n")
                next_seed += 1

        if cfg.ray_address:
            from .cluster import shared_pool

            # One batch per task: an actor takes the next task when it finishes one, and a
            # lost actor costs one batch.
            shared_pool(cfg.ray_address, cfg.workers).map(_RayWorker(cfg), _chunks(cfg, 1),
                                                          on_result=lambda _, recs: [keep(r) for r in recs])
        elif cfg.workers == 1:
            play_batch(cfg, list(range(cfg.games)), on_record=keep)
        else:
            # Chunks of a few batches per task keep every worker's batch full.
            ctx = mp.get_context("spawn")  # numba and fork do not mix safely
            with ctx.Pool(cfg.workers, initializer=_init, initargs=(cfg,)) as pool:
                for recs in pool.imap(_work, _chunks(cfg, 2)):
                    for rec in recs:
                        keep(rec)
                # Let the workers leave on their own before the with-block terminates the
                # pool: Pool.terminate signals workers that may hold the task queue's lock,
                # and a survivor then waits on that lock forever (seen on a loaded machine).
                pool.close()
                pool.join()
        bar.close()
        if next_seed != cfg.seed + cfg.games:
            raise RuntimeError(f"selfplay: game {next_seed - cfg.seed} of {cfg.games} never ended "
                               f"({games} records came back)")
    from . import metrics

    stats1 = _evaluator_stats(cfg)
    metrics.selfplay_done(cfg.board, len(cfg.players), games, positions, time.time() - t0,
                          {k: stats1[k] - stats0[k] for k in stats1} if stats0 is not None else None)
    if not keep_records:
        return None
    return [done[cfg.seed + i] for i in range(cfg.games)]
