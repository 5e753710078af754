"""Fast replay of recorded move lists, in place.

Replaying records is the inner loop of ``ringrift rules replay``, landing validation,
sample building and the quality checks.  The validating public API copies the state and
builds an immutable :class:`GameState` for every move; here one state array is played
in place instead: each recorded move is parsed (with the same checks and error messages
as :meth:`Move.from_json`), matched against the compiled legal-move rows of the position
(the same matcher as :func:`apply_move`) and applied with the same kernel.

    final = replay_moves(start, record["moves"])         # GameState, or ReplayError
    for step in iter_replay(start, record["moves"]):      # each position before its move
        step.rows, step.index, step.player, step.phase

A :class:`ReplayError` names the ply (0-based) and why the move is illegal there.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from ._k_replay import replay_fields, replay_step
from ._k_turn import apply_trusted
from ._k_turn import legal_moves as _k_legal_moves
from ._layout import F_A, F_B, F_FROM, F_PLAYER, F_TO, F_TYPE, EC_LINE, EC_RECOVERY, EC_TERRITORY, M_CUR, M_PHASE, MAX_MOVES, MOVE_TYPE_NAMES, MOVE_WIDTH, MT, PHASE_NAMES
from ._match import IllegalMoveError, match_index
from .boards import BoardSpec
from ._check import INT_LIMIT
from .move import NO_TARGET_TYPES, Move, fast_path_ok, fast_place_fields_ok
from .state import GameState

# The row columns of _quick_fields' (type, player, from, to, F_A, F_B).
_QUICK_COLS = (F_TYPE, F_PLAYER, F_FROM, F_TO, F_A, F_B)


class ReplayError(IllegalMoveError):
    """A recorded move that cannot be replayed; ``ply`` is its 0-based index."""

    def __init__(self, ply: int, message: str, move=None):
        super().__init__(f"move {ply + 1}: {message}", move)
        self.ply = ply


@dataclasses.dataclass
class ReplayStep:
    """A position of a replay, before its recorded move is applied.

    ``S`` and ``rows`` are live buffers, valid until the iteration continues: copy
    what must outlive the step."""

    ply: int
    S: np.ndarray
    rows: np.ndarray
    index: int
    move: Move

    @property
    def player(self) -> int:
        return int(self.S[MT, M_CUR])

    @property
    def phase(self) -> str:
        return PHASE_NAMES[int(self.S[MT, M_PHASE])]

    @property
    def row(self) -> np.ndarray:
        return self.rows[self.index]


class Replayer:
    """One game played in place from recorded moves (the engine behind
    :func:`iter_replay`); also matches extra moves, e.g. a record's search policy,
    against the current position."""

    __slots__ = ("spec", "S", "ply", "_buf", "_n")

    def __init__(self, state: GameState):
        if not isinstance(state, GameState):
            raise TypeError(f"state: expected a GameState, got {type(state).__name__}")
        self.spec = state.spec
        self.S = state.copy_array()
        self.ply = 0
        self._buf = np.empty((MAX_MOVES, MOVE_WIDTH), dtype=np.int64)
        self._n = -1  # rows of the current position not generated yet

    def rows(self) -> np.ndarray:
        """Legal rows of the current position (a view into a reused buffer)."""
        if self._n < 0:
            n = _k_legal_moves(self.S, self.spec.geo, self._buf)
            if n > self._buf.shape[0]:
                self._buf = np.empty((n, MOVE_WIDTH), dtype=np.int64)
                n = _k_legal_moves(self.S, self.spec.geo, self._buf)
            self._n = n
        return self._buf[: self._n]

    def match(self, move: Any) -> int:
        """Row index of ``move`` (a Move or its JSON) in the current position;
        :class:`ReplayError` if it is malformed or illegal."""
        try:
            m = move if isinstance(move, Move) else Move.from_json(move)
            return match_index(self.spec, self.S, self.rows(), m)
        except IllegalMoveError as e:
            raise ReplayError(self.ply, str(e), getattr(e, "move", None)) from None
        except ValueError as e:
            raise ReplayError(self.ply, f"malformed move: {e}") from None

    def match_all(self, moves: Iterable) -> list:
        """Row indices of many recorded moves of the current position (a search
        policy's entries), as :meth:`match` would give them: the moves whose JSON names
        a common type by its row fields (:func:`_quick_fields`) are looked up in a
        table of the rows, built once per field pattern (the first matching row, as
        the compiled replay takes it); the others, and any that the table does not
        find, go through :meth:`match` (with its error)."""
        rows = self.rows()
        tables: dict = {}
        out = []
        for md in moves:
            quick = None if isinstance(md, Move) else _quick_fields(self.spec, md)
            if quick is None:
                out.append(self.match(md))
                continue
            pattern = tuple(v >= 0 for v in quick[2:])
            table = tables.get(pattern)
            if table is None:
                cols = [_QUICK_COLS[0], _QUICK_COLS[1]] + [c for c, on in zip(_QUICK_COLS[2:], pattern) if on]
                table = {}
                for i, key in enumerate(map(tuple, rows[:, cols].tolist())):
                    table.setdefault(key, i)
                tables[pattern] = table
            i = table.get(quick[:2] + tuple(v for v in quick[2:] if v >= 0))
            out.append(self.match(md) if i is None else i)
        return out

    def advance(self, md: Any) -> None:
        """Apply recorded move ``md`` (JSON or Move): the compiled path for the common
        move types, the general matcher (and its error messages) for the rest."""
        quick = None if isinstance(md, Move) else _quick_fields(self.spec, md)
        if quick is not None:
            i = replay_step(self.S, self.spec.geo, self._buf, *quick)
            if i >= 0:
                self.ply += 1
                self._n = -1
                return
            if i < -1:  # more legal moves than the buffer holds: grow it, retry
                self._buf = np.empty((-2 - i, MOVE_WIDTH), dtype=np.int64)
                self._n = -1
                return self.advance(md)
            self._n = -1  # the buffer holds this position's rows; regenerate anyway
        self.apply_index(self.match(md))

    def run(self, moves: list, phases: Optional[np.ndarray] = None) -> np.ndarray:
        """Apply a whole recorded move list (JSON or Moves), as :meth:`advance` would,
        but with runs of common moves replayed inside one compiled call.  Returns the
        phase index each move was played in; :class:`ReplayError` at the first bad
        move (the moves before it are applied)."""
        n = len(moves)
        fields = np.full((n, 6), -1, dtype=np.int64)
        for i, md in enumerate(moves):
            q = None if isinstance(md, Move) else _quick_fields(self.spec, md)
            if q is not None:
                fields[i] = q
        phases = np.zeros(n, dtype=np.int64) if phases is None else phases
        i = 0
        base = self.ply
        while i < n:
            k = replay_fields(self.S, self.spec.geo, self._buf, fields, i, phases)
            self.ply = base + k
            self._n = -1
            if k >= n:
                break
            self.advance(moves[k])  # the general path: grows the buffer, or explains
            i = k + 1
        return phases

    def apply_index(self, index: int) -> None:
        """Apply row ``index`` of :meth:`rows` in place."""
        apply_trusted(self.S, self.spec.geo, self.rows()[index])
        self.ply += 1
        self._n = -1

    def state_player(self) -> int:
        return int(self.S[MT, M_CUR])

    def state_phase(self) -> str:
        return PHASE_NAMES[int(self.S[MT, M_PHASE])]

    def state(self) -> GameState:
        """An immutable snapshot of the current position."""
        return GameState(self.spec, self.S.copy())


def iter_replay(state: GameState, moves: Iterable[Any]) -> Iterator[ReplayStep]:
    """Yield every position of a replay before its recorded move (then apply it).

    ``moves`` are Move objects or RingRift move JSON; a malformed or illegal move
    raises :class:`ReplayError` at its ply."""
    r = Replayer(state)
    for md in moves:
        move = md if isinstance(md, Move) else _parse(r.ply, md)
        index = r.match(move)
        yield ReplayStep(r.ply, r.S, r.rows(), index, move)
        r.apply_index(index)


def replay_moves(state: GameState, moves: Iterable[Any]) -> GameState:
    """The state after replaying ``moves`` from ``state``; :class:`ReplayError` at the
    first malformed or illegal move."""
    r = Replayer(state)
    r.run(list(moves))
    return r.state()


_CODE = {name: code for code, name in enumerate(MOVE_TYPE_NAMES)}
_CONTEXT = {"line": EC_LINE, "territory": EC_TERRITORY, "recovery": EC_RECOVERY}


def _cell(spec: BoardSpec, v) -> int:
    """Cell of a plain position object, or -2 (not found / not plain: no fast path).

    Plain means what :meth:`Move.from_json` accepts: x, y and a present z are
    ``int`` (not bool); z may be missing or null.  A square board ignores an integer
    z, as ``norm_pos`` does, but it must still be one that from_json accepts."""
    if type(v) is not dict:
        return -2
    x, y, z = v.get("x"), v.get("y"), v.get("z")
    if type(x) is not int or type(y) is not int:
        return -2
    if z is not None and (type(z) is not int or not -INT_LIMIT <= z <= INT_LIMIT):
        return -2
    if spec.is_hex:
        return spec.pos_to_cell.get((x, y, -x - y if z is None else z), -2)
    return spec.pos_to_cell.get((x, y), -2)


def _quick_fields(spec: BoardSpec, d: Any):
    """The row fields naming a recorded move of a common type, as
    ``(type, player, from, to, F_A, F_B)`` with -1 for "not compared"; ``None`` when
    the move needs the general matcher (other types, unusual JSON).

    Never takes a move that :meth:`Move.from_json` would reject: a field it does not
    check itself sends the move to the general path (see ``move.fast_path_ok``)."""
    if type(d) is not dict:
        return None
    t = d.get("type")
    p = d.get("player")
    if type(t) is not str or type(p) is not int or t not in _CODE or not 1 <= p <= 4:
        return None
    if not fast_path_ok(d, t):
        return None
    code = _CODE[t]
    if t in NO_TARGET_TYPES:
        return (code, p, -1, -1, -1, -1)
    if t == "place_ring":
        c = d.get("placementCount", 1)
        to = _cell(spec, d.get("to"))
        if to < 0 or type(c) is not int or not 1 <= c <= 3 or not fast_place_fields_ok(d):
            return None
        return (code, p, -1, to, -1, c)
    if t == "move_stack":
        frm, to = _cell(spec, d.get("from")), _cell(spec, d.get("to"))
        return None if frm < 0 or to < 0 else (code, p, frm, to, -1, -1)
    if t == "overtaking_capture" or t == "continue_capture_segment":
        frm, to, tgt = _cell(spec, d.get("from")), _cell(spec, d.get("to")), _cell(spec, d.get("captureTarget"))
        return None if frm < 0 or to < 0 or tgt < 0 else (code, p, frm, to, tgt, -1)
    if t == "forced_elimination":
        to = _cell(spec, d.get("to"))
        return None if to < 0 else (code, p, -1, to, -1, -1)
    if t == "eliminate_rings_from_stack":
        to = _cell(spec, d.get("to"))
        ctx = d.get("eliminationContext")
        if to < 0 or (ctx is not None and (type(ctx) is not str or ctx not in _CONTEXT)):
            return None
        return (code, p, -1, to, -1 if ctx is None else _CONTEXT[ctx], -1)
    return None


def _parse(ply: int, md: Any) -> Move:
    try:
        return Move.from_json(md)
    except ValueError as e:
        raise ReplayError(ply, f"malformed move: {e}") from None


__all__ = ["ReplayError", "ReplayStep", "Replayer", "iter_replay", "replay_moves"]
