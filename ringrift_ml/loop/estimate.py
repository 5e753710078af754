"""What a generation will cost, before it runs: CPU seconds per step from measured rates.

Two bases, the better one first:

* ``registry``: the partition's own recent generations (median of the newest three
  that ran their steps here, after the first promotion once there is one: a network's
  selfplay costs what the bootstrap player's does not): selfplay, training, gate and
  ladder CPU as measured.  (``registry-bootstrap``: only the bootstrap's generations
  measured although a network is now the best; the Dagster sensor shows it as a rough
  figure, ``estimate`` calibrates instead.)
* ``calibration``: a few games of the generation's own selfplay player on this machine
  (their CPU per game and positions per game; a network plays one batch of the loop's
  ``batch_games`` games in flight, since its cost per game depends on the batch) and a few real training steps on their
  samples (CPU per step), and the gate's cost per game (:func:`gate_cpu_per_game`: a
  game of its opponent against itself, the selfplay's figure where that is the same
  player), scaled to the configuration: ``games`` selfplay games, the
  gate between ``gate_min_games`` and ``gate_max_games`` games (both sides search at
  ``simulations``), the training steps the config implies over
  the window (from ``early_stopping + 1`` epochs to all ``epochs``, within the reuse
  budget and ``train_share``'s share of the selfplay's CPU), and
  after a promotion ``LoopConfig.ladder_games_per_promotion`` ladder games at the gate's cost per game.

The result is a range (``low``: the gate decides at its minimum, training stops as
early as it can, no ladder; ``high``: the gate runs to its horizon, training runs every
epoch and a promotion's ladder follows) in CPU seconds and hours, with the basis and
the rates it used.  ``ringrift loop --dry-run`` prints it;
the loop sensor tags each run with it.
"""

from __future__ import annotations

from typing import Optional

from ..lake import LakeStore
from .config import LoopConfig
# The registry basis lives with the registry's reading (``generations``), below the
# loop's run, whose CPU budget asks it what the next generation costs.
from .generations import estimate_result as _result, first_promotion, from_registry, process_cpu_seconds
from .run import next_generation, selfplay_player

