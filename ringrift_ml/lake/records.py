"""Game records to lake rows, and back: identity, validation by replay, conversion.

A record is this project's game record (``rules.records.make_record``,
``selfplay.play_one``).  :func:`convert_record` replays it once through the fast
replay path and yields the ``games`` row and its ``moves`` rows, raising
``ValueError`` with the game, the ply and the reason for anything wrong: a field, an
illegal move, a search policy naming an illegal move, a recorded result the replay
does not reproduce.  Game ids of generated games are unique by construction
(:func:`game_id_for`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from typing import Any, Optional

import numpy as np

from ..rules import BOARD_TYPES, RULES_VERSION
from ..rules._check import show
from ..rules.view import PHASE_NAMES
from ..rules.options import normalize_options
from ..rules.records import record_options, start_state
from ..rules.replay import Replayer, ReplayError
from .schema import SCHEMA_VERSION

MAX_ID_LENGTH = 200


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def move_hash(moves: list) -> str:
    """Content hash of a move sequence: equal games from different ids collide."""
    return hashlib.sha256(canonical_json(moves).encode()).hexdigest()


def game_id_for(board: str, players: int, generator: str, config: dict, seed: int, moves: list) -> str:
    """The id of a generated game: a hash of what generated it and how it went, so two
    generators or configs with the same seed never share an id."""
    blob = canonical_json({"generator": generator, "config": config, "seed": seed, "moves": move_hash(moves)})
    return f"{board}-{players}p-{hashlib.sha256(blob.encode()).hexdigest()[:20]}"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _check_fields(rec: Any) -> tuple:
    if not isinstance(rec, dict):
        raise ValueError(f"record: expected a JSON object, got {type(rec).__name__}")
    gid = rec.get("gameId")
    if not isinstance(gid, str) or not gid.strip():
        raise ValueError("gameId: missing or not a non-empty string")
    if len(gid) > MAX_ID_LENGTH or any(ord(c) < 32 for c in gid):
        raise ValueError(f"gameId: at most {MAX_ID_LENGTH} printable characters, got {gid[:40]!r}...")
    board = rec.get("boardType")
    if board not in BOARD_TYPES:
        raise ValueError(f"game {gid}: boardType {board!r} is not one of {', '.join(BOARD_TYPES)}")
    n = rec.get("numPlayers")
    if type(n) is not int or n not in (2, 3, 4):
        raise ValueError(f"game {gid}: numPlayers {n!r} is not 2, 3 or 4")
    moves = rec.get("moves")
    if not isinstance(moves, list) or not moves:
        raise ValueError(f"game {gid}: moves missing, not a list, or empty")
    normalize_options(rec.get("rulesOptions"), f"game {gid}: rulesOptions")
    policy = rec.get("policy")
    if policy is not None and (not isinstance(policy, list) or len(policy) != len(moves)):
        raise ValueError(f"game {gid}: policy must be a list with one entry (or null) per move "
                         f"({len(moves)} moves, got {type(policy).__name__}"
                         f"{' of ' + str(len(policy)) if isinstance(policy, list) else ''})")
    for key in ("seed",):
        v = rec.get(key)
        if v is not None and (type(v) is not int or not -(2**63) <= v < 2**63):
            raise ValueError(f"game {gid}: {key} must be a 64-bit integer or null, got {v!r}")
    return gid, board, n, moves, policy


_SEARCH_KEYS = {"full", "simulations", "values"}
_SIGNAL_KEYS = {"entropy", "kl_prior", "kl_uniform"}


def _check_search(gid: str, n: int, moves: list, search: Any) -> None:
    """``search``: one entry per move, null or ``{"full": bool, "simulations": int >= 0,
    "values": [one number in [-1, 1] per seat]}``, optionally with the target's signal
    (``entropy``, ``kl_prior``, ``kl_uniform``: numbers >= 0 or null;
    :mod:`ringrift_ml.ai.signal`)."""
    if search is None:
        return
    if not isinstance(search, list) or len(search) != len(moves):
        raise ValueError(f"game {gid}: search must be a list with one entry (or null) per move "
                         f"({len(moves)} moves)")
    for ply, e in enumerate(search):
        if e is None:
            continue
        if not isinstance(e, dict) or not _SEARCH_KEYS <= set(e) <= _SEARCH_KEYS | _SIGNAL_KEYS:
            raise ValueError(f"game {gid}, ply {ply}: search entry must be null or an object with full, "
                             f"simulations and values (and optionally {', '.join(sorted(_SIGNAL_KEYS))}), got "
                             f"{show(sorted(e) if isinstance(e, dict) else e)}")
        for k in _SIGNAL_KEYS & set(e):
            x = e[k]
            if x is not None and (type(x) not in (int, float) or not math.isfinite(x) or x < 0):
                raise ValueError(f"game {gid}, ply {ply}: search.{k} must be a number >= 0 or null, got {show(x)}")
        if type(e["full"]) is not bool:
            raise ValueError(f"game {gid}, ply {ply}: search.full must be true or false, got {show(e['full'])}")
        if type(e["simulations"]) is not int or not 0 <= e["simulations"] < 2**31:
            raise ValueError(f"game {gid}, ply {ply}: search.simulations must be an integer >= 0, "
                             f"got {show(e['simulations'])}")
        v = e["values"]
        if (not isinstance(v, list) or len(v) != n
                or any(type(x) not in (int, float) or not -1 <= x <= 1 for x in v)):
            raise ValueError(f"game {gid}, ply {ply}: search.values must be {n} numbers in [-1, 1], got {show(v)}")


def _check_policy(r: Replayer, gid: str, ply: int, entry: Any) -> None:
    if entry is None:
        return
    if not isinstance(entry, list) or not entry:
        raise ValueError(f"game {gid}, ply {ply}: policy entry must be a non-empty list of [move, probability]")
    total = 0.0
    for k, pair in enumerate(entry):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"game {gid}, ply {ply}: policy[{k}] must be [move, probability]")
        p = pair[1]
        if type(p) not in (int, float) or not math.isfinite(p) or p < 0:
            raise ValueError(f"game {gid}, ply {ply}: policy[{k}] probability must be a finite number >= 0, got {p!r}")
        try:
            r.match(pair[0])
        except ReplayError as e:
            raise ValueError(f"game {gid}, ply {ply}: policy[{k}] names an illegal move: "
                             f"{str(e).split(': ', 1)[1]}") from None
        total += p
    if not total > 0:
        raise ValueError(f"game {gid}, ply {ply}: policy probabilities sum to {total}")


def convert_record(rec: Any, *, source: str, source_key: str, source_file: Optional[str] = None,
                   source_name: Optional[str] = None, run_id: Optional[str] = None,
                   require_finished: bool = True) -> dict:
    """The ``games`` row of a validated record (see the module docstring).

    ``source_key`` makes the row's ``entry_id`` (``<source_key>:<game id>``) unique
    per source.  ``require_finished`` rejects games the replay does not finish (a
    landed game must be a whole game with its result).  The row keeps the phase of
    every move (``phases``), from which the ``moves`` views unfold one row per move."""
    gid, board, n, moves, policy = _check_fields(rec)
    search = rec.get("search")
    _check_search(gid, n, moves, search)
    try:
        state = start_state(rec)
    except ValueError as e:
        raise ValueError(f"game {gid}: bad start: {e}") from None
    r = Replayer(state)
    try:
        if policy is None:
            phases = r.run(moves)
        else:
            phases = np.zeros(len(moves), dtype=np.int64)
            for ply, md in enumerate(moves):
                phases[ply] = PHASE_NAMES.index(r.state_phase())
                _check_policy(r, gid, ply, policy[ply])
                r.advance(md)
    except ReplayError as e:
        raise ValueError(f"game {gid}: {e}") from None
    final = r.state()
    winner, ranks = rec.get("winner"), rec.get("ranks")
    if require_finished:
        if not final.is_over:
            raise ValueError(f"game {gid}: not finished after its {len(moves)} moves (a truncated game?)")
        if winner is None:
            raise ValueError(f"game {gid}: finished game with winner null (the replay gives player {final.winner})")
    if winner is not None and (not final.is_over or final.winner != winner):
        raise ValueError(f"game {gid}: record says player {winner} won, replay gives "
                         f"{'player ' + str(final.winner) if final.is_over else 'an unfinished game'}")
    if ranks is not None:
        mine = {str(k): v for k, v in (final.ranks or {}).items()}
        if not isinstance(ranks, dict) or {str(k): v for k, v in ranks.items()} != mine:
            raise ValueError(f"game {gid}: ranks differ: record {show(ranks)}, replay {mine}")
    ranks_out = {str(k): v for k, v in final.ranks.items()} if final.is_over else None
    moves_json = canonical_json(moves)
    return {
        "entry_id": f"{source_key}:{gid}",
        "game_id": gid,
        "board": board,
        "players": n,
        "schema_version": SCHEMA_VERSION,
        "seed": rec.get("seed"),
        "generator": _opt_str(rec.get("generator")),
        "generator_version": _opt_str(rec.get("generatorVersion")),
        "generator_config": canonical_json(rec["generatorConfig"]) if rec.get("generatorConfig") is not None else None,
        "rules_options": canonical_json(record_options(rec)),
        "rules_version": rec.get("rulesVersion") if type(rec.get("rulesVersion")) is int else RULES_VERSION,
        "moves_json": moves_json,
        "phases": (phases.astype(np.uint8) + 48).tobytes().decode("ascii"),
        "policy_json": canonical_json(policy) if policy is not None else None,
        "search_json": canonical_json(search) if search is not None else None,
        "move_hash": hashlib.sha256(moves_json.encode()).hexdigest(),
        "winner": final.winner if final.is_over else None,
        "ranks": canonical_json(ranks_out) if ranks_out else None,
        "victory_reason": final.victory_reason if final.is_over else None,
        "length": len(moves),
        "source": source,
        "source_file": source_file,
        "source_name": source_name,
        "run_id": run_id,
        "created_at": _now(),
    }


def _opt_str(v: Any) -> Optional[str]:
    return None if v is None else str(v)[:500]


def games_table(records: list, source: str = "selfplay", source_key: str = "local"):
    """Records as a ``games``-schema Arrow table (validated by replay; unfinished games
    allowed), for tools and tests that work on rows without a lake."""
    import pyarrow as pa

    from .schema import GAMES_SCHEMA

    rows = [convert_record(r, source=source, source_key=source_key, require_finished=False) for r in records]
    return pa.Table.from_pylist(rows, schema=GAMES_SCHEMA)


def row_to_record(row: dict) -> dict:
    """A ``games`` row back to a game record (samples, replay checks)."""
    rec = {
        "gameId": row["game_id"],
        "boardType": row["board"],
        "numPlayers": int(row["players"]),
        "rulesOptions": json.loads(row["rules_options"] or "{}"),
        "seed": row.get("seed"),
        "moves": json.loads(row["moves_json"]),
        "winner": row["winner"],
        "ranks": json.loads(row["ranks"]) if row.get("ranks") else None,
        "victoryReason": row.get("victory_reason"),
    }
    if row.get("policy_json"):
        rec["policy"] = json.loads(row["policy_json"])
    if row.get("search_json"):
        rec["search"] = json.loads(row["search_json"])
    for key, col in (("generator", "generator"), ("generatorVersion", "generator_version"),
                     ("rulesVersion", "rules_version")):
        if row.get(col) is not None:
            rec[key] = row[col]
    if row.get("generator_config"):
        rec["generatorConfig"] = json.loads(row["generator_config"])
    return rec


__all__ = ["canonical_json", "convert_record", "game_id_for", "games_table", "move_hash", "row_to_record"]
