"""The partition's rating ladder: every promoted generation and the baselines on one
Elo scale, and the regression watch that rolls a worse promotion back.

Rungs are head-to-head matches (seats rotating, random openings, equal simulations
for all searching entrants; in 3-4 player partitions one entrant against copies of the
other, scored pairwise from the final ranks): each promoted generation against the previous one and
against ``heuristic``, and the baselines against each other (``random`` -
``heuristic`` - ``mcts``, and the partition's tuned heuristic weights against the
packaged ones once a tuned version has been accepted; once the partition has an accepted
NNUE, alpha-beta with it against alpha-beta with the heuristic at equal nodes, and the
latter against ``heuristic``), so the comparison graph is connected with a number of
matches linear in the generations.  Every game is kept in ``lake.ladder_games`` with
its partition; ratings are the maximum-likelihood fit over all of them, anchored at
``random`` = 0, with standard errors.  The fit refuses any game of another partition
(ratings of different boards or player counts are not comparable).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Callable, Optional

from ..arena import PairRecord, fit_elo, head_to_head
from ..lake import LakeStore
from ..lake.layout import Layout, Partition
from ..plots import ladder_plot
from .generations import (PROMOTED, ROLLED_BACK, generation_states, process_cpu_seconds, registry,
                          write_registry_row)

LADDER_TABLE = "ladder_games"


TUNED = "heuristic-tuned@"
"""Entrant name prefix of the tuned heuristic: ``heuristic-tuned@<weights version>``."""
NNUE = "minimax-nnue@"
"""Entrant name prefix of the partition's accepted NNUE: ``minimax-nnue@<file digest>``."""
NNUE_NODES = 1000
"""Alpha-beta nodes per move of the NNUE entrant and of its reference ``minimax``
(the ``nnue_model`` gate's default budget)."""


def baselines(simulations: int) -> list:
    return ["random", "heuristic", f"mcts:{simulations}"]


def tuned_entrant(store: LakeStore, board: str, players: int) -> Optional[str]:
    """The tuned heuristic's entrant name (the partition's newest accepted weights), or None."""
    rows = store.query("SELECT weights_version FROM lake.heuristic_weights WHERE board = ? AND players = ? "
                       "AND accepted ORDER BY created_at DESC LIMIT 1", [board, players]).to_pylist()
    return TUNED + rows[0]["weights_version"] if rows else None


def nnue_entrant(store: LakeStore, board: str, players: int) -> Optional[str]:
    """The accepted NNUE's entrant name (its file's digest: a newly accepted NNUE is a
    new entrant), or None when the partition has none."""
    from ..version import file_digest

    path = Layout(store.root).nnue_current(Partition(board, players))
    return NNUE + file_digest(path)[:12] if path.is_file() else None


def _is_generation(name: str) -> bool:
    return name[:1] == "g" and name[1:].isdigit()


def _entrant(name: str, rows_by_gen: dict, store: LakeStore, board: str, players: int, simulations: int) -> tuple:
    """``(spec, heuristic weights file or None)`` of an entrant (a generation plays its
    network at the ladder's simulations)."""
    if name.startswith(TUNED):
        from ..lake.weights import weights_file

        return "heuristic", str(weights_file(store, board, players, name[len(TUNED):]))
    if _is_generation(name):
        return f"nn:{store.root / rows_by_gen[int(name[1:])]['path']}:{simulations}", None
    if name.startswith(NNUE):
        if nnue_entrant(store, board, players) != name:
            raise ValueError(f"ladder entrant {name}: the partition's current NNUE is another file now")
        return f"minimax-nnue:{Layout(store.root).nnue_current(Partition(board, players))}:{NNUE_NODES}", None
    return name, None


def rungs(promoted: list, simulations: int, tuned: Optional[str] = None, nnue: Optional[str] = None) -> list:
    """The matches that connect the promoted generations and the baselines."""
    base = baselines(simulations)
    out = [(base[0], base[1]), (base[1], base[2])]
    if tuned:
        out.append((tuned, base[1]))
    if nnue:
        out += [(f"minimax:{NNUE_NODES}", base[1]), (nnue, f"minimax:{NNUE_NODES}")]
    prev = None
    for g in promoted:
        name = f"g{g}"
        out.append((name, "heuristic"))
        out.append((name, prev if prev else base[2]))
        prev = name
    return out


