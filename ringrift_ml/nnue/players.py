"""Search players that evaluate with an NNUE (specs ``minimax-nnue:<file>[:nodes]`` and
``descent-nnue:<file>[:nodes]``; :mod:`ringrift_ml.ai.factory` parses them)."""

from __future__ import annotations

import os

from ..ai.factory import parse_player, resolve_model
from .evaluator import NNUEEvaluator
from .model import load_nnue

_WEIGHTS: dict = {}


def nnue_weights(path: str):
    """The weights of an NNUE file, loaded once per process (reloaded if the file changes)."""
    p = resolve_model(path)
    st = os.stat(p)
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key not in _WEIGHTS:
        _WEIGHTS[key] = load_nnue(p)
    return _WEIGHTS[key]


def make_nnue_player(spec: str, board: str, num_players: int):
    """``(player, budget)``: each player has its own evaluator (its accumulator follows
    that player's search)."""
    from ..ai.descent import DescentPlayer
    from ..ai.minimax import MinimaxPlayer

    p = parse_player(spec)
    w = nnue_weights(p.model)
    if w.board != board:
        raise ValueError(f"player spec {spec!r}: the NNUE plays {w.board}, not {board}")
    players = w.meta.get("players")
    if players is not None and int(players) != num_players:
        raise ValueError(f"player spec {spec!r}: the NNUE was trained on {players}-player games, not {num_players}")
    ev = NNUEEvaluator(w)
    budget = p.as_budget()
    if p.engine == "descent-nnue":
        return DescentPlayer(ev, name=spec), budget
    return MinimaxPlayer(ev, name=spec), budget


__all__ = ["make_nnue_player", "nnue_weights"]
