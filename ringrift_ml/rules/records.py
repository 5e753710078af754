"""Game records: reading, writing and verifying them by replay.

Three formats are understood:

* RingRift golden games: ``boardType``, ``numPlayers``, ``moves`` (and optionally
  ``winner``; excerpts have none), with RingRift's ``metadata.recordVersion``.  They
  carry no rules options; they replay under the rules of the engine that recorded
  them (``options.GOLDEN_GAME_RULES``) unless a rules profile is chosen;
* RingRift reference games: ``initialState`` plus ``steps`` that list, at every
  step, the player, the phase, the move and every legal move;
* this project's records (``schema: ringrift-lab/game/v1``): ``boardType``,
  ``numPlayers``, ``rulesOptions``, ``moves``, ``winner``, ``ranks``,
  ``victoryReason``.

``replay_record`` checks every move and every recorded fact against the engine and
returns a :class:`ReplayVerdict` instead of raising, so a batch of files always
yields one verdict per game.  A verdict names the rules it replayed under when they
are not the canonical ones.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from ._codec import row_key
from .api import new_game
from .move import json_move_key
from .replay import Replayer, ReplayError
from .options import (
    CANONICAL_RULES,
    GOLDEN_GAME_RULES,
    SETUP_OPTIONS,
    describe,
    non_default,
    normalize_options,
    profile_rules,
)
from .state import GameState
from .version import RULES_VERSION

RECORD_SCHEMA = "ringrift-lab/game/v1"


@dataclasses.dataclass
class ReplayVerdict:
    """Outcome of replaying one game record."""

    source: str
    ok: bool
    moves: int
    message: str = ""
    winner: Optional[int] = None
    victory_reason: Optional[str] = None
    complete: bool = False
    final_state: Optional[GameState] = dataclasses.field(default=None, repr=False)
    rules: dict = dataclasses.field(default_factory=dict)  # the non-canonical options used

    def line(self) -> str:
        status = "OK  " if self.ok else "FAIL"
        end = f"winner {self.winner} ({self.victory_reason})" if self.complete else "unfinished"
        rules = f" [rules: {describe(self.rules)}]" if self.rules else ""
        return f"{status} {self.source}: {self.moves} moves, {end}{rules}" + (
            f" - {self.message}" if self.message else ""
        )


def load_json(path: Path) -> Any:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def iter_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(label, record)`` for a JSON file, a gzip JSON file or JSON Lines."""
    path = Path(path)
    name = path.name
    if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield f"{path}:{i}", json.loads(line)
                    except json.JSONDecodeError as e:
                        yield f"{path}:{i}", ValueError(f"line {i}: invalid JSON ({e.msg})")
    else:
        try:
            yield str(path), load_json(path)
        except (OSError, json.JSONDecodeError, EOFError) as e:
            yield str(path), ValueError(f"cannot read {path}: {e}")


def is_golden_format(rec: Any) -> bool:
    """A record in RingRift's own export format (its golden games): ``moves`` and
    ``metadata.recordVersion``, neither this project's schema nor reference steps."""
    return (
        isinstance(rec, dict)
        and "schema" not in rec
        and "steps" not in rec
        and isinstance(rec.get("metadata"), dict)
        and "recordVersion" in rec["metadata"]
    )


def record_options(rec: dict, profile: Optional[str] = None) -> dict:
    """The rules options a record asks for (only those it sets; the rest default).

    ``profile`` ``None`` (automatic) takes the record's own ``rulesOptions`` (and a
    reference game's top-level ``lpsRoundsRequired``), or ``GOLDEN_GAME_RULES`` for a
    RingRift export that carries none.  A named profile (``"canonical"``, ``"golden"``)
    sets every rules variant, keeping only the record's pie rule and round count,
    which belong to the game's set-up."""
    rules = None if profile is None else profile_rules(profile)
    own = rec.get("rulesOptions")
    normalize_options(own, "rulesOptions")
    own = dict(own or {})
    if rec.get("lpsRoundsRequired") is not None:
        own.setdefault("lpsRoundsRequired", rec["lpsRoundsRequired"])
    if profile is None:
        if rec.get("rulesOptions") is None and is_golden_format(rec):
            return {**GOLDEN_GAME_RULES, **own}
        return own
    setup = {k: v for k, v in own.items() if k in SETUP_OPTIONS}
    variants = {k: v for k, v in CANONICAL_RULES.items() if k not in SETUP_OPTIONS}
    return {**variants, **rules, **setup}


