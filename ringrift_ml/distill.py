"""An NNUE distilled from a partition's games and its best network (``ringrift nnue train``).

1. **Positions**: the partition's games in the lake (merged and deduplicated when the
   merge has run, else every game), replayed; every decision position (more than one
   legal move) of every ``every``-th ply, with the game's final result per seat.
2. **Targets**: per seat, ``mix`` times the game's result plus ``1 - mix`` times the
   network's value of the position (distillation; ``mix`` 0 is pure distillation).
   Without a network the target is the result alone.
3. **Training** (:mod:`ringrift_ml.train.nnue`): split by game, the held-out games
   never trained on; the epoch with the lowest held-out MSE kept.
4. **Report**, on the held-out positions and every seat: the Pearson correlation with
   the network's value of the NNUE (quantised, as search runs it, and float) and of the
   hand-weighted heuristic beside it, and each one's MSE against the result.  The
   report is stored in the NNUE file's metadata.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from .lake import LakeStore
from .ai import _k_nnue as K
from .nnue.features import N_GLOBALS
from .nnue.model import board_cells


ROWS_CHUNK = 200
"""Games read from the lake at a time: a hexagonal game's moves alone are some 50 kB, so
``max_games`` of them at once would be held in memory as Python objects together."""


def _rows(store: LakeStore, board: str, players: int, max_games: int, chunk: Optional[int] = None) -> Iterator[dict]:
    """The partition's first ``max_games`` games by ``game_id`` (the merged table, or the
    raw one before any merge), ``chunk`` (default :data:`ROWS_CHUNK`) at a time."""
    chunk = chunk or ROWS_CHUNK
    # Without the search targets: positions need the moves only, and a big board's
    # targets (hundreds of moves at every decision) overflow one Arrow read.
    for table in ("games_merged", "games"):
        ids = [r["game_id"] for r in store.query(
            f"SELECT game_id FROM lake.{table} WHERE board = ? AND players = ? ORDER BY game_id LIMIT ?",
            [board, players, max_games]).to_pylist()]
        if not ids:
            continue
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            # By the ids read first: games landing meanwhile do not join the list.
            yield from store.query(f"SELECT * EXCLUDE (policy_json) FROM lake.{table} WHERE board = ? AND players = ? "
                                   "AND game_id IN (SELECT unnest(?)) ORDER BY game_id",
                                   [board, players, part]).to_pylist()
        return


def positions(store: LakeStore, board: str, players: int, max_games: int = 2000, every: int = 1,
              branches: int = 0, seed: int = 0) -> dict:
    """``{"S": [state arrays], "result": [n, seats] (NaN for branches), "game": game
    index, "branch": bool}`` of the decision positions of the partition's finished games
    (``ValueError`` if it has none).  ``branches``: for each kept position, that many
    more positions reached from it by 1-4 uniformly random moves (the off-path positions
    a search visits; they have no game result, only the network's value)."""
    from .lake.records import row_to_record
    from .rules.records import start_state
    from .rules.replay import Replayer

    if every < 1 or max_games < 1:
        raise ValueError(f"positions: every and max_games must be positive, got {every} and {max_games}")
    rows = _rows(store, board, players, max_games)
    rng = np.random.default_rng(seed)
    states, results, games, branch = [], [], [], []
    nan = np.full(players, np.nan, dtype=np.float32)
    for gi, row in enumerate(rows):
        rec = row_to_record(row)
        ranks = json.loads(row["ranks"] or "{}")
        if not ranks:
            continue  # unfinished: no result to learn
        util = np.array([1.0 - 2.0 * (int(ranks[str(p)]) - 1) / (players - 1) for p in range(1, players + 1)],
                        dtype=np.float32)
        r = Replayer(start_state(rec))
        for ply, md in enumerate(rec["moves"]):
            if ply % every == 0 and len(r.rows()) > 1:
                states.append(r.S.copy())
                results.append(util)
                games.append(gi)
                branch.append(False)
                for _ in range(branches):
                    S = _random_walk(r.S, board, int(rng.integers(1, 5)), rng)
                    if S is not None:
                        states.append(S)
                        results.append(nan)
                        games.append(gi)
                        branch.append(True)
            r.advance(md)
    if not states:
        raise ValueError(f"{board}|{players}: no finished games with decisions in the lake")
    return {"S": states, "result": np.stack(results), "game": np.asarray(games, dtype=np.int64),
            "branch": np.asarray(branch, dtype=bool)}


def played_positions(board: str, players: int, games: int, player: str = "heuristic", seed: int = 0,
                     random_opening: int = 8, concurrency: int = 32, log: Callable[[str], None] = print) -> list:
    """The decision positions (state arrays) of ``games`` games of ``player`` in every
    seat, each opened by ``random_opening`` uniformly random decisions (so that a
    deterministic player's games differ): more distinct positions than the lake holds,
    for the network to label.  ``player`` is any player spec (``heuristic``,
    ``minimax:200``, ``minimax-nnue:<file>:200``, ``policy:<checkpoint>``).  ``concurrency``
    games are in flight at once, so that a network player's evaluations go in batches (the
    positions do not depend on it: every game draws from its own seed).  ``log`` hears
    every tenth of the games."""
    from .ai.games import GameJob, play_games
    from .nn.players import make_player
    from .rules import new_game
    from .rules.fast import FastGame

    if games < 0 or random_opening < 0:
        raise ValueError(f"played positions: games and random_opening must be >= 0, got {games}, {random_opening}")
    if concurrency < 1:
        raise ValueError(f"played positions: concurrency must be >= 1, got {concurrency}")
    if games == 0:
        return []
    pl, budget = make_player(player, board, players)
    jobs = [GameJob(board, [pl] * players, [budget] * players, seed + i, random_opening=random_opening)
            for i in range(games)]
    out = []
    done = [0]
    step = max(1, games // 10)

    def progress(_):
        done[0] += 1
        if done[0] % step == 0 or done[0] == games:
            log(f"{board}|{players}: played {done[0]}/{games} games of {player}")

    for pg in play_games(jobs, concurrency=concurrency, on_done=progress):
        g = FastGame(new_game(board, players))
        for row in pg.moves:
            if len(g.legal()) > 1:
                out.append(g.S.copy())
            g.apply(row)
    return out


def _games(board: str, states: list) -> list:
    """A ``FastGame`` (its own copy of the array) of each state of the board."""
    from .rules import board_spec
    from .rules.fast import FastGame
    from .rules.state import GameState

    spec = board_spec(board)
    return [FastGame(GameState(spec, S)) for S in states]


def _random_walk(S: np.ndarray, board: str, moves: int, rng):
    """The position ``moves`` uniformly random moves after ``S`` (a copy), or None if
    the game ends or offers no choice there."""
    (g,) = _games(board, [S])
    for _ in range(moves):
        if g.is_over:
            return None
        rows = g.legal()
        g.apply(rows[rng.integers(len(rows))])
    if g.is_over or len(g.legal()) < 2:
        return None
    return g.S.copy()


def symmetric_states(board: str, S: np.ndarray) -> list:
    """``S`` under every symmetry of the board that the rules respect (identity first)."""
    from .rules import board_spec
    from .rules.state import GameState
    from .rules.symmetry import rules_symmetries, transform_state

    state = GameState(board_spec(board), S)
    return [transform_state(state, g).S for g in rules_symmetries(board)]


IMAGE_CHUNK = 2048
"""Positions whose symmetric images are built and valued at a time: all images of a
whole distillation set at once (hundreds of thousands of positions, eight images each
on square boards) would not fit in memory as state arrays."""


def network_values(model: str, board: str, states: list, device: str = "cpu", batch: int = 256,
                   symmetrise: bool = False, images: bool = False,
                   log: Optional[Callable[[str], None]] = None) -> np.ndarray:
    """``[positions, seats]`` the network's value of each position; ``symmetrise``: its
    mean over the position's images under the rules' symmetries (seats are unchanged by
    them).  A network trained with augmentation is only nearly invariant (square8's g7 of
    the proof runs: 0.91-0.93 correlation between a position's value and its image's),
    and a student with symmetric features can only follow the invariant part.
    ``images``: ``[positions, symmetries, seats]``, the network's value of every image
    (column ``k`` for ``rules_symmetries(board)[k]``, 0 the position as given), so that a
    student augmented with the symmetries learns each image's own value.  The images are
    built ``IMAGE_CHUNK`` positions at a time; ``log`` hears every tenth of them."""
    from .nn.players import network_evaluator

    if symmetrise and images:
        raise ValueError("network values: symmetrise (the images' mean) and images (each image) exclude each other")
    ev = network_evaluator(model, device=device)
    if ev.board != board:
        raise ValueError(f"network {model!r} plays {ev.board}, not {board}")

    def values(group: list) -> np.ndarray:
        out = []
        for i in range(0, len(group), batch):
            out.extend(v for _, v in ev.evaluate([(g, g.legal()) for g in _games(board, group[i:i + batch])]))
        ev.clear()
        return np.asarray(out, dtype=np.float32)

    if not (symmetrise or images):
        return values(states)
    parts, step, told = [], max(1, len(states) // 10), 0
    for i in range(0, len(states), IMAGE_CHUNK):
        chunk = [symmetric_states(board, S) for S in states[i:i + IMAGE_CHUNK]]
        k = len(chunk[0])
        v = values([x for im in chunk for x in im]).reshape(len(chunk), k, -1)
        parts.append(v.mean(axis=1) if symmetrise else v)
        done = i + len(chunk)
        if log and (done // step > told or done == len(states)):
            told = done // step
            log(f"{board}: valued {done}/{len(states)} positions in all {k} images")
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def heuristic_values(board: str, players: int, states: list) -> np.ndarray:
    from .ai.heuristic import HeuristicEvaluator

    ev = HeuristicEvaluator.for_board(board, players)
    return np.asarray([ev.values(g) for g in _games(board, states)], dtype=np.float32)


def samples(board: str, states: list, targets: np.ndarray, games: np.ndarray):
    """:class:`ringrift_ml.train.nnue.NNUEData`: one sample per position and seat.
    ``targets`` is ``[positions, seats]``, or ``[positions, symmetries, seats]`` for a
    target per image (the samples' targets are then ``[samples, symmetries]``)."""
    from .train.nnue import NNUEData

    ncells = board_cells(board)
    buf = np.zeros(ncells, dtype=np.int64)
    g = np.zeros(N_GLOBALS, dtype=np.float32)
    feats, starts, glob, target, game = [], [0], [], [], []
    for i, S in enumerate(states):
        for p in range(1, targets.shape[-1] + 1):
            k = K.active_features(S, ncells, p, buf)
            feats.append(buf[:k].copy())
            starts.append(starts[-1] + k)
            K.globals_into(S, p, g)
            glob.append(g.copy())
            target.append(targets[i, ..., p - 1])
            game.append(games[i])
    return NNUEData(np.concatenate(feats) if feats else np.zeros(0, dtype=np.int64),
                    np.asarray(starts, dtype=np.int64), np.asarray(glob, dtype=np.float32),
                    np.asarray(target, dtype=np.float32), np.asarray(game, dtype=np.int64))


def _corr(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return round(float(np.corrcoef(a, b)[0, 1]), 4)


def nnue_values(weights, board: str, states: list, quantised: bool) -> np.ndarray:
    from .nnue.evaluator import NNUEEvaluator

    ev = NNUEEvaluator(weights, quantised=quantised)
    return np.asarray([ev.values(g) for g in _games(board, states)], dtype=np.float32)


def distill(store: LakeStore, board: str, players: int, out: Path, model: Optional[str] = None,
            mix: float = 0.0, max_games: int = 2000, every: int = 1, branches: int = 0, cfg=None,
            device: str = "cpu", symmetrise: bool = False, image_targets: bool = False, extra_games: int = 0,
            extra_player: str = "heuristic", log: Callable[[str], None] = print) -> dict:
    """Train an NNUE for a partition, write it to ``out`` and return its report.
    ``symmetrise``: the training targets are the network's values averaged over the
    rules' symmetries (:func:`network_values`; the labelling costs as many times more).
    The report correlates the held-out positions with both the network's value and its
    symmetrised value.  ``image_targets``: every position carries the network's value of
    each of its images under the rules' symmetries, and the augmentation trains an image on
    its own value rather than on the position's (:func:`network_values` with ``images``; the
    labelling costs as many times more).  Copying a position's target to its images fits
    the student to the network's mean over the images, so it can follow the network no
    better than that mean does; with each image's own value it can follow all of it.
    ``extra_games``: that many games of ``extra_player`` played
    here (:func:`played_positions`), their positions labelled by the network and
    trained on only (like the off-path branches: no result, never held out)."""
    import torch

    from .nnue.calibrate import correct_quantisation
    from .train.nnue import NNUETrainConfig, predict, train_nnue

    cfg = cfg or NNUETrainConfig()
    # From the start, not only for training: the network plays (``policy:``) and labels
    # positions first, and torch's default of a thread per core is many times slower
    # beside other work on the same cores.
    torch.set_num_threads(cfg.threads)
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix: the result's weight must be in [0, 1], got {mix}")
    if model is None and mix != 1.0:
        raise ValueError("mix: without a network to distil the target is the result alone (mix 1)")
    if branches and mix != 0.0:
        raise ValueError("branches: off-path positions have no game result, so they need mix 0")
    if image_targets and (symmetrise or model is None or not cfg.symmetries):
        raise ValueError("image_targets: each image's own network value needs a network, the symmetries on and "
                         "not symmetrise (which averages the images' values)")
    if extra_games and (mix != 0.0 or model is None):
        raise ValueError("extra_games: played positions have no result in the lake; they need a network and mix 0")
    t0 = time.time()
    pos = positions(store, board, players, max_games=max_games, every=every, branches=branches, seed=cfg.seed)
    states, result, games, branch = pos["S"], pos["result"], pos["game"], pos["branch"]
    lake_ids = np.unique(games)
    log(f"{board}|{players}: {len(states)} positions ({int(branch.sum())} off-path) from "
        f"{len(lake_ids)} games")
    extra = played_positions(board, players, extra_games, extra_player, seed=cfg.seed + 1_000_003, log=log)
    if extra:
        # Training-only positions, under one game id past the lake's (never held out).
        states = list(states) + extra
        result = np.concatenate([result, np.full((len(extra), players), np.nan, dtype=np.float32)])
        games = np.concatenate([games, np.full(len(extra), int(games.max()) + 1, dtype=np.int64)])
        branch = np.concatenate([branch, np.ones(len(extra), dtype=bool)])
        log(f"{board}|{players}: {len(extra)} more positions from {extra_games} games of {extra_player}")
    t_label = time.time()
    net = network_values(model, board, states, device=device, symmetrise=symmetrise, images=image_targets,
                         log=log) if model else None
    label_seconds = round(time.time() - t_label, 1)
    # The result is the same for every image of a position.
    res_t = result[:, None, :] if image_targets else result
    target = result if net is None else (net if mix == 0.0 else mix * res_t + (1.0 - mix) * net)
    rng = np.random.default_rng(cfg.seed)
    # Held out among the lake's games only (extra positions are trained on).
    held_games = set(rng.choice(lake_ids, size=max(1, int(round(cfg.holdout * len(lake_ids)))),
                                replace=False).tolist())
    in_held = np.array([g in held_games for g in games])
    held_pos = in_held & ~branch  # judged on the games' own positions only
    train_pos = ~in_held
    if not train_pos.any():
        raise ValueError(f"{board}|{players}: too few games to hold some out ({len(lake_ids)})")
    data = samples(board, states, target, games)
    held_rows = np.flatnonzero(np.repeat(held_pos, players))
    train_rows = np.flatnonzero(np.repeat(train_pos, players))
    tnet, history = train_nnue(board, data.take(train_rows), data.take(held_rows), cfg, log=log)
    weights = tnet.export(board)
    # The quantised head's bias corrections, measured on training positions (never the
    # held-out ones the report judges it on).
    weights, quantisation = correct_quantisation(weights, [s for s, t in zip(states, train_pos) if t],
                                                 seed=cfg.seed)
    log(f"{board}|{players}: quantisation error against the float NNUE on {quantisation['positions']} training "
        f"positions: rmse {quantisation['before']['rmse']} -> {quantisation['after']['rmse']} after bias correction")
    held_states = [s for s, h in zip(states, held_pos) if h]
    hq = nnue_values(weights, board, held_states, quantised=True)
    hf = nnue_values(weights, board, held_states, quantised=False)
    hh = heuristic_values(board, players, held_states)
    res = result[held_pos]
    report = {
        "board": board, "players": players, "positions": len(states), "branch_positions": int(branch.sum()),
        "branches": branches, "games": len(lake_ids), "extra_games": extra_games,
        "extra_player": extra_player if extra_games else None, "extra_positions": len(extra),
        "heldout_positions": int(held_pos.sum()), "heldout_games": len(held_games), "mix": mix,
        "model": str(model) if model else None, "every": every, "epochs": history, "label_seconds": label_seconds,
        "sizes": [cfg.hidden, cfg.l1, cfg.l2],
        "mse_result": {"nnue": round(float(np.mean((hq - res) ** 2)), 4),
                       "heuristic": round(float(np.mean((hh - res) ** 2)), 4), "zero": round(float(np.mean(res ** 2)), 4)},
        # The compiled float path against torch on the same samples (position-major, seat-minor).
        "float_vs_torch_max_abs": round(float(np.max(np.abs(hf.ravel() - predict(tnet, data.take(held_rows))))), 5),
        "quantised_vs_float_corr": _corr(hq, hf),
        "quantisation": quantisation,
        "seconds": round(time.time() - t0, 1),
    }
    if net is not None:
        # Both references on the held-out positions: the network's own value and its
        # mean over the symmetries (whichever the targets were, the other is computed).
        if image_targets:  # both are in the labels already
            plain, sym = net[held_pos][:, 0], net[held_pos].mean(axis=1)
        else:
            plain = network_values(model, board, held_states, device=device) if symmetrise else net[held_pos]
            sym = net[held_pos] if symmetrise else network_values(model, board, held_states, device=device,
                                                                  symmetrise=True)
        report["targets"] = ("network, symmetrised" if symmetrise else
                             "network, each image's own" if image_targets else "network")
        report["corr_with_network"] = {"nnue": _corr(hq, plain), "nnue_float": _corr(hf, plain),
                                       "heuristic": _corr(hh, plain), "symmetrised_network": _corr(sym, plain)}
        report["corr_with_symmetrised_network"] = {"nnue": _corr(hq, sym), "nnue_float": _corr(hf, sym),
                                                   "heuristic": _corr(hh, sym)}
        report["mse_result"]["network"] = round(float(np.mean((plain - res) ** 2)), 4)
        report["mse_result"]["symmetrised_network"] = round(float(np.mean((sym - res) ** 2)), 4)
    weights.meta.update({"players": players, "report": report})
    weights.save(out)
    report["path"] = str(out)
    return report


def nnue_gate(board: str, players: int, candidate: Path, current: Optional[Path], games: int, nodes: int,
              seed: int = 0, progress: bool = False) -> dict:
    """The candidate NNUE's match before it replaces the current one: ``minimax-nnue``
    with the candidate against ``minimax-nnue`` with the current NNUE (or, before there
    is one, ``minimax`` with the heuristic), equal node budgets, seats alternating or
    rotated, 2 random opening decisions.  Accepted when it scores at least 50% (a new
    NNUE may replace an equal one: its correlation is measured, its play is guarded)."""
    from .arena import head_to_head
    from .nn.players import make_player

    if games < 1 or nodes < 1:
        raise ValueError(f"nnue gate: games and nodes must be positive, got {games} and {nodes}")
    a_spec = f"minimax-nnue:{candidate}:{nodes}"
    b_spec = f"minimax-nnue:{current}:{nodes}" if current is not None else f"minimax:{nodes}"
    (pa, ba), (pb, bb) = make_player(a_spec, board, players), make_player(b_spec, board, players)
    pa.name, pb.name = "candidate", "current" if current is not None else f"minimax:{nodes}"
    out = head_to_head(pa, pb, ba, bb, board, games, seed=seed, random_opening=2, progress=progress,
                       num_players=players, concurrency=1)
    return {"opponent": pb.name, "games": out["games"], "score": out["score"], "ci95": out["ci95"],
            "nodes": nodes, "accepted": out["score"] >= 0.5}


def evaluation_speed(weights, board: str, states: list) -> float:
    """The NNUE's evaluations per second over ``states`` in turn (each a FastGame copy)."""
    from .nnue.evaluator import NNUEEvaluator

    games = _games(board, states)
    ev = NNUEEvaluator(weights)
    ev.values(games[0])
    t = time.perf_counter()
    for g in games:
        ev.values(g)
    return len(games) / max(time.perf_counter() - t, 1e-9)


__all__ = ["distill", "evaluation_speed", "nnue_gate", "heuristic_values", "network_values", "nnue_values", "positions", "samples"]