def is_predecessor_rung(a: str, b: str) -> bool:
    """Whether rung ``(a, b)`` of :func:`rungs` sets a promoted generation against what
    it replaced (its predecessor, or for the first the bootstrap's search): the
    comparison the regression watch judges, so it may get more games than the others."""
    return _is_generation(a) and b != "heuristic"


def rung_games(a: str, b: str, games: int, predecessor_games: Optional[int] = None) -> int:
    """Games rung ``(a, b)`` is played to: ``predecessor_games`` for a rung of
    :func:`is_predecessor_rung` when given, ``games`` otherwise."""
    if predecessor_games is not None and is_predecessor_rung(a, b):
        return predecessor_games
    return games


def played(store: LakeStore, board: str, players: int) -> list:
    return store.query(f"SELECT * FROM lake.{LADDER_TABLE} WHERE board = ? AND players = ?",
                       [board, players]).to_pylist()


def ladder_label(board: str, players: int, a: str, b: str) -> str:
    """The label of a rung's games kept as training data."""
    return f"loop:{Partition(board, players).key}:ladder:{a}-{b}"


def play_ladder(store: LakeStore, board: str, players: int, simulations: int = 64, games: int = 40,
                concurrency: int = 16, random_opening: int = 2, seed: int = 0, progress: bool = True,
                log: Callable[[str], None] = print, keep_games: bool = False, ray_address: str = "",
                workers: int = 1, predecessor_games: Optional[int] = None) -> int:
    """Play the rungs that have fewer than ``games`` games (a generation against its
    predecessor: ``predecessor_games`` when given, :func:`rung_games`); returns games played.

    ``keep_games``: the games of the newest promoted generation's rungs (its network
    searching at ``simulations``) also go into ``lake.games`` as training data of the next loop
    generation (label :func:`ladder_label`; only searched decisions are training
    positions, so a ``heuristic`` opponent's moves teach nothing), and their
    ``lake.ladder_games`` rows say ``training``.  The baselines' rungs are never kept.
    ``ray_address``: the games are played by ``workers`` actors of that Ray cluster
    (:class:`ringrift_ml.loop.remote.RayMatches`)."""
    from ..lake.lineage import record_row
    from ..nn.players import make_player
    from .kept import keep_match_games

    states = generation_states(registry(store, board, players))
    promoted = sorted(g for g, r in states.items() if r["status"] in (PROMOTED, ROLLED_BACK))
    live = [g for g in promoted if states[g]["status"] == PROMOTED]
    newest = f"g{max(live)}" if live else None
    have: dict = {}
    for r in played(store, board, players):
        have[(r["a"], r["b"])] = have.get((r["a"], r["b"]), 0) + 1
    total = 0
    for a, b in rungs(promoted, simulations, tuned_entrant(store, board, players),
                      nnue_entrant(store, board, players)):
        missing = rung_games(a, b, games, predecessor_games) - have.get((a, b), 0)
        if missing <= 0:
            continue
        entrants = {n: _entrant(n, states, store, board, players, simulations) for n in (a, b)}
        (pa, ba), (pb, bb) = (make_player(spec, board, players, weights=w) for spec, w in entrants.values())
        pa.name, pb.name = a, b
        # A stable seed per rung (not Python's salted hash), continuing after the games it has.
        start = seed * 1_000_003 + int(hashlib.sha256(f'{a}|{b}'.encode()).hexdigest()[:6], 16) * 1_000 \
            + have.get((a, b), 0)
        # Only the newest promotion's games are fresh data: a rung of an older generation
        # lengthened later (a longer predecessor rung on an existing lake) is rated, not
        # trained on, since its networks no longer play.
        keep = keep_games and newest in (a, b)
        kept: list = []
        runner = None
        if ray_address:
            from .remote import RayMatches

            runner = RayMatches(ray_address, workers, board, players, entrants)
        c0 = process_cpu_seconds()
        out = head_to_head(pa, pb, ba, bb, board, missing, seed=start, concurrency=concurrency,
                           random_opening=random_opening, progress=progress, details=True, num_players=players,
                           on_played=(lambda pg, seat: kept.append((pg, seat))) if keep else None, runner=runner)
        per_game = (process_cpu_seconds() - c0) / max(len(out["games_played"]), 1)
        log(f"{board}|{players} ladder: {a} vs {b}: {out['score']:.3f} over {missing} games")
        if kept:
            keep_match_games(store, board, players, ladder_label(board, players, a, b), entrants[a][0],
                             entrants[b][0], kept, searched_only=True, log=log)
        rows = [{"board": board, "players": players, "a": a, "b": b, "a_model": _model_of(a, states),
                 "b_model": _model_of(b, states), "simulations": simulations, "cpu_seconds": round(per_game, 3),
                 "training": bool(kept), **gp} for gp in out["games_played"]]
        record_row(store, LADDER_TABLE, rows, f"ladder {a} vs {b} ({board}|{players})")
        total += missing
    return total


