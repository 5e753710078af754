"""Player specs: the one place that reads ``"nn:model.pt:64"``, and the players without a network.

Specs are ``engine[:budget]`` or, for networks and NNUEs, ``engine:<file>[:<budget>]``;
:data:`ENGINE_TABLE` lists every engine with what its budget counts (the command
line's ``--players`` help is made from it).

``M`` is a checkpoint file (``ringrift train`` output), ``F`` an NNUE file
(``ringrift nnue train`` output).  Heuristic weights and model
files are explicit arguments: nothing is looked up in the working directory or the
environment.

This module parses every spec and builds the players of :data:`ENGINES`
(:func:`make_engine_player`).  Players of :data:`NET_ENGINES` hold a network, and
this package never imports the network code or torch (the layers of the package
point downwards only), so :func:`ringrift_ml.nn.players.make_player` builds those -
and every other spec, by way of :func:`make_engine_player`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

from .base import Budget

ENGINE_TABLE = (
    # (engine, spec form, the player, what the budget counts)
    ("random", "random", "uniform over the legal moves", None),
    ("heuristic", "heuristic", "one-ply greedy on the weighted features", None),
    ("mcts", "mcts:N", "PUCT tree search, heuristic evaluator and prior", "simulations"),
    ("gumbel", "gumbel:N", "Gumbel root with sequential halving, heuristic evaluator", "simulations"),
    ("minimax", "minimax:N", "alpha-beta (paranoid with 3-4 players), heuristic evaluator", "nodes"),
    ("descent", "descent:N", "unbounded best-first minimax, heuristic evaluator", "evaluations"),
    ("policy", "policy:M", "the network's most probable move, no search", None),
    ("policy-sym", "policy-sym:M", "the same, averaged over the board's symmetries", None),
    ("nn", "nn:M:N", "Gumbel root search with the network's priors and values", "simulations"),
    ("nn-puct", "nn-puct:M:N", "PUCT search with the network", "simulations"),
    ("nn-sym", "nn-sym:M:N", "nn with symmetry-averaged network evaluations", "simulations"),
    ("minimax-nnue", "minimax-nnue:F:N", "alpha-beta (paranoid with 3-4 players), NNUE evaluator", "nodes"),
    ("descent-nnue", "descent-nnue:F:N", "unbounded best-first minimax, NNUE evaluator", "evaluations"),
)
"""Every engine a spec may name: the one table of the engines (``ENGINES``,
``NET_ENGINES`` and ``NNUE_ENGINES`` sort them by what builds them)."""

ENGINES = ("random", "heuristic", "mcts", "minimax", "gumbel", "descent")
NET_ENGINES = ("policy", "policy-sym", "nn", "nn-puct", "nn-sym")
NNUE_ENGINES = ("minimax-nnue", "descent-nnue")
"""Engines with an NNUE file (built by :func:`ringrift_ml.nnue.players.make_nnue_player`)."""
TIMED_ENGINES = ("minimax", "descent", "minimax-nnue", "descent-nnue")
"""Engines that also take a wall-clock budget per decision (``minimax:0.2s``,
``minimax-nnue:F:150ms``): the one-at-a-time searches.  The batched searches (``mcts``,
``gumbel``, the network engines) advance many games per network call, where a clock per
decision has no meaning."""
DEFAULT_BUDGET = {"random": 1, "heuristic": 100_000, "mcts": 200, "minimax": 2000, "gumbel": 64,
                  "descent": 2000, "policy": 1, "policy-sym": 1, "nn": 64, "nn-puct": 64, "nn-sym": 64,
                  "minimax-nnue": 2000, "descent-nnue": 2000}


@dataclasses.dataclass(frozen=True)
class PlayerSpec:
    engine: str
    budget: int
    model: Optional[str] = None
    seconds: Optional[float] = None
    """A wall-clock budget per decision instead of ``budget`` (:data:`TIMED_ENGINES`)."""

    def as_budget(self) -> Budget:
        """The budget of one decision."""
        return Budget(seconds=self.seconds) if self.seconds is not None else Budget(nodes=self.budget)

    @property
    def budget_text(self) -> str:
        """The budget as a spec writes it (``64``, ``0.2s``)."""
        return f"{self.seconds:g}s" if self.seconds is not None else str(self.budget)

    @property
    def uses_network(self) -> bool:
        """A network checkpoint (``NET_ENGINES``)."""
        return self.engine in NET_ENGINES

    @property
    def uses_nnue(self) -> bool:
        """An NNUE file (``NNUE_ENGINES``)."""
        return self.engine in NNUE_ENGINES


def _positive(spec: str, text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"player spec {spec!r}: budget must be an integer, got {text!r}") from None
    if n < 1:
        raise ValueError(f"player spec {spec!r}: budget must be positive")
    return n


def _seconds(spec: str, text: str) -> Optional[float]:
    """``"0.2s"`` / ``"200ms"`` -> 0.2; None when ``text`` is not a time."""
    t = text.strip().lower()
    for suffix, scale in (("ms", 1e-3), ("s", 1.0)):
        if t.endswith(suffix):
            try:
                x = float(t[:-len(suffix)]) * scale
            except ValueError:
                return None
            if not (x > 0 and math.isfinite(x)):
                raise ValueError(f"player spec {spec!r}: a time budget must be a positive number, got {text!r}")
            return x
    return None


def parse_player(spec: str) -> PlayerSpec:
    """Parse a spec; ValueError names what is wrong."""
    p = _parse_player(spec)
    if p.seconds is not None and p.engine not in TIMED_ENGINES:
        raise ValueError(f"player spec {spec!r}: a time budget per decision is taken by "
                         f"{', '.join(TIMED_ENGINES)} only; {p.engine} counts {_unit(p.engine)}")
    return p


def engine_unit(engine: str) -> Optional[str]:
    """What an engine's budget counts (``simulations``, ``nodes``, ``evaluations``), or
    None for the engines without one (``heuristic``, ``random``, ``policy``)."""
    return next((u for e, _, _, u in ENGINE_TABLE if e == engine), None)


def _unit(engine: str) -> str:
    return engine_unit(engine) or "nothing"


def _parse_player(spec: str) -> PlayerSpec:
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"player spec: expected a string like 'mcts:200' or 'nn:model.pt:64', got {spec!r}")
    engine, _, rest = spec.partition(":")
    if engine in NET_ENGINES or engine in NNUE_ENGINES:
        if not rest:
            raise ValueError(f"player spec {spec!r}: expected {engine}:<model>"
                             + ("" if engine.startswith("policy") else "[:<simulations>]"))
        model, budget, seconds = rest, DEFAULT_BUDGET[engine], None
        if not engine.startswith("policy"):
            head, sep, tail = rest.rpartition(":")
            if sep and tail.strip().lstrip("-").isdigit():
                model, budget = head, _positive(spec, tail)
            elif sep:
                seconds = _seconds(spec, tail)
                if seconds is not None:
                    model = head
        if not model:
            raise ValueError(f"player spec {spec!r}: the model is missing")
        return PlayerSpec(engine, budget, model, seconds)
    if engine not in ENGINES:
        raise ValueError(f"player spec {spec!r}: unknown engine {engine!r}; expected one of "
                         f"{', '.join(ENGINES + NET_ENGINES + NNUE_ENGINES)}")
    seconds = _seconds(spec, rest) if rest else None
    if seconds is not None:
        return PlayerSpec(engine, DEFAULT_BUDGET[engine], seconds=seconds)
    return PlayerSpec(engine, _positive(spec, rest) if rest else DEFAULT_BUDGET[engine])


def players_help() -> str:
    """The player specs, one clause per engine of :data:`ENGINE_TABLE`, for ``--players`` help."""
    parts = []
    for engine, form, what, budget in ENGINE_TABLE:
        unit = f"; N {budget} (default {DEFAULT_BUDGET[engine]})" if budget else ""
        parts.append(f"{form} ({what}{unit})")
    return ("Engines: " + ", ".join(parts) + ". M is a network checkpoint, F an NNUE file (a loop's 'best' or "
            "'g<N>' with --storage where a command reads the registry). " + ", ".join(TIMED_ENGINES)
            + " also take a time per decision instead of N (e.g. minimax:0.2s, minimax-nnue:F:150ms).")


def parse_spec(spec: str) -> tuple:
    """``"mcts:200"`` -> ``("mcts", 200)`` (the engine and its budget)."""
    p = parse_player(spec)
    return p.engine, p.budget


def resolve_model(ref: str) -> Path:
    """The checkpoint file a spec's ``<model>`` names."""
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ValueError(f"model {ref!r}: no such checkpoint file")
    return path.resolve()


