"""Selfplay: games between any tuple of players, written as canonical game records.

Players are named by specs ``engine[:budget]``: ``random``, ``heuristic``,
``mcts:200`` (simulations), ``minimax:2000`` (nodes), ``gumbel:64`` (simulations),
``descent:2000`` (evaluated children), ``policy:<model.pt>`` (the network's policy, no
search; ``policy-sym:`` averages it over the board's symmetries).  A
search player's policy is recorded with each of its moves (``policy``:
``[[move, probability], ...]``: MCTS visit shares, or Gumbel's improved policy) so that
records double as training targets.  Moves are chosen from the visits with a
temperature schedule: ``opening`` for the first ``opening_moves`` decisions of the game,
then ``base`` (0 = most visited), multiplied by ``decay`` after each later decision.
Games run in ``workers`` processes; records replay with ``ringrift rules replay``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from tqdm import tqdm

from .ai import Budget, HeuristicEvaluator, HeuristicPlayer, MCTSConfig, MCTSPlayer, RandomPlayer
from .ai.descent import DescentPlayer
from .ai.gumbel import GumbelPlayer
from .ai.heuristic import packaged_weights_path
from .ai.mcts import visit_policy
from .ai.minimax import MinimaxPlayer
from .rules import BOARD_TYPES, RULES_VERSION, new_game
from .rules.fast import FastGame
from .lake.records import game_id_for
from .rules.records import RECORD_SCHEMA

ENGINES = ("random", "heuristic", "mcts", "minimax", "gumbel", "descent")
# The network's policy without search: ``policy:runs/x/model.pt`` (``policy-sym:``:
# averaged over the board's symmetries).
NET_ENGINES = ("policy:", "policy-sym:")
GENERATOR_VERSION = "1"


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
    """Root noise of MCTS players in selfplay (0 disables)."""
    weights: Optional[str] = None
    """Heuristic weights file the heuristic-based players read (None: the packaged
    defaults).  Never looked up from the environment or the working directory: the
    weights are an explicit input, and their content hash is part of every game's
    generator config (and so of its id)."""

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"board: unknown board {self.board!r}")
        if not 2 <= len(self.players) <= 4:
            raise ValueError(f"players: 2-4 player specs needed, got {len(self.players)}")
        for spec in self.players:
            parse_spec(spec)
        if self.games < 1 or self.workers < 1 or self.max_moves < 1:
            raise ValueError("games, workers and max_moves must be positive")


def parse_spec(spec: str) -> tuple:
    """``"mcts:200"`` -> ``("mcts", 200)``; ValueError names what is wrong."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"player spec: expected a string like 'mcts:200', got {spec!r}")
    if spec.startswith(NET_ENGINES):
        engine, _, path = spec.partition(":")
        if not path:
            raise ValueError(f"player spec {spec!r}: expected {engine}:<model.pt>")
        return engine, 1
    engine, _, budget = spec.partition(":")
    if engine not in ENGINES:
        raise ValueError(f"player spec {spec!r}: unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if budget:
        try:
            n = int(budget)
        except ValueError:
            raise ValueError(f"player spec {spec!r}: budget must be an integer") from None
        if n < 1:
            raise ValueError(f"player spec {spec!r}: budget must be positive")
        return engine, n
    return engine, {"random": 1, "heuristic": 100_000, "mcts": 200, "minimax": 2000, "gumbel": 64, "descent": 2000}[engine]


def make_player(spec: str, board: str, num_players: int, dirichlet_alpha: float = 0.0,
                weights: Optional[str] = None):
    """A player and its budget from a spec; heuristic-based players read ``weights``
    (a weights file; None: the packaged defaults)."""
    engine, nodes = parse_spec(spec)
    if engine in ("policy", "policy-sym"):
        from .nn.infer import load_player

        player = load_player(spec.partition(":")[2], symmetries=engine == "policy-sym", name=spec)
        if player.runner.board != board:
            raise ValueError(f"player spec {spec!r}: the network plays {player.runner.board}, not {board}")
        return player, Budget(nodes=1)
    if engine == "random":
        return RandomPlayer(), Budget(nodes=nodes)
    ev = HeuristicEvaluator.for_board(board, num_players, Path(weights) if weights else packaged_weights_path())
    if engine == "heuristic":
        return HeuristicPlayer(ev), Budget(nodes=nodes)
    if engine == "mcts":
        return MCTSPlayer(ev, MCTSConfig(dirichlet_alpha=dirichlet_alpha)), Budget(nodes=nodes)
    if engine == "gumbel":
        return GumbelPlayer(ev), Budget(nodes=nodes)
    if engine == "descent":
        return DescentPlayer(ev), Budget(nodes=nodes)
    return MinimaxPlayer(ev), Budget(nodes=nodes)


def play_one(cfg: SelfplayConfig, index: int) -> dict:
    """Play game ``index`` of a run and return its record."""
    seed = cfg.seed + index
    n = len(cfg.players)
    seats = [make_player(s, cfg.board, n, cfg.dirichlet_alpha, cfg.weights) for s in cfg.players]
    rng = np.random.default_rng(seed)
    game = FastGame(new_game(cfg.board, n))
    moves, policies = [], []
    decision = 0
    while not game.is_over and len(moves) < cfg.max_moves:
        rows = game.legal()
        seat = game.current_player
        player, budget = seats[seat - 1]
        policy = None
        if len(rows) == 1:
            row = rows[0]
        elif isinstance(player, MCTSPlayer):
            root_rows, visits, _, _ = player.search.search(game, budget, int(rng.integers(2**31)))
            p = visit_policy(visits, cfg.temperature.at(decision))
            row = root_rows[rng.choice(len(root_rows), p=p)]
            target = visits / visits.sum()
            policy = [[game.move(r).to_json(), round(float(t), 6)] for r, t in zip(root_rows, target)]
            decision += 1
        elif isinstance(player, GumbelPlayer):
            root_rows, best, improved, _ = player.search.search(game, budget, int(rng.integers(2**31)))
            row = root_rows[best]
            policy = [[game.move(r).to_json(), round(float(t), 6)] for r, t in zip(root_rows, improved)]
            decision += 1
        else:
            row = player.choose_row(game, budget, int(rng.integers(2**31)))
            decision += 1
        moves.append(game.move(row).to_json())
        policies.append(policy)
        game.apply(row)
    final = game.state()
    config = generator_config(cfg)
    return {
        "schema": RECORD_SCHEMA,
        "gameId": game_id_for(cfg.board, n, "selfplay", config, seed, moves),
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
        "winner": final.winner,
        "ranks": {str(k): v for k, v in final.ranks.items()} if final.is_over else None,
        "victoryReason": final.victory_reason,
        "length": len(moves),
    }


def weights_version(path: Optional[str]) -> str:
    """Content hash of a weights file (the packaged defaults when ``path`` is None)."""
    data = Path(path).read_bytes() if path else packaged_weights_path().read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def generator_config(cfg: SelfplayConfig) -> dict:
    """Everything besides the seed that decides a game: part of its id."""
    return {
        "players": list(cfg.players),
        "max_moves": cfg.max_moves,
        "temperature": dataclasses.asdict(cfg.temperature),
        "dirichlet_alpha": cfg.dirichlet_alpha,
        "weights_version": weights_version(cfg.weights),
        "generator_version": GENERATOR_VERSION,
    }


_WORKER_CFG: Optional[SelfplayConfig] = None


def _init(cfg: SelfplayConfig) -> None:
    global _WORKER_CFG
    _WORKER_CFG = cfg


def _work(index: int) -> dict:
    return play_one(_WORKER_CFG, index)


def run_selfplay(
    cfg: SelfplayConfig,
    out: Optional[Path] = None,
    progress: bool = True,
    on_game: Optional[Callable[[int, dict], None]] = None,
) -> list:
    """Play all games; write them as JSON Lines to ``out`` (temp file, then rename)."""
    indices = range(cfg.games)
    bar = dict(total=cfg.games, desc=f"selfplay {cfg.board} {len(cfg.players)}p", unit="game", disable=not progress)
    records = []

    def keep(rec: dict) -> None:
        records.append(rec)
        if on_game is not None:
            on_game(len(records), rec)

    if cfg.workers == 1:
        for i in tqdm(indices, **bar):
            keep(play_one(cfg, i))
    else:
        ctx = mp.get_context("spawn")  # numba and fork do not mix safely
        with ctx.Pool(cfg.workers, initializer=_init, initargs=(cfg,)) as pool:
            for rec in tqdm(pool.imap(_work, indices), **bar):
                keep(rec)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
        tmp.replace(out)
    return records
