"""Elo ratings by maximum likelihood (Bradley-Terry), with standard errors, and a
sequential probability ratio test for "A is stronger than B by at least X Elo".

Ratings: ``P(i beats j) = 1 / (1 + 10 ** ((r_j - r_i) / 400))``; a draw counts half
a win for each side.  The anchor player is fixed at 0.  A weak prior - one virtual
draw between every pair that met - keeps ratings finite for perfect records.
Standard errors come from the inverse Fisher information at the optimum.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable

import numpy as np

_K = math.log(10) / 400.0


@dataclasses.dataclass
class PairRecord:
    """Points scored by ``a`` against ``b`` out of ``games`` (wins 1, draws 0.5)."""

    a: str
    b: str
    points: float
    games: int


def pairwise_from_ranks(names: list, ranks: dict) -> list:
    """Pairwise results of one multiplayer game from final ranks (seat -> rank)."""
    out = []
    seats = sorted(ranks)
    for i, si in enumerate(seats):
        for sj in seats[i + 1 :]:
            ri, rj = ranks[si], ranks[sj]
            pts = 1.0 if ri < rj else (0.5 if ri == rj else 0.0)
            out.append(PairRecord(names[si - 1], names[sj - 1], pts, 1))
    return out


def fit_elo(records: Iterable[PairRecord], anchor: str, prior_draws: float = 1.0, iters: int = 100):
    """Maximum-likelihood ratings: ``({name: elo}, {name: standard error})``."""
    records = list(records)
    names = sorted({r.a for r in records} | {r.b for r in records} | {anchor})
    idx = {n: i for i, n in enumerate(names)}
    m = len(names)
    W = np.zeros((m, m))  # points i scored against j
    G = np.zeros((m, m))  # games between i and j
    for r in records:
        if r.games <= 0 or not 0 <= r.points <= r.games:
            raise ValueError(f"record {r}: points must lie between 0 and the number of games")
        i, j = idx[r.a], idx[r.b]
        W[i, j] += r.points
        W[j, i] += r.games - r.points
        G[i, j] += r.games
        G[j, i] += r.games
    met = G > 0
    W = W + prior_draws * 0.5 * met
    G = G + prior_draws * met
    free = [i for i in range(m) if names[i] != anchor]
    x = np.zeros(m)  # natural-log strengths; elo = x / _K
    for _ in range(iters):
        d = x[:, None] - x[None, :]
        p = 1.0 / (1.0 + np.exp(-d))
        grad = (W - G * p).sum(axis=1)
        hess = -(G * p * (1 - p))
        np.fill_diagonal(hess, -hess.sum(axis=1))
        H = hess[np.ix_(free, free)]
        step = np.linalg.solve(H, grad[free]) if len(free) else np.zeros(0)
        x[free] += step
        if len(free) == 0 or np.max(np.abs(step)) < 1e-10:
            break
    d = x[:, None] - x[None, :]
    p = 1.0 / (1.0 + np.exp(-d))
    info = -(G * p * (1 - p))
    np.fill_diagonal(info, -info.sum(axis=1))
    se = np.zeros(m)
    if free:
        cov = np.linalg.inv(info[np.ix_(free, free)])
        se[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    elo = {n: float(x[idx[n]] / _K) for n in names}
    err = {n: float(se[idx[n]] / _K) for n in names}
    return elo, err


TRUNCATIONS = ("llr", "reject")
"""What an SPRT still undecided at its horizon concludes: ``llr`` the side its statistic
leans to (a truncated SPRT), ``reject`` always H0."""


def expected_score(elo_diff: float) -> float:
    return 1.0 / (1.0 + 10 ** (-elo_diff / 400))


def simulated_scores(elo_diff: float, draw_rate: float, trials: int, games: int, seed: int = 0) -> np.ndarray:
    """``trials`` x ``games`` independent results (1, 0.5, 0) of a player ``elo_diff``
    Elo stronger, ``draw_rate`` of them draws."""
    if not 0 <= draw_rate < 1:
        raise ValueError(f"draw_rate must lie in [0, 1), got {draw_rate}")
    p = expected_score(elo_diff)
    if not draw_rate / 2 <= p <= 1 - draw_rate / 2:
        raise ValueError(f"draw_rate {draw_rate} is impossible at an expected score of {p:.3f}")
    u = np.random.default_rng(seed).random((trials, games))
    win = p - draw_rate / 2
    return np.where(u < win, 1.0, np.where(u < win + draw_rate, 0.5, 0.0))


@dataclasses.dataclass(frozen=True)
class SPRT:
    """Sequential test of H0: elo(A) - elo(B) = elo0 against H1: ... = elo1 on game
    scores (1, 0.5, 0), with the normal (GSPRT) approximation of the log-likelihood
    ratio.  ``decide`` says "H1" (A is stronger by ~elo1), "H0", or None (go on)."""

    elo0: float = 0.0
    elo1: float = 30.0
    alpha: float = 0.05
    beta: float = 0.05

    def __post_init__(self):
        if not self.elo1 > self.elo0:
            raise ValueError("sprt: elo1 must exceed elo0")
        if not (0 < self.alpha < 0.5 and 0 < self.beta < 0.5):
            raise ValueError("sprt: alpha and beta must lie in (0, 0.5)")

    def bounds(self) -> tuple:
        return math.log(self.beta / (1 - self.alpha)), math.log((1 - self.beta) / self.alpha)

    def llr(self, scores: list) -> float:
        if len(scores) < 2:
            return 0.0
        return float(self.llr_path(np.asarray(scores, dtype=float)[None, :])[0, -1])

    def llr_path(self, scores: np.ndarray) -> np.ndarray:
        """The statistic after each game of each row of ``scores`` (trials x games)."""
        s = np.asarray(scores, dtype=float)
        n = np.arange(1, s.shape[1] + 1)
        total, squares = np.cumsum(s, axis=1), np.cumsum(s * s, axis=1)
        mu0 = 1.0 / (1.0 + 10 ** (-self.elo0 / 400))
        mu1 = 1.0 / (1.0 + 10 ** (-self.elo1 / 400))
        # Early on the sample variance is unreliable (zero after a few equal results,
        # which would make any streak conclusive): never go below the win/loss
        # variance expected between the two hypotheses.
        mid = (mu0 + mu1) / 2
        var = np.maximum(squares / n - (total / n) ** 2, mid * (1 - mid))
        out = (mu1 - mu0) / var * (total - n * mid)
        out[:, 0] = 0.0  # one game says nothing
        return out

    def at_horizon(self, llr: float, truncation: str) -> str:
        """The verdict ("H1" or "H0") of a test still undecided at its horizon with
        statistic ``llr``, under rule ``truncation`` (one of :data:`TRUNCATIONS`)."""
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {', '.join(TRUNCATIONS)}, got {truncation!r}")
        return "H1" if truncation == "llr" and llr > 0 else "H0"

    def operating_characteristic(self, elo_diff: float, min_games: int, max_games: int, truncation: str = "llr",
                                 draw_rate: float = 0.0, trials: int = 4000, seed: int = 0) -> dict:
        """Simulated behaviour of the test as a gate: the chance that a player ``elo_diff``
        Elo stronger passes (early at the H1 bound, or at ``max_games`` by
        :meth:`at_horizon`) and the mean games played, over ``simulated_scores(...,
        seed)``."""
        self.at_horizon(0.0, truncation)  # validates the rule before simulating
        if not 0 <= min_games <= max_games or max_games < 2:
            raise ValueError("need 0 <= min_games <= max_games and max_games >= 2")
        path = self.llr_path(simulated_scores(elo_diff, draw_rate, trials, max_games, seed))
        lo, hi = self.bounds()
        live = path[:, max(min_games, 1) - 1:]
        hit = (live >= hi) | (live <= lo)
        early = hit.any(axis=1)
        first = np.where(early, hit.argmax(axis=1), live.shape[1] - 1)
        end = live[np.arange(trials), first]
        late = np.array([self.at_horizon(v, truncation) == "H1" for v in end])
        passed = np.where(early, end >= hi, late)
        return {"elo_diff": elo_diff, "expected_score": round(expected_score(elo_diff), 4),
                "pass": float(passed.mean()), "pass_early": float((early & (end >= hi)).mean()),
                "fail_early": float((early & (end <= lo)).mean()),
                "mean_games": float((first + max(min_games, 1)).mean())}

    def decide(self, scores: list):
        lo, hi = self.bounds()
        v = self.llr(scores)
        if v >= hi:
            return "H1"
        if v <= lo:
            return "H0"
        return None


def wilson(points: float, n: int, z: float = 1.96) -> tuple:
    """Wilson score interval of a win rate (draws count half) over ``n`` games."""
    if n <= 0:
        return 0.0, 1.0
    p = points / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)