def _model_of(name: str, states: dict) -> Optional[str]:
    if _is_generation(name):
        return states[int(name[1:])]["model_id"]
    return None


def fit_ladder(rows: list, board: str, players: int, anchor: str = "random") -> tuple:
    """``({name: elo}, {name: se})`` from ladder games of one partition, relative to
    ``anchor`` (each standard error is that of the difference to the anchor); a game
    of any other partition is refused."""
    recs = []
    for r in rows:
        if r["board"] != board or int(r["players"]) != players:
            raise ValueError(f"ladder {board}|{players}: a game of partition {r['board']}|{r['players']} "
                             f"({r['a']} vs {r['b']}) cannot be rated here")
        recs.append(PairRecord(r["a"], r["b"], float(r["score"]), 1))
    if not recs:
        raise ValueError(f"ladder {board}|{players}: no games")
    return fit_elo(recs, anchor=anchor)


def regression_watch(store: LakeStore, board: str, players: int, z: float = 1.96,
                     log: Callable[[str], None] = print) -> list:
    """Rate the ladder and roll back the newest promoted generation when it rates below
    its predecessor beyond the interval; returns the rollback rows written."""
    rows = played(store, board, players)
    elo, se = fit_ladder(rows, board, players)
    states = generation_states(registry(store, board, players))
    live = sorted(g for g, r in states.items() if r["status"] == PROMOTED)
    out = []
    if len(live) >= 2:
        new, old = f"g{live[-1]}", f"g{live[-2]}"
        if new in elo and old in elo:
            # The difference and its standard error, from a fit anchored at the predecessor
            # (the sum of both ratings' errors would count the anchor's uncertainty twice).
            rel, rel_se = fit_ladder(rows, board, players, anchor=old)
            gap, margin = -rel[new], z * rel_se[new]
            if gap > margin:
                row = dict(states[live[-1]])
                row.pop("created_at", None)
                row.update(status=ROLLED_BACK, rating=elo[new], rating_se=se[new],
                           reason=f"ladder: {new} rates {gap:.0f} +- {rel_se[new]:.0f} Elo below its predecessor "
                                  f"{old} (beyond the {z:g}-sigma margin {margin:.0f}); {old} is the best again")
                for k in ("window", "gate", "config"):
                    if isinstance(row.get(k), str):
                        row[k] = json.loads(row[k])
                write_registry_row(store, row, f"{board}|{players} generation {live[-1]} rolled back")
                log(row["reason"])
                out.append(row)
    return out