def make_engine_player(spec: str, board: str, num_players: int, weights: Optional[str] = None,
                       dirichlet_alpha: float = 0.3):
    """``(player, budget)`` for a spec of :data:`ENGINES` (no network).  Heuristic-based
    players read ``weights`` (a weights file; None: the packaged defaults).  A network
    spec is refused: networks are built by :func:`ringrift_ml.nn.players.make_player`,
    since this package never imports torch or the network code."""
    from .descent import DescentPlayer
    from .heuristic import HeuristicEvaluator, HeuristicPlayer, packaged_weights_path
    from .mcts import SearchPlayer
    from .minimax import MinimaxPlayer
    from .search import SearchConfig
    from .simple import RandomPlayer

    p = parse_player(spec)
    if p.uses_network or p.uses_nnue:
        raise ValueError(f"player spec {spec!r}: {'a network' if p.uses_network else 'an NNUE'} player; build it "
                         "with ringrift_ml.nn.players.make_player")
    budget = p.as_budget()
    if p.engine == "random":
        return RandomPlayer(), budget
    ev = HeuristicEvaluator.for_board(board, num_players, Path(weights) if weights else packaged_weights_path())
    if p.engine == "heuristic":
        return HeuristicPlayer(ev), budget
    if p.engine in ("mcts", "gumbel"):
        cfg = SearchConfig(root="puct" if p.engine == "mcts" else "gumbel", dirichlet_alpha=dirichlet_alpha)
        return SearchPlayer(ev, cfg, name=p.engine), budget
    if p.engine == "descent":
        return DescentPlayer(ev), budget
    return MinimaxPlayer(ev), budget


__all__ = ["DEFAULT_BUDGET", "engine_unit", "ENGINES", "ENGINE_TABLE", "NET_ENGINES", "NNUE_ENGINES", "PlayerSpec", "TIMED_ENGINES",
           "make_engine_player", "parse_player", "parse_spec", "players_help", "resolve_model"]
