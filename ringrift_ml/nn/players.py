"""Players from specs, network players included: the factory every driver calls.

:func:`make_player` turns any spec of :mod:`ringrift_ml.ai.factory` into
``(player, budget)``: ``policy``, ``policy-sym``, ``nn``, ``nn-puct`` and ``nn-sym``
here, the NNUE engines by :func:`ringrift_ml.nnue.players.make_nnue_player`, every other engine by :func:`ringrift_ml.ai.factory.make_engine_player`.  It
lives in ``nn`` because a network player needs the network code and ``ai`` never
imports it.

A network is loaded once per process and shared (with its evaluation cache) by every
player made from the same file, so that all seats and games of a worker batch their
evaluations together.

Importing this module does not import torch: selfplay, arenas and the command line
import it for heuristic players too, and torch belongs to the optional ``pipeline``
extra.  The network modules are imported when a network is first loaded.
"""

from __future__ import annotations

import os

from ..ai.factory import make_engine_player, parse_player, resolve_model

_EVALUATORS: dict = {}


def network_evaluator(model: str, symmetries: bool = False, device: str = "cpu"):
    """The process-wide evaluator of a checkpoint (loaded once; reloaded if the file changes)."""
    path = resolve_model(model)
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size, symmetries, device)
    ev = _EVALUATORS.get(key)
    if ev is None:
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available on this machine")
        if device == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device 'mps': not available on this machine")
        if device.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device {device!r}: expected cpu, cuda[:N] or mps")
        from .checkpoint import load_net
        from .evaluator import NetEvaluator
        from .infer import NetRunner

        net, _ = load_net(path)
        ev = NetEvaluator(NetRunner(net, symmetries=symmetries, device=device))
        _EVALUATORS[key] = ev
    return ev


def evaluator_stats() -> dict:
    """``{batches, misses, hits}`` summed over this process's network evaluators (misses
    are forward-pass positions, hits cache answers)."""
    out = {"batches": 0, "misses": 0, "hits": 0}
    for ev in _EVALUATORS.values():
        out["batches"] += ev.batches
        out["misses"] += ev.misses
        out["hits"] += ev.hits
    return out


def make_player(spec: str, board: str, num_players: int, weights: str | None = None,
                device: str = "cpu", leaves_per_eval: int = 1, dirichlet_alpha: float = 0.3):
    """``(player, budget)`` for a spec.  Heuristic-based players read ``weights`` (a
    weights file; None: the packaged defaults); network players load ``<model>`` onto
    ``device`` and refuse a network of another board."""
    p = parse_player(spec)
    if p.uses_nnue:
        from ..nnue.players import make_nnue_player

        return make_nnue_player(spec, board, num_players)
    if not p.uses_network:
        return make_engine_player(spec, board, num_players, weights=weights, dirichlet_alpha=dirichlet_alpha)
    from ..ai.mcts import SearchPlayer
    from ..ai.search import SearchConfig

    budget = p.as_budget()
    ev = network_evaluator(p.model, symmetries=p.engine.endswith("-sym"), device=device)
    if ev.board != board:
        raise ValueError(f"player spec {spec!r}: the network plays {ev.board}, not {board}")
    if p.engine.startswith("policy"):
        from .evaluator import NetPolicyPlayer

        return NetPolicyPlayer(ev, name=spec), budget
    root = "puct" if p.engine == "nn-puct" else "gumbel"
    cfg = SearchConfig(root=root, leaves_per_eval=leaves_per_eval, dirichlet_alpha=dirichlet_alpha)
    return SearchPlayer(ev, cfg, name=spec), budget


def load_player(path, symmetries: bool = False, name=None):
    """The no-search policy player of a checkpoint file (its own network, not the
    process-wide shared one of :func:`network_evaluator`)."""
    from .checkpoint import load_net
    from .evaluator import NetPolicyPlayer
    from .infer import NetRunner

    net, _ = load_net(path)
    return NetPolicyPlayer(NetRunner(net, symmetries=symmetries), name or f"policy:{path}")


__all__ = ["load_player", "make_player", "network_evaluator"]
