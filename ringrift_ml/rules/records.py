"""Game records: reading, writing and verifying them by replay.

Three formats are understood:

* RingRift golden games: ``boardType``, ``numPlayers``, ``moves`` (and optionally
  ``winner``; excerpts have none);
* RingRift reference games: ``initialState`` plus ``steps`` that list, at every
  step, the player, the phase, the move and every legal move;
* this project's records (``schema: ringrift-lab/game/v1``): ``boardType``,
  ``numPlayers``, ``rulesOptions``, ``moves``, ``winner``, ``ranks``,
  ``victoryReason``.

``replay_record`` checks every move and every recorded fact against the engine and
returns a :class:`ReplayVerdict` instead of raising, so a batch of files always
yields one verdict per game.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any, Iterator, Optional

from .api import IllegalMoveError, apply_move, legal_moves, new_game
from .move import Move
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

    def line(self) -> str:
        status = "OK  " if self.ok else "FAIL"
        end = f"winner {self.winner} ({self.victory_reason})" if self.complete else "unfinished"
        return f"{status} {self.source}: {self.moves} moves, {end}" + (f" - {self.message}" if self.message else "")


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


def _options(rec: dict) -> dict:
    opts = dict(rec.get("rulesOptions") or {})
    if rec.get("lpsRoundsRequired") is not None:
        opts.setdefault("lpsRoundsRequired", rec["lpsRoundsRequired"])
    return opts


def _start_state(rec: dict) -> GameState:
    opts = _options(rec)
    if rec.get("initialState") is not None:
        return GameState.from_json(rec["initialState"], opts)
    board = rec.get("boardType")
    n = rec.get("numPlayers")
    if board is None or n is None:
        raise ValueError("record: needs boardType and numPlayers, or an initialState")
    return new_game(
        board,
        n,
        swap_rule=bool(opts.get("swapRuleEnabled", False)),
        lps_rounds=int(opts.get("lpsRoundsRequired", 3)),
        placed_stack_must_move=bool(opts.get("placedStackMustMove", True)),
    )


def start_state(rec: dict) -> GameState:
    """The state a record starts from (its initialState, or a new game with its options)."""
    return _start_state(rec)


def replay_record(rec: Any, source: str = "<record>") -> ReplayVerdict:
    """Replay one record of any supported format and verify what it claims.

    A failing record written under another rules version says so in the message."""
    verdict = _replay(rec, source)
    version = rec.get("rulesVersion") if isinstance(rec, dict) else None
    if not verdict.ok and version is not None and version != RULES_VERSION:
        verdict = dataclasses.replace(
            verdict,
            message=f"{verdict.message} (recorded under rules version {version}; "
            f"this engine implements version {RULES_VERSION})",
        )
    return verdict


def _replay(rec: Any, source: str) -> ReplayVerdict:
    if isinstance(rec, Exception):
        return ReplayVerdict(source, False, 0, str(rec))
    if not isinstance(rec, dict):
        return ReplayVerdict(source, False, 0, "record: expected a JSON object")
    try:
        state = _start_state(rec)
    except ValueError as e:
        return ReplayVerdict(source, False, 0, f"bad start: {e}")
    if "steps" in rec:
        return _replay_reference(rec, state, source)
    moves = rec.get("moves")
    if not isinstance(moves, list):
        return ReplayVerdict(source, False, 0, "record: 'moves' missing or not a list")
    for i, md in enumerate(moves):
        try:
            state = apply_move(state, Move.from_json(md))
        except (IllegalMoveError, ValueError) as e:
            return ReplayVerdict(source, False, i, f"move {i + 1}: {e}", final_state=state)
    return _verdict(rec, state, source, len(moves))


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
    steps = rec["steps"]
    for i, st in enumerate(steps):
        if (state.current_player, state.current_phase) != (st.get("currentPlayer"), st.get("currentPhase")):
            return ReplayVerdict(
                source,
                False,
                i,
                f"step {i}: engine has player {state.current_player} in {state.current_phase}, "
                f"record has player {st.get('currentPlayer')} in {st.get('currentPhase')}",
                final_state=state,
            )
        if "legalMoves" in st:
            mine = {m.key(hexb) for m in legal_moves(state)}
            theirs = {Move.from_json(m).key(hexb) for m in st["legalMoves"]}
            if mine != theirs:
                extra, missing = mine - theirs, theirs - mine
                return ReplayVerdict(
                    source,
                    False,
                    i,
                    f"step {i}: legal moves differ: {len(extra)} only in engine "
                    f"{sorted(map(str, extra))[:3]}, {len(missing)} only in record {sorted(map(str, missing))[:3]}",
                    final_state=state,
                )
        try:
            state = apply_move(state, Move.from_json(st["move"]))
        except (IllegalMoveError, ValueError) as e:
            return ReplayVerdict(source, False, i, f"step {i}: {e}", final_state=state)
    result = rec.get("result") or {}
    problems = []
    if result.get("gameStatus") and result["gameStatus"] != state.game_status:
        problems.append(f"status {state.game_status}, record {result['gameStatus']}")
    final = result.get("finalState")
    if final:
        problems.extend(compare_final(state, final))
    rec2 = {"winner": result.get("winner")}
    return _verdict(rec2, state, source, len(steps), "; ".join(problems))


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
