"""One search tree, two root rules, evaluation by request.

The tree is PUCT below the root (Silver et al., Nature 2017: children are picked by
``Q + c_puct * P * sqrt(N) / (1 + n)`` from the view of the seat to act).  Every node
keeps the value sums of *its* mover, and a leaf's value vector (one value per seat)
is backed up unchanged, so each seat maximises its own value and 3-4 player games
need no sign flips.  Nodes are decision points: forced single moves are played
through on expansion.

The root rule is one of

* ``puct``: the same rule as the interior, with optional Dirichlet noise on the
  priors; the policy target is the visit distribution, without the visits the noise
  attracted (:func:`pruned_visits`);
* ``gumbel``: Gumbel-top-k sampling of ``m`` root actions and sequential halving
  over them (Danihelka et al., "Policy improvement by planning with Gumbel",
  ICLR 2022); the target is the improved policy ``softmax(logits + sigma(completed Q))``
  with Q completed by the mixed value and min-max rescaled (:func:`completed_q`).

Every result carries the root's prior before noise, so that what the search added to
it can be measured (:mod:`ringrift_ml.ai.signal`).

Search is written as a generator (:func:`search_steps`) that *yields* the positions
it needs evaluated (``[(FastGame, legal rows), ...]``) and receives their
``(priors or None, seat values)``: :func:`run_search` answers the requests with one
evaluator, and :func:`run_searches` advances many searches (many games) together so
that one forward pass of a network evaluates the leaves of all of them.  With
``leaves_per_eval > 1`` a single tree also gathers several leaves per request, kept
apart by virtual loss.  A search's result depends only on its position, budget, seed
and the evaluations it receives, not on how requests were batched.

Shapes: ``Node.P``, ``Node.N``, ``Node.W`` are ``(K,)`` over the node's legal moves.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Generator, Optional

import numpy as np

from ..rules.fast import FastGame
from ._k_search import puct_best
from .base import Budget, is_over, terminal_values
from .result import SearchResult

ROOTS = ("puct", "gumbel")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """Settings of the tree and its root rule."""

    root: str = "puct"
    """Root rule: ``puct`` or ``gumbel``."""
    c_puct: float = 1.5
    """Exploration constant of the PUCT rule (the whole tree for ``puct``, below the root for ``gumbel``)."""
    dirichlet_alpha: float = 0.3
    """PUCT root noise concentration when a search explores (selfplay); 0 = none."""
    dirichlet_frac: float = 0.25
    """Share of the PUCT root prior replaced by noise when noise is on."""
    gumbel_scale: float = 1.0
    """Scale of the ``gumbel`` root's Gumbel noise when a search explores; a search
    that does not explore (arena play) takes the top m actions by prior."""
    max_considered: int = 16
    """Root actions kept for sequential halving (m)."""
    c_visit: float = 50.0
    """sigma(q) = (c_visit + max visits) * c_scale * q (the paper's c_visit = 50, c_scale
    = 0.1, as mctx's ``maxvisit_init`` and ``value_scale``)."""
    c_scale: float = 0.1
    """See ``c_visit``."""
    rescale_q: bool = True
    """Gumbel root: min-max rescale the completed Q over the root's actions to [0, 1]
    before ``sigma`` (mctx ``qtransform_completed_by_mix_value``, ``rescale_values=True``).
    Without it Q differences of a few hundredths move the improved policy by hundredths of
    a nat and the target is the prior; off maps Q linearly from [-1, 1] to [0, 1]."""
    prune_target: bool = True
    """PUCT root with Dirichlet noise: the policy target drops the visits the noise
    attracted (KataGo's policy target pruning, Wu 2019, section 3.1, judged with the
    clean prior: a non-best child keeps only as many visits as its PUCT, under the prior
    without noise, needs to stay below the best child's; one visit left is none)."""
    leaves_per_eval: int = 1
    """Leaves one tree gathers per evaluation request (virtual loss keeps them apart)."""
    max_forced: int = 64
    """Forced moves played through at one expansion (bookkeeping chains are short)."""

    def __post_init__(self):
        if self.root not in ROOTS:
            raise ValueError(f"root: expected one of {', '.join(ROOTS)}, got {self.root!r}")
        if not self.c_puct > 0:
            raise ValueError(f"c_puct: must be positive, got {self.c_puct}")
        if self.dirichlet_alpha < 0 or not 0 <= self.dirichlet_frac <= 1:
            raise ValueError("dirichlet: alpha >= 0 and 0 <= frac <= 1 required")
        if self.gumbel_scale < 0 or self.max_considered < 1 or self.c_visit < 0 or not self.c_scale > 0:
            raise ValueError("gumbel: gumbel_scale >= 0, max_considered >= 1, c_visit >= 0, c_scale > 0 required")
        if self.leaves_per_eval < 1 or self.max_forced < 1:
            raise ValueError("leaves_per_eval and max_forced must be positive")


class Node:
    """A decision point (or a finished game) of the tree."""

    __slots__ = ("S", "rows", "P", "N", "W", "children", "mover", "terminal", "values", "pending")

    def __init__(self, game: FastGame, max_forced: int):
        """Plays the forced moves of ``game`` (modified) through and records the
        position; a non-terminal node waits for :meth:`evaluated`."""
        forced = 0
        rows = None  # the last move list generated, kept when it is the node's own
        while not is_over(game) and forced < max_forced:
            rows = game.legal()
            if len(rows) != 1:
                break
            game.apply(rows[0])
            forced += 1
            rows = None
        self.S = game.S.copy()
        self.terminal = is_over(game)
        self.children: dict = {}
        if self.terminal:
            self.values = terminal_values(game)
            self.rows = None
            self.pending = False
            return
        self.rows = game.legal() if rows is None else rows
        self.mover = game.current_player - 1
        self.pending = True

    def evaluated(self, priors: Optional[np.ndarray], values: np.ndarray) -> None:
        k = len(self.rows)
        self.values = np.asarray(values, dtype=np.float64)
        if priors is None:
            self.P = np.full(k, 1.0 / k)
        else:
            p = np.asarray(priors, dtype=np.float64)
            if p.shape != (k,):
                raise ValueError(f"evaluator: priors of shape {p.shape} for {k} legal moves")
            self.P = p
        self.N = np.zeros(k)
        self.W = np.zeros(k)
        self.pending = False


def _leaf_game(template: FastGame, S: np.ndarray) -> FastGame:
    """A game at state ``S`` for an evaluation request.  It shares the template's move
    buffer (``FastGame.scratch``: ``legal()`` copies its rows out), so a request costs
    no fresh move buffer, a large allocation per leaf."""
    g = template.scratch()
    g.S = S.copy()
    return g


# A request is a list of (game, legal rows); the answer a list of (priors or None, values).
Requests = list
Answers = list
SearchGen = Generator[Requests, Answers, SearchResult]


def search_steps(game: FastGame, budget: Budget, seed: int, cfg: SearchConfig,
                 temperature: float = 0.0, explore: bool = False) -> SearchGen:
    """Search from ``game`` (not modified); yields evaluation requests and returns a
    :class:`SearchResult`.  ``temperature`` applies to the ``puct`` root's choice
    from the visits (0 = most visited); the ``gumbel`` root plays its halving winner.
    ``explore`` adds root noise (Dirichlet for ``puct``, Gumbel for ``gumbel``)."""
    if cfg.root == "gumbel" and budget.nodes is None:
        raise ValueError("budget: Gumbel search needs a simulation count (nodes)")
    rng = np.random.default_rng(seed)
    root = Node(game.copy(), cfg.max_forced)
    if root.terminal:
        raise ValueError("search: the game is over")
    (pri, val), = yield [(_leaf_game(game, root.S), root.rows)]
    root.evaluated(pri, val)
    t = _Tree(root, game, cfg, rng)
    if cfg.root == "puct":
        return (yield from t.run_puct(budget, temperature, explore))
    return (yield from t.run_gumbel(budget, explore))


class _Tree:
    def __init__(self, root: Node, template: FastGame, cfg: SearchConfig, rng):
        self.root, self.template, self.cfg, self.rng = root, template, cfg, rng
        self.scratch = template.copy()
        self._ties = np.empty(0, dtype=np.int64)  # grown to the widest node seen

    # ---- selection and backup -------------------------------------------------------
    def _pick(self, node: Node) -> int:
        """The PUCT action of an interior node (compiled: ``_k_search.puct_best``); exact
        ties are broken by the search's generator."""
        if len(self._ties) < len(node.N):
            self._ties = np.empty(2 * len(node.N), dtype=np.int64)
        n = puct_best(node.N, node.W, node.P, self.cfg.c_puct, self._ties)
        return int(self._ties[self.rng.integers(n)]) if n > 1 else int(self._ties[0])

    def _descend(self, first: int):
        """Select down to a new leaf or a finished game, adding virtual loss on the way.
        Returns ``(path, node)``; ``node`` is None when the path ran into a leaf that
        is still waiting for its evaluation (the path is then already undone)."""
        path = []
        node = self.root
        while not node.terminal:
            a = first if (node is self.root and first >= 0) else self._pick(node)
            path.append((node, a))
            node.N[a] += 1.0  # virtual loss: a visit worth -1 for the mover
            node.W[a] -= 1.0
            child = node.children.get(a)
            if child is None:
                self.scratch.S = node.S.copy()
                self.scratch.apply(node.rows[a])
                child = Node(self.scratch, self.cfg.max_forced)
                node.children[a] = child
                return path, child
            if child.pending:
                self._undo(path)
                return path, None
            node = child
        return path, node

    @staticmethod
    def _undo(path) -> None:
        for n, a in path:
            n.N[a] -= 1.0
            n.W[a] += 1.0

    @staticmethod
    def _backup(path, values: np.ndarray) -> None:
        for n, a in path:
            n.W[a] += 1.0 + values[n.mover]  # replaces the virtual loss by the value

    def simulate(self, firsts: list) -> SearchGen:
        """Run one simulation per entry of ``firsts`` (a forced root action, or -1),
        ``leaves_per_eval`` at a time; returns how many ran."""
        done = 0
        i = 0
        L = self.cfg.leaves_per_eval
        while i < len(firsts):
            chunk = firsts[i:i + L]
            i += len(chunk)
            waiting = []
            for first in chunk:
                path, node = self._descend(first)
                if node is None:
                    continue  # collided with a leaf of this batch: that simulation is not run
                done += 1
                if node.terminal:
                    self._backup(path, node.values)
                else:
                    waiting.append((path, node))
            if waiting:
                answers = yield [(_leaf_game(self.template, n.S), n.rows) for _, n in waiting]
                for (path, node), (pri, val) in zip(waiting, answers):
                    node.evaluated(pri, val)
                    self._backup(path, node.values)
        return done

    # ---- root rules ---------------------------------------------------------------
    def run_puct(self, budget: Budget, temperature: float, explore: bool) -> SearchGen:
        root, cfg = self.root, self.cfg
        k = len(root.rows)
        prior = root.P.copy()
        noisy = explore and cfg.dirichlet_alpha > 0 and k > 1
        if noisy:
            noise = self.rng.dirichlet([cfg.dirichlet_alpha] * k)
            root.P = (1 - cfg.dirichlet_frac) * root.P + cfg.dirichlet_frac * noise
        clock = budget.clock()
        sims = 0
        while not clock.exhausted():
            n = cfg.leaves_per_eval
            if budget.nodes is not None:
                n = min(n, budget.nodes - clock.nodes)
            ran = yield from self.simulate([-1] * n)
            clock.tick(n)
            sims += ran
        visits = root.N.copy()
        target = pruned_visits(visits, root.W, prior, cfg.c_puct) if noisy and cfg.prune_target else visits
        policy = target / target.sum() if target.sum() > 0 else prior / prior.sum()
        play = visit_policy(visits, temperature) if visits.sum() > 0 else policy
        if temperature > 0:
            chosen = int(self.rng.choice(k, p=play))
        else:
            best = np.flatnonzero(play == play.max())
            chosen = int(best[self.rng.integers(len(best))])
        return SearchResult(root.rows, chosen, policy, self._root_values(), visits, sims, True, prior)

    def run_gumbel(self, budget: Budget, explore: bool) -> SearchGen:
        root, cfg = self.root, self.cfg
        k = len(root.rows)
        logits = np.log(np.maximum(root.P, 1e-12))
        if explore:
            g = self.rng.gumbel(size=k) * cfg.gumbel_scale
        else:  # no noise; a tiny jitter only breaks exact ties (uniform priors) by the seed
            g = self.rng.random(k) * 1e-9
        n = budget.nodes
        m = min(cfg.max_considered, k, n)
        cand = list(np.argsort(-(g + logits), kind="stable")[:m])
        rounds = max(1, math.ceil(math.log2(m))) if m > 1 else 1
        used = sims = done_rounds = 0
        while used < n:
            # This round's share of what is left, spread over the candidates; the last
            # round spends the rest, so the whole budget is used.
            per = max(1, (n - used) // (max(1, rounds - done_rounds) * len(cand)))
            # Interleaved, so that leaves gathered together under virtual loss differ.
            plan = [int(a) for _ in range(per) for a in cand][: n - used]
            used += len(plan)
            sims += yield from self.simulate(plan)
            done_rounds += 1
            if len(cand) > 2:  # halving stops at two candidates, which share the rest
                sig = self._sigma(self._completed_q())
                cand = sorted(cand, key=lambda a: -(g[a] + logits[a] + sig[a]))[: max(2, len(cand) // 2)]
        sig = self._sigma(self._completed_q())
        chosen = max(cand, key=lambda a: g[a] + logits[a] + sig[a])
        z = logits + sig
        z = np.exp(z - z.max())
        return SearchResult(root.rows, int(chosen), z / z.sum(), self._root_values(), root.N.copy(), sims, True,
                            root.P)

    def _completed_q(self) -> np.ndarray:
        """Completed Q in [0, 1] from the root mover's view (see :func:`completed_q`)."""
        root = self.root
        return completed_q(root.N, root.W, root.P, root.values[root.mover], self.cfg.rescale_q)

    def _sigma(self, q: np.ndarray) -> np.ndarray:
        return (self.cfg.c_visit + self.root.N.max()) * self.cfg.c_scale * q

    def _root_values(self) -> np.ndarray:
        """Root value per seat: the evaluator's value blended with what the search saw
        below (the visit-weighted mean of the mover's Q for the mover; other seats keep
        the evaluator's estimate, which is all a tree that stores mover values knows)."""
        root = self.root
        v = root.values.copy()
        n = root.N.sum()
        if n > 0:
            v[root.mover] = (root.values[root.mover] + root.W.sum()) / (n + 1)
        return v


def completed_q(visits: np.ndarray, value_sums: np.ndarray, prior: np.ndarray, value: float,
                rescale: bool = True) -> np.ndarray:
    """The Gumbel root's completed Q (Danihelka et al. 2022, appendix D; mctx
    ``qtransform_completed_by_mix_value``): a visited action keeps its mean value, an
    unvisited one gets the *mixed value* ``(v + N * sum_a p(a) q(a)) / (N + 1)`` (``v``
    the evaluator's value of the root, ``N`` the root's visits, ``p`` the prior
    renormalised over the visited actions); then ``rescale`` maps the completed values
    min-max onto [0, 1] (all equal: all 0, so ``sigma`` adds nothing and the improved
    policy is the prior), else values in [-1, 1] map linearly to [0, 1]."""
    n = np.asarray(visits, dtype=np.float64)
    seen = n > 0
    q = np.empty(len(n))
    q[seen] = np.asarray(value_sums, dtype=np.float64)[seen] / n[seen]
    if seen.any():
        p = np.asarray(prior, dtype=np.float64)[seen]
        weighted = float((p * q[seen]).sum() / p.sum()) if p.sum() > 0 else float(q[seen].mean())
        total = float(n.sum())
        mixed = (value + total * weighted) / (total + 1.0)
    else:
        mixed = value
    q[~seen] = mixed
    if not rescale:
        return (q + 1.0) / 2.0
    lo, hi = q.min(), q.max()
    return (q - lo) / max(hi - lo, 1e-8)


def pruned_visits(visits: np.ndarray, value_sums: np.ndarray, prior: np.ndarray, c_puct: float) -> np.ndarray:
    """KataGo's policy target pruning at a PUCT root: every child but the most visited
    keeps the fewest visits at which its PUCT value (its Q, ``prior`` the clean prior,
    the root's final visit total) would still be below the most visited child's, never
    more than it had; a child left with one visit keeps none.  Visits that root noise
    (or an early optimistic Q) spent on a move the search then found worse leave the
    target; the most visited move and children whose Q justifies their visits stay."""
    n = np.asarray(visits, dtype=np.float64)
    out = n.copy()
    if n.sum() <= 0:
        return out
    w = np.asarray(value_sums, dtype=np.float64)
    p = np.asarray(prior, dtype=np.float64)
    q = np.where(n > 0, w / np.maximum(n, 1), 0.0)
    sq = math.sqrt(n.sum() + 1.0)  # as in the selection rule
    best = int(np.argmax(n))
    bar = q[best] + c_puct * p[best] * sq / (1.0 + n[best])
    for c in np.flatnonzero(n > 0):
        if c == best:
            continue
        gap = bar - q[c]
        if gap <= 0:
            continue  # its value alone puts it level with the best: its visits stand
        keep = min(n[c], math.floor(c_puct * p[c] * sq / gap))
        out[c] = 0.0 if keep <= 1 else keep
    return out


def finished(result: SearchResult) -> SearchGen:
    """A search that needs no evaluation (a forced move, a shortcut win, a player
    that answers from what it already knows)."""
    return result
    yield  # pragma: no cover - makes this a generator


def visit_policy(visits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Visit counts to a distribution (temperature 0 = the most visited moves)."""
    if temperature <= 0:
        p = (visits == visits.max()).astype(float)
    else:
        p = visits ** (1.0 / temperature)
    s = p.sum()
    return p / s if s > 0 else np.full(len(visits), 1.0 / len(visits))


# ---- answering requests -------------------------------------------------------------
def evaluate_batch(evaluator, items: list) -> list:
    """``[(priors or None, values)]`` for ``[(game, rows)]``: one call to a batched
    evaluator's ``evaluate``, or one ``priors`` / ``values`` call per item."""
    batched = getattr(evaluator, "evaluate", None)
    if batched is not None:
        return batched(items)
    return [(evaluator.priors(g, rows), evaluator.values(g)) for g, rows in items]


def run_search(steps: SearchGen, evaluator) -> SearchResult:
    """Drive one search to its result with ``evaluator``."""
    try:
        req = next(steps)
        while True:
            req = steps.send(evaluate_batch(evaluator, req))
    except StopIteration as stop:
        return stop.value


def run_searches(tasks: list, on_batch: Optional[Callable[[int], None]] = None) -> list:
    """Advance many searches together: ``tasks`` is ``[(steps generator, evaluator)]``.
    Each round, the pending requests of all searches that share an evaluator are
    answered by one ``evaluate`` call (one forward pass for a network).  Returns the
    results in task order; ``on_batch(size)`` sees every batch evaluated."""
    results: list = [None] * len(tasks)
    pending = {}  # task index -> its current request
    for i, (steps, _) in enumerate(tasks):
        try:
            pending[i] = next(steps)
        except StopIteration as stop:
            results[i] = stop.value
    while pending:
        groups: dict = {}
        for i, req in pending.items():
            groups.setdefault(id(tasks[i][1]), []).append(i)
        nxt = {}
        for idx in groups.values():
            ev = tasks[idx[0]][1]
            items = [it for i in idx for it in pending[i]]
            answers = evaluate_batch(ev, items)
            if on_batch is not None:
                on_batch(len(items))
            at = 0
            for i in idx:
                k = len(pending[i])
                try:
                    nxt[i] = tasks[i][0].send(answers[at:at + k])
                except StopIteration as stop:
                    results[i] = stop.value
                at += k
        pending = nxt
    return results


__all__ = ["Node", "ROOTS", "SearchConfig", "completed_q", "evaluate_batch", "finished", "pruned_visits", "run_search",
           "run_searches", "search_steps", "visit_policy"]