def update_ladder(store: LakeStore, board: str, players: int, simulations: int = 64, games: int = 40,
                  concurrency: int = 16, seed: int = 0, progress: bool = True,
                  log: Callable[[str], None] = print, keep_games: bool = False, ray_address: str = "",
                  workers: int = 1, predecessor_games: Optional[int] = None) -> dict:
    """Play the missing rungs (``keep_games``, ``ray_address``, ``predecessor_games``: see
    :func:`play_ladder`), run the regression watch, rate and plot: ``{played, rolled_back
    (registry rows), table, plot (the SVG's path)}``."""
    n = play_ladder(store, board, players, simulations=simulations, games=games, concurrency=concurrency,
                    seed=seed, progress=progress, log=log, keep_games=keep_games, ray_address=ray_address,
                    workers=workers, predecessor_games=predecessor_games)
    rolled = regression_watch(store, board, players, log=log)
    table = ladder_table(store, board, players)
    if n or rolled or not _has_fit(store, board, players):
        record_ratings(store, board, players, table)
    plot = Layout(store.root).ladder_plot(Partition(board, players))
    ladder_plot(table, f"{board}|{players}: rating against CPU hours", plot)
    return {"played": n, "rolled_back": rolled, "table": table, "plot": plot}


def loop_ladder(store: LakeStore, cfg, progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """:func:`update_ladder` as the loop plays it after a promotion (``cfg``: its
    ``LoopConfig``): rungs of ``ladder_games`` (a promotion against its predecessor:
    ``ladder_predecessor_games``) at the loop's simulations and games in flight, kept as
    training data when ``ladder_games_train``, on the loop's Ray cluster when it has one."""
    return update_ladder(store, cfg.board, cfg.players, simulations=cfg.simulations, games=cfg.ladder_games,
                         concurrency=cfg.batch_games, seed=cfg.seed, progress=progress, log=log,
                         keep_games=cfg.ladder_games_train, ray_address=cfg.ray_address, workers=cfg.workers,
                         predecessor_games=cfg.predecessor_rung_games)


def _has_fit(store: LakeStore, board: str, players: int) -> bool:
    return store.query("SELECT count(*) AS n FROM lake.ladder_ratings WHERE board = ? AND players = ?",
                       [board, players]).to_pylist()[0]["n"] > 0


def record_ratings(store: LakeStore, board: str, players: int, table: list, run_id: Optional[str] = None) -> None:
    """One ``lake.ladder_ratings`` row per entrant of this fit (``ladder_table`` rows):
    the ratings a researcher queries next to ``lake.model_registry``."""
    from ..lake.lineage import record_row

    if not table:
        return
    total = sum(r["games"] for r in table) // 2  # every game counts for both of its entrants
    at = datetime.datetime.now(datetime.timezone.utc)  # one timestamp names the fit
    record_row(store, "ladder_ratings", [
        {"board": board, "players": players, "name": r["name"], "generation": r["generation"], "status": r["status"],
         "elo": float(r["elo"]), "se": float(r["se"]), "games": int(r["games"]), "cpu_hours": r["cpu_hours"],
         "fit_games": total, "created_at": at} for r in table], f"{board}|{players} ladder fit", run_id)


def ladder_table(store: LakeStore, board: str, players: int) -> list:
    """Rows ``{name, elo, se, games, generation, cpu_hours}`` best first; generations
    carry the cumulative CPU hours of the loop up to them."""
    rows = played(store, board, players)
    elo, se = fit_ladder(rows, board, players)
    games: dict = {}
    for r in rows:
        games[r["a"]] = games.get(r["a"], 0) + 1
        games[r["b"]] = games.get(r["b"], 0) + 1
    states = generation_states(registry(store, board, players))
    cum, hours = 0.0, {}
    for g in sorted(states):
        cum += states[g]["cpu_seconds"] or 0.0
        hours[f"g{g}"] = cum / 3600
    out = [{"name": n, "elo": round(elo[n], 1), "se": round(se[n], 1), "games": games.get(n, 0),
            "generation": int(n[1:]) if n in hours else None, "cpu_hours": round(hours[n], 3) if n in hours else None,
            "status": states[int(n[1:])]["status"] if n in hours else "baseline"} for n in elo]
    return sorted(out, key=lambda r: -r["elo"])


__all__ = ["LADDER_TABLE", "NNUE", "NNUE_NODES", "TUNED", "baselines", "fit_ladder", "is_predecessor_rung",
           "ladder_label", "ladder_table", "loop_ladder", "nnue_entrant", "play_ladder", "played", "record_ratings",
           "regression_watch", "rung_games", "rungs", "tuned_entrant", "update_ladder"]