def start_state(rec: dict, profile: Optional[str] = None) -> GameState:
    """The state a record starts from (its initialState, or a new game), under the
    options :func:`record_options` gives."""
    opts = record_options(rec, profile)
    if rec.get("initialState") is not None:
        return GameState.from_json(rec["initialState"], opts)
    board = rec.get("boardType")
    n = rec.get("numPlayers")
    if board is None or n is None:
        raise ValueError("record: needs boardType and numPlayers, or an initialState")
    return new_game(board, n, rules_options=opts)


def replay_record(rec: Any, source: str = "<record>", profile: Optional[str] = None) -> ReplayVerdict:
    """Replay one record of any supported format and verify what it claims.

    ``profile`` chooses the rules (see :func:`record_options`); an unknown one raises
    ``ValueError``.  A failing record written under another rules version says so in
    the message."""
    if profile is not None:
        profile_rules(profile)  # raise here: inside the replay it would become a verdict
    verdict = _replay(rec, source, profile)
    version = rec.get("rulesVersion") if isinstance(rec, dict) else None
    if not verdict.ok and version is not None and version != RULES_VERSION:
        verdict = dataclasses.replace(
            verdict,
            message=f"{verdict.message} (recorded under rules version {version}; "
            f"this engine implements version {RULES_VERSION})",
        )
    return verdict


def _replay(rec: Any, source: str, profile: Optional[str]) -> ReplayVerdict:
    if isinstance(rec, Exception):
        return ReplayVerdict(source, False, 0, str(rec))
    if not isinstance(rec, dict):
        return ReplayVerdict(source, False, 0, "record: expected a JSON object")
    try:
        state = start_state(rec, profile)
    except ValueError as e:
        return ReplayVerdict(source, False, 0, f"bad start: {e}")
    verdict = _replay_from(rec, state, source)
    return dataclasses.replace(verdict, rules=non_default(state.rules_options))


def _replay_from(rec: dict, state: GameState, source: str) -> ReplayVerdict:
    if "steps" in rec:
        return _replay_reference(rec, state, source)
    moves = rec.get("moves")
    if not isinstance(moves, list):
        return ReplayVerdict(source, False, 0, "record: 'moves' missing or not a list")
    r = Replayer(state)
    try:
        for md in moves:
            r.advance(md)
    except ReplayError as e:
        return ReplayVerdict(source, False, e.ply, str(e), final_state=r.state())
    state = r.state()
    return _verdict(rec, state, source, len(moves), "; ".join(compare_final_score(state, rec.get("finalScore"))))


# RingRift's export format scores per player: eliminated rings (credited to the
# player who caused them), territory, and rings still in hand.
_FINAL_SCORE = {
    "ringsEliminated": GameState.eliminated_rings,
    "territorySpaces": GameState.territory,
    "ringsRemaining": GameState.rings_in_hand,
}


def compare_final_score(state: GameState, score: Any) -> list:
    """Differences between the engine's counters and a record's ``finalScore``.

    The victory label (``outcome``) is not compared: RingRift's exports label even
    unfinished excerpts ``ring_elimination``; the winner is compared instead."""
    if not isinstance(score, dict):
        return []
    out = []
    for key, counter in _FINAL_SCORE.items():
        table = score.get(key)
        if not isinstance(table, dict):
            continue
        for p in range(1, state.num_players + 1):
            want = table.get(str(p))
            if want is not None and counter(state, p) != want:
                out.append(f"finalScore.{key}[{p}]: record {want}, replay {counter(state, p)}")
    return out


def _verdict(rec: dict, state: GameState, source: str, n: int, extra: str = "") -> ReplayVerdict:
    problems = []
    if rec.get("winner") is not None:
        if not state.is_over:
            problems.append(f"record says player {rec['winner']} won but the game is not over")
        elif state.winner != rec["winner"]:
            problems.append(f"record says player {rec['winner']} won, replay gives player {state.winner}")
    ranks = rec.get("ranks")
    if ranks and state.is_over:
        mine = {str(k): v for k, v in state.ranks.items()}
        if {str(k): v for k, v in ranks.items()} != mine:
            problems.append(f"ranks differ: record {ranks}, replay {mine}")
    if extra:
        problems.append(extra)
    return ReplayVerdict(
        source,
        not problems,
        n,
        "; ".join(problems),
        winner=state.winner,
        victory_reason=state.victory_reason,
        complete=state.is_over,
        final_state=state,
    )


