"""What every player returns for one decision: :class:`SearchResult`.

Selfplay, arenas and tuning read only this: the legal moves, the move chosen, the
policy target over the legal moves (a search distribution, or one-hot for players
that do not search), the root value of every seat, the visit counts, the simulations
spent and whether the decision had a *full* search (the only kind that becomes a
policy target under playout-cap randomization).

Shapes: ``rows (K, 8)``, ``policy (K,)``, ``visits (K,)``, ``values (num_players,)``
with seat ``p`` at index ``p - 1``; ``prior (K,)`` or None.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np


def _frozen(a, dtype) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True)
    a.flags.writeable = False
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class SearchResult:
    rows: np.ndarray
    """``(K, 8)`` legal move rows of the position, in the engine's order."""
    chosen: int
    """Index into ``rows`` of the move played."""
    policy: np.ndarray
    """``(K,)`` policy target over ``rows``, summing to 1."""
    values: np.ndarray
    """``(num_players,)`` root value of every seat in ``[-1, 1]`` (zeros when unknown)."""
    visits: np.ndarray
    """``(K,)`` root visit counts (zeros for players that do not search)."""
    simulations: int = 0
    """Simulations (network or evaluator leaf evaluations) spent."""
    full: bool = False
    """A full search: the decision is a policy target for training."""
    prior: Optional[np.ndarray] = None
    """``(K,)`` the evaluator's prior over ``rows`` at the root, before any root noise
    (None for players that do not search): what the search started from, so that
    KL(policy || prior) says how much the search changed it."""

    def __post_init__(self):
        rows = np.asarray(self.rows)
        if rows.ndim != 2 or len(rows) == 0:
            raise ValueError(f"search result: rows must be a non-empty (K, 8) array, got shape {rows.shape}")
        k = len(rows)
        object.__setattr__(self, "rows", _frozen(rows, rows.dtype))
        object.__setattr__(self, "policy", _frozen(self.policy, np.float64))
        object.__setattr__(self, "visits", _frozen(self.visits, np.float64))
        object.__setattr__(self, "values", _frozen(self.values, np.float64))
        if self.policy.shape != (k,) or self.visits.shape != (k,):
            raise ValueError(f"search result: policy and visits must have shape ({k},), got "
                             f"{self.policy.shape} and {self.visits.shape}")
        if not 0 <= int(self.chosen) < k:
            raise ValueError(f"search result: chosen {self.chosen} is not an index of the {k} legal moves")
        object.__setattr__(self, "chosen", int(self.chosen))
        if np.any(self.policy < 0) or abs(float(self.policy.sum()) - 1.0) > 1e-6:
            raise ValueError(f"search result: policy must be a distribution (sum {float(self.policy.sum())})")
        if self.prior is not None:
            object.__setattr__(self, "prior", _frozen(self.prior, np.float64))
            if self.prior.shape != (k,) or np.any(self.prior < 0) or abs(float(self.prior.sum()) - 1.0) > 1e-6:
                raise ValueError(f"search result: prior must be a distribution over the {k} legal moves")

    @property
    def row(self) -> np.ndarray:
        """The chosen move row."""
        return self.rows[self.chosen]

    @classmethod
    def one_hot(cls, rows: np.ndarray, chosen: int, num_players: int, values=None,
                full: bool = False) -> "SearchResult":
        """The result of a player that picks a move without a search distribution."""
        k = len(rows)
        if not 0 <= int(chosen) < k:
            raise ValueError(f"search result: chosen {chosen} is not an index of the {k} legal moves")
        policy = np.zeros(k)
        policy[chosen] = 1.0
        v = np.zeros(num_players) if values is None else values
        return cls(rows, chosen, policy, v, np.zeros(k), 0, full)


def row_index(rows: np.ndarray, row: np.ndarray) -> int:
    """Index of ``row`` in ``rows`` (ValueError when it is not a legal move)."""
    hit = np.flatnonzero((rows == row).all(axis=1))
    if len(hit) == 0:
        raise ValueError("move row is not among the legal moves")
    return int(hit[0])


__all__ = ["SearchResult", "row_index"]