def calibrate(store: LakeStore, cfg: LoopConfig, games: int = 2, train_steps: int = 16) -> dict:
    """The estimate from ``games`` games of the next generation's selfplay player (a
    network: at least one batch of ``cfg.batch_games``, all in flight) and
    ``train_steps`` training steps on their samples (both timed in CPU seconds)."""
    import pyarrow as pa

    from ..nn.augment import symmetry_perms
    from ..nn.samples import SAMPLE_SCHEMA, game_samples
    from ..selfplay import SelfplayConfig, run_selfplay
    from ..train.dataset import from_table
    from ..train.loop import cpu_per_step

    g, best = next_generation(store, cfg)
    spec = selfplay_player(store, cfg, best)
    if best is not None:
        # A network shares its forward passes among the games in flight: two games at a
        # time cost several times more per game than the loop's ``batch_games`` (square8
        # 4p: 0.91-2.49 CPU h a generation calibrated with two games, 0.13-0.22 measured).
        # So the calibration plays one full batch, at the loop's rate.
        games = max(games, min(cfg.games, cfg.batch_games))
    sp = SelfplayConfig(board=cfg.board, players=(spec,) * cfg.players, games=games, seed=987_654_321,
                        batch_games=games, full_search_prob=cfg.full_search_prob if best else 1.0,
                        device=cfg.device, label="dry-run")
    c0 = process_cpu_seconds()
    records = run_selfplay(sp, progress=False)
    per_game = (process_cpu_seconds() - c0) / games
    rows = [s for r in records if r["winner"] is not None for s in game_samples(r)]
    positions_per_game = len(rows) / games
    # The window: each generation's sample set holds its selfplay and the games the
    # previous gate and ladder kept (none before generation 1).
    gen_positions = positions_per_game * cfg.games
    kept = positions_per_game * ((cfg.gate_max_games if cfg.gate_games_train else 0)
                                 + (cfg.ladder_games_per_promotion if cfg.ladder_games_train else 0))
    span = max(1, min(cfg.window or g + 1, g + 1))
    window = gen_positions * span + kept * min(span, g)
    if cfg.window_positions:
        window = min(window, max(cfg.window_positions, gen_positions))
    # The candidate's training config over that window (the reuse budget becomes its
    # max_steps there), timed by real optimiser steps on the samples (repeated to fill
    # several batches, so that an epoch is many steps as in the loop); the CPU per step
    # is read between steps, after the first few (start-up is not a rate).
    tcfg = cfg.train_config(seed=0, warm=best is not None, window_positions=int(window))
    need = tcfg.batch_size * (train_steps + 4)
    rows = rows * max(1, -(-need // max(1, len(rows))))
    data = from_table(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA), cfg.board,
                      sym_perms=symmetry_perms(cfg.board))
    per_step = cpu_per_step(data, tcfg, steps=train_steps)
    # Early stopping ends training after ``early_stopping`` epochs without a better one;
    # the epochs, or the step budget (reuse), end it at the latest.
    per_epoch = window * (1 - tcfg.holdout) / tcfg.batch_size
    least = min(tcfg.epochs, tcfg.early_stopping + 1) if tcfg.early_stopping else tcfg.epochs
    steps = (least * per_epoch, tcfg.epochs * per_epoch)
    if tcfg.max_steps:
        steps = tuple(min(x, tcfg.max_steps) for x in steps)
    selfplay = per_game * cfg.games
    train = (per_step * steps[0], per_step * steps[1])
    # The gate's games are the candidate against the best (or the bootstrap at the
    # loop's simulations), not selfplay: a cheap bootstrap (``mcts:4``) plays its
    # selfplay at a third of a gate game's cost.  The ladder's rungs are priced alike.
    per_gate = gate_cpu_per_game(store, cfg, best, games, selfplay=(spec, sp.full_search_prob, per_game))
    gate = (per_gate * cfg.gate_min_games, per_gate * cfg.gate_max_games)
    ladder = per_gate * cfg.ladder_games_per_promotion
    if cfg.train_share:
        # train_share caps training at a share of the data CPU (the loop's
        # ``train_budget``): the selfplay alone at the lowest, with a promotion's ladder
        # games kept as data at the highest.
        ratio = cfg.train_share / (1 - cfg.train_share)
        kept_ladder = ladder if cfg.ladder_games_train else 0.0
        train = (min(train[0], ratio * selfplay), min(train[1], ratio * (selfplay + kept_ladder)))
    return _result(cfg, "calibration", selfplay + train[0] + gate[0], selfplay + train[1] + gate[1] + ladder,
                   {"selfplay_cpu_seconds": round(selfplay, 1),
                    "train_cpu_seconds": [round(train[0], 1), round(train[1], 1)],
                    "gate_cpu_seconds": [round(gate[0], 1), round(gate[1], 1)],
                    "ladder_cpu_seconds": round(ladder, 1)},
                   {"generation": g, "player": spec, "games": games, "cpu_seconds_per_game": round(per_game, 3),
                    "cpu_seconds_per_gate_game": round(per_gate, 3),
                    "positions_per_game": round(positions_per_game, 1), "cpu_seconds_per_train_step": round(per_step, 4),
                    "train_steps": [int(steps[0]), int(steps[1])], "window_positions": int(window)})


def gate_cpu_per_game(store: LakeStore, cfg: LoopConfig, best: Optional[dict], games: int = 2,
                      selfplay: Optional[tuple] = None) -> float:
    """CPU seconds per game of the next generation's gate, priced as a game of the gate's
    opponent against itself: the best network at full search (or, before a promotion, the
    bootstrap player at the loop's simulations, ``loop.run.gate_bootstrap_spec``).  The
    candidate is of the best's kind and size, so the two sides cost alike; before a
    promotion, the candidate's network side is priced like the bootstrap's (an untrained
    stand-in would play games of another length: on hexagonal 2p it priced a gate game
    at 125 CPU s where the loop measured 18.6-20.5).  ``selfplay``: ``(spec, full_search_prob,
    CPU per game)`` of the selfplay calibration, reused when it is the same player;
    otherwise ``games`` games are played (a network: one batch of ``min(gate_min_games,
    batch_games)`` in flight, as the gate plays them)."""
    from ..selfplay import SelfplayConfig, run_selfplay
    from .run import gate_bootstrap_spec

    spec = selfplay_player(store, cfg, best) if best is not None else gate_bootstrap_spec(cfg)
    if selfplay is not None and selfplay[0] == spec and selfplay[1] == 1.0:
        return selfplay[2]
    if best is not None:
        games = max(games, min(cfg.gate_min_games, cfg.batch_games))
    sp = SelfplayConfig(board=cfg.board, players=(spec,) * cfg.players, games=games, seed=987_654_321,
                        batch_games=games, full_search_prob=1.0, device=cfg.device, label="dry-run-gate")
    c0 = process_cpu_seconds()
    run_selfplay(sp, progress=False)
    return (process_cpu_seconds() - c0) / games


def estimate(store: LakeStore, cfg: LoopConfig, calibrate_games: int = 2, force_calibration: bool = False) -> dict:
    """The registry's estimate when the partition has measured generations of the kind
    the next one is (unless ``force_calibration``), else a calibration of
    ``calibrate_games`` games."""
    found = None if force_calibration else from_registry(store, cfg)
    if found is not None and found["basis"] == "registry":
        return found
    return calibrate(store, cfg, games=calibrate_games)


__all__ = ["calibrate", "estimate", "first_promotion", "from_registry"]