def _replay_reference(rec: dict, state: GameState, source: str) -> ReplayVerdict:
    hexb = state.spec.is_hex
    spec = state.spec
    r = Replayer(state)
    for i, st in enumerate(rec["steps"]):
        cur = (r.state_player(), r.state_phase())
        if cur != (st.get("currentPlayer"), st.get("currentPhase")):
            return ReplayVerdict(
                source,
                False,
                i,
                f"step {i}: engine has player {cur[0]} in {cur[1]}, "
                f"record has player {st.get('currentPlayer')} in {st.get('currentPhase')}",
                final_state=r.state(),
            )
        if "legalMoves" in st:
            mine = {row_key(spec, r.S, row) for row in r.rows().tolist()}
            theirs = {json_move_key(m, hexb) for m in st["legalMoves"]}
            if mine != theirs:
                extra, missing = mine - theirs, theirs - mine
                return ReplayVerdict(
                    source,
                    False,
                    i,
                    f"step {i}: legal moves differ: {len(extra)} only in engine "
                    f"{sorted(map(str, extra))[:3]}, {len(missing)} only in record {sorted(map(str, missing))[:3]}",
                    final_state=r.state(),
                )
        try:
            r.apply_index(r.match(st["move"]))
        except ReplayError as e:
            return ReplayVerdict(source, False, i, f"step {i}: {str(e).split(': ', 1)[1]}", final_state=r.state())
    state = r.state()
    result = rec.get("result") or {}
    problems = []
    if result.get("gameStatus") and result["gameStatus"] != state.game_status:
        problems.append(f"status {state.game_status}, record {result['gameStatus']}")
    final = result.get("finalState")
    if final:
        problems.extend(compare_final(state, final))
    rec2 = {"winner": result.get("winner")}
    return _verdict(rec2, state, source, len(rec["steps"]), "; ".join(problems))


def compare_final(state: GameState, final: dict) -> list:
    """Differences between an engine state and a serialized final state."""
    out = []
    board = final.get("board", {})
    mine = state.to_json()["board"]
    if {k: v["rings"] for k, v in mine["stacks"].items()} != {
        k: v["rings"] for k, v in board.get("stacks", {}).items()
    }:
        out.append("stacks differ")
    if {k: v["player"] for k, v in mine["markers"].items()} != {
        k: (v["player"] if isinstance(v, dict) else v) for k, v in board.get("markers", {}).items()
    }:
        out.append("markers differ")
    if mine["collapsedSpaces"] != board.get("collapsedSpaces", {}):
        out.append("collapsed spaces differ")
    for pl in final.get("players", []):
        p = pl["playerNumber"]
        a = (state.rings_in_hand(p), state.eliminated_rings(p), state.territory(p))
        b = (pl["ringsInHand"], pl["eliminatedRings"], pl["territorySpaces"])
        if a != b:
            out.append(f"player {p} hand/eliminated/territory {a}, record {b}")
    if final.get("currentPhase") is not None and final["currentPhase"] != state.current_phase:
        out.append(f"phase {state.current_phase}, record {final['currentPhase']}")
    if final.get("totalRingsEliminated") is not None and final["totalRingsEliminated"] != state.total_eliminated:
        out.append(f"total eliminated {state.total_eliminated}, record {final['totalRingsEliminated']}")
    return out


def make_record(
    moves: list,
    final: GameState,
    *,
    game_id: str,
    board_type: str,
    num_players: int,
    rules_options: Optional[dict] = None,
    seed: Optional[int] = None,
    generator: str = "random",
) -> dict:
    """This project's record for a finished (or cut-off) game."""
    return {
        "schema": RECORD_SCHEMA,
        "gameId": game_id,
        "boardType": board_type,
        "numPlayers": num_players,
        "rulesOptions": dict(rules_options or {}),
        "rulesVersion": RULES_VERSION,
        "seed": seed,
        "generator": generator,
        "moves": [m.to_json() for m in moves],
        "winner": final.winner,
        "ranks": {str(k): v for k, v in final.ranks.items()} if final.is_over else None,
        "victoryReason": final.victory_reason,
        "length": len(moves),
    }


def replay_file(path: Path, profile: Optional[str] = None, keep_states: bool = True) -> list:
    """Verdicts of every record in one file (see :func:`iter_records`)."""
    out = []
    for label, rec in iter_records(Path(path)):
        v = replay_record(rec, label, profile)
        out.append(v if keep_states else dataclasses.replace(v, final_state=None))
    return out


def _replay_file_lean(args) -> list:
    path, profile = args
    return replay_file(path, profile, keep_states=False)


def replay_files(paths: Iterable[Path], profile: Optional[str] = None, workers: int = 1) -> Iterator[list]:
    """The verdicts of each file in ``paths``, in order, one list per file.

    With ``workers > 1`` files are replayed in that many processes (verdicts then carry
    no final state); a bad ``profile`` raises ``ValueError`` before anything runs."""
    if profile is not None:
        profile_rules(profile)
    paths = list(paths)
    if workers <= 1 or len(paths) <= 1:
        for p in paths:
            yield replay_file(p, profile)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Long games first would balance better, but callers want file order.
        yield from pool.map(_replay_file_lean, [(p, profile) for p in paths], chunksize=1)
