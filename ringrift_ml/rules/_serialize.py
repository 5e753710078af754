"""Serialized states in RingRift's contract-vector JSON form.

Loading validates everything before building the state: a malformed state raises a
``ValueError`` that names the field and the reason and nothing is half-loaded.  Input
is strict: integer fields take plain integers (no bools, floats or numeric strings)
within their range, and no other exception type escapes ``parse_state`` for
malformed input.

Position keys (``board.stacks``, ``board.markers``, ``board.collapsedSpaces``) must be
canonical: ``"x,y"`` / ``"x,y,z"`` with each coordinate written as ``str(int)`` writes
it.  Other spellings of a cell (``"01,1"``, ``" 1,1"``, ``"+1,1"``) are rejected
outright rather than read as ``"1,1"``, which would let two keys silently name one
cell.  A hex key may still leave out z (RingRift's own data writes it; the engine
completes it), so ``"1,1"`` and ``"1,1,-2"`` can name the same hex cell: two keys of
one object that name the same cell are rejected, naming both keys.

What the contract form does not carry (the turn's bookkeeping, last-player-standing
rounds, pie-rule status) is written under ``engineState`` so that a state this
engine saved loads back exactly.  States without it (RingRift's own) get the values
a turn would have at that point: see ``_infer_turn_fields``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._k_board import rebuild_derived
from ._layout import (
    AGE,
    M_AGE_SEQ,
    CL,
    CP,
    CT,
    H,
    M_ACTED,
    M_CUR,
    M_ELIM,
    M_ELIMTURN,
    M_FROM,
    M_HAND,
    M_LAST_ACTOR,
    M_LINELEN,
    M_LPS_ANCHOR,
    M_LPS_DUE,
    M_LPS_EXCL,
    M_LPS_LAST,
    M_LPS_LEADER,
    M_LPS_MASK,
    M_LPS_STREAK,
    M_LPS_REQ,
    M_NP,
    M_ONB,
    M_PENDING,
    M_PHASE,
    M_PLY,
    M_RANK,
    M_REASON,
    M_RECOVERY,
    M_RPP,
    M_STATUS,
    M_SWAP_AVAIL,
    M_SWAP_ON,
    M_SWAPPED,
    M_TERR,
    M_TERR_LEGACY,
    M_TMIN,
    M_TOTAL_ELIM,
    M_TURN_REAL,
    M_VTHRESH,
    M_WINNER,
    MAX_STACK,
    MK,
    MT,
    PEND_LINE_ELIM,
    PEND_NONE,
    PEND_TERR_ELIM,
    PH_CAPTURE,
    PH_CHAIN_CAPTURE,
    PH_GAME_OVER,
    PH_LINE,
    PH_MOVEMENT,
    PH_RING_PLACEMENT,
    PH_TERRITORY,
    PHASE_NAMES,
    REASON_NAMES,
    RG,
    empty_state_array,
)
from ._check import INT_LIMIT, int_value, is_int, show
from .boards import board_spec
from .options import check_option, normalize_options, read_options, write_options

_ENGINE_FIELDS = {
    "turnActed": M_ACTED,
    "recoveryTurn": M_RECOVERY,
    "pending": M_PENDING,
    "mustActFrom": M_FROM,
    "swapEnabled": M_SWAP_ON,
    "swapAvailable": M_SWAP_AVAIL,
    "swapped": M_SWAPPED,
    "lastActor": M_LAST_ACTOR,
    "turnHadRealAction": M_TURN_REAL,
    "lpsAnchor": M_LPS_ANCHOR,
    "lpsLastSeat": M_LPS_LAST,
    "lpsRoundMask": M_LPS_MASK,
    "lpsStreak": M_LPS_STREAK,
    "lpsLeader": M_LPS_LEADER,
    "lpsLastExclusive": M_LPS_EXCL,
    "lpsDue": M_LPS_DUE,
}


def _engine_ranges(n: int, n_cells: int) -> dict:
    """Allowed ``(lo, hi)`` of each ``engineState`` field in an ``n``-player game."""
    seat = (0, n)  # a player number, 0 = none
    flag = (0, 1)
    return {
        "turnActed": flag,
        "recoveryTurn": flag,
        "pending": (PEND_NONE, max(PEND_NONE, PEND_LINE_ELIM, PEND_TERR_ELIM)),
        "mustActFrom": (-1, n_cells - 1),
        "swapEnabled": flag,
        "swapAvailable": (0, 2),  # 1: open for seat 1's first turn, 2: seat 2 may swap now
        "swapped": flag,
        "lastActor": seat,
        "turnHadRealAction": flag,
        "lpsAnchor": seat,
        "lpsLastSeat": seat,
        "lpsRoundMask": (0, (1 << n) - 1),
        "lpsStreak": (0, INT_LIMIT),
        "lpsLeader": seat,
        "lpsLastExclusive": seat,
        "lpsDue": seat,
    }


def _int(d: dict, key: str, field: str, default=None, lo=None, hi=None) -> int:
    v = d.get(key, default)
    if v is None:
        if default is None:
            raise ValueError(f"{field}: missing")
        v = default
    if not is_int(v):
        raise ValueError(f"{field}: expected an integer, got {show(v)}")
    v = int(v)
    lo = -INT_LIMIT if lo is None else lo
    hi = INT_LIMIT if hi is None else hi
    if v < lo:
        raise ValueError(f"{field}: must be >= {lo}, got {v}")
    if v > hi:
        raise ValueError(f"{field}: must be <= {hi}, got {v}")
    return v


def _keyed(board: dict, name: str) -> dict:
    """``board[name]``: an object keyed by position (missing or null: empty)."""
    v = board.get(name)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ValueError(f"board.{name}: expected an object keyed by position, got {show(v)}")
    return v


def _cell_of_key(spec, key, field: str, seen: dict, name: str) -> int:
    """Cell of position key ``key`` of ``board[name]``; ``seen`` maps the cells of
    the keys read so far to their keys, so that two keys naming one cell are caught."""
    c = spec.cell_of_key(key, field)
    first = seen.get(c)
    if first is not None:
        raise ValueError(
            f"board.{name}: keys {show(first)} and {show(key)} name the same cell {spec.cell_key(c)}"
        )
    seen[c] = key
    return c


def _cap(rings: list) -> int:
    cap = 1
    while cap < len(rings) and rings[-1 - cap] == rings[-1]:
        cap += 1
    return cap


def _declared_fields_agree(st: dict, rings: list) -> bool:
    return st.get("controllingPlayer", rings[-1]) == rings[-1] and st.get("capHeight", _cap(rings)) == _cap(rings)


def parse_state(d, rules_options: Optional[dict] = None) -> tuple:
    """``(board spec, state array)`` of a serialized state; ``GameState.from_json``
    makes the state of them (the state module imports this one, not the reverse)."""
    if not isinstance(d, dict):
        raise ValueError(f"state: expected an object, got {type(d).__name__}")
    board = d.get("board")
    if not isinstance(board, dict):
        raise ValueError("board: missing or not an object")
    btype = board.get("type", d.get("boardType"))
    spec = board_spec(btype)
    if d.get("boardType") not in (None, btype):
        raise ValueError(f"boardType: {show(d.get('boardType'))} disagrees with board.type {btype!r}")

    players = d.get("players")
    if not isinstance(players, list):
        raise ValueError("players: missing or not a list")
    if not 2 <= len(players) <= 4:
        raise ValueError(f"players: RingRift is played by 2-4 players, the state lists {len(players)}")
    n = len(players)
    by_num = {}
    for i, pl in enumerate(players):
        if not isinstance(pl, dict):
            raise ValueError(f"players[{i}]: expected an object")
        num = _int(pl, "playerNumber", f"players[{i}].playerNumber", lo=1, hi=n)
        if num in by_num:
            raise ValueError(f"players[{i}].playerNumber: player {num} is listed twice")
        by_num[num] = pl

    S = empty_state_array(spec.n_cells)
    stored = d.get("rulesOptions")
    normalize_options(stored, "rulesOptions")  # each source is checked under its own name
    normalize_options(rules_options)
    opts = dict(stored or {})
    if "lpsRoundsRequired" not in opts and d.get("lpsRoundsRequired") is not None:
        check_option("lpsRoundsRequired", d["lpsRoundsRequired"], "lpsRoundsRequired")
        opts["lpsRoundsRequired"] = d["lpsRoundsRequired"]
    opts = normalize_options({**opts, **(rules_options or {})})
    rpp = spec.rings_per_player

    # -- board ------------------------------------------------------------------
    stacks = _keyed(board, "stacks")
    seen: dict = {}
    for key, st in stacks.items():
        field = f"board.stacks[{show(key)}]"
        c = _cell_of_key(spec, key, field, seen, "stacks")
        if not isinstance(st, dict):
            raise ValueError(f"{field}: expected a stack object")
        if "position" in st and spec.cell_of_pos(st["position"], f"{field}.position") != c:
            raise ValueError(f"{field}.position: does not match the key {key}")
        rings = st.get("rings")
        if not isinstance(rings, list) or not rings:
            raise ValueError(f"{field}.rings: expected a non-empty list of player numbers")
        if len(rings) > MAX_STACK:
            raise ValueError(f"{field}.rings: height {len(rings)} exceeds the engine limit of {MAX_STACK}")
        for i, r in enumerate(rings):
            if not is_int(r) or not 1 <= r <= n:
                raise ValueError(f"{field}.rings[{i}]: expected a player number 1..{n}, got {show(r)}")
        rings = [int(r) for r in rings]
        for name in ("stackHeight", "capHeight", "controllingPlayer"):
            if name in st and not is_int(st[name]):
                raise ValueError(f"{field}.{name}: expected an integer, got {show(st[name])}")
        if not _declared_fields_agree(st, rings) and _declared_fields_agree(st, rings[::-1]):
            # Some hand-written RingRift states list rings top first; the declared
            # controller and cap height say which end is the top.
            rings = rings[::-1]
        top = rings[-1]
        cap = _cap(rings)
        for name, want in (("stackHeight", len(rings)), ("capHeight", cap), ("controllingPlayer", top)):
            if name in st and st[name] != want:
                raise ValueError(f"{field}.{name}: is {show(st[name])} but the rings give {want}")
        bits = 0
        for i, r in enumerate(rings):
            bits |= (r - 1) << (2 * i)
        S[H, c] = len(rings)
        S[RG, c] = bits
        # Stacks are as old as their order in the serialized object says.
        S[MT, M_AGE_SEQ] += 1
        S[AGE, c] = S[MT, M_AGE_SEQ]
    markers = _keyed(board, "markers")
    seen = {}
    for key, mk in markers.items():
        field = f"board.markers[{show(key)}]"
        c = _cell_of_key(spec, key, field, seen, "markers")
        if isinstance(mk, dict) and "position" in mk and spec.cell_of_pos(mk["position"], f"{field}.position") != c:
            raise ValueError(f"{field}.position: does not match the key {key}")
        owner = mk.get("player") if isinstance(mk, dict) else mk
        if not is_int(owner) or not 1 <= owner <= n:
            raise ValueError(f"{field}.player: expected a player number 1..{n}, got {show(owner)}")
        if S[H, c]:
            raise ValueError(f"{field}: cell {key} holds both a stack and a marker")
        S[MK, c] = owner
    collapsed = _keyed(board, "collapsedSpaces")
    seen = {}
    for key, owner in collapsed.items():
        field = f"board.collapsedSpaces[{show(key)}]"
        c = _cell_of_key(spec, key, field, seen, "collapsedSpaces")
        if isinstance(owner, dict):
            owner = owner.get("player")
        if not is_int(owner) or not 1 <= owner <= n:
            raise ValueError(f"{field}: expected the owning player 1..{n}, got {show(owner)}")
        if S[H, c] or S[MK, c]:
            raise ValueError(f"{field}: collapsed cell {key} also holds a stack or marker")
        S[CL, c] = owner

    # -- counters -------------------------------------------------------------------
    for p in range(1, n + 1):
        pl = by_num.get(p)
        if pl is None:
            raise ValueError(f"players: player {p} is missing")
        S[MT, M_HAND + p - 1] = _int(pl, "ringsInHand", f"players[{p - 1}].ringsInHand", lo=0, hi=rpp)
        S[MT, M_ELIM + p - 1] = _int(pl, "eliminatedRings", f"players[{p - 1}].eliminatedRings", 0, lo=0)
        S[MT, M_TERR + p - 1] = _int(pl, "territorySpaces", f"players[{p - 1}].territorySpaces", 0, lo=0)
    S[MT, M_NP] = n
    # Hand-written RingRift states sometimes hold more rings than the supply allows
    # (hand plus board); they are accepted, since placement never adds rings in play.
    rebuild_derived(S, spec.geo)
    S[MT, M_TOTAL_ELIM] = _int(d, "totalRingsEliminated", "totalRingsEliminated", int(S[MT, M_ELIM : M_ELIM + n].sum()), lo=0)

    # -- turn -----------------------------------------------------------------------------
    S[MT, M_CUR] = _int(d, "currentPlayer", "currentPlayer", lo=1, hi=n)
    phase = d.get("currentPhase")
    if type(phase) is not str or phase not in PHASE_NAMES:
        raise ValueError(f"currentPhase: unknown phase {show(phase)}")
    S[MT, M_PHASE] = PHASE_NAMES.index(phase)
    status = d.get("gameStatus", "active")
    if type(status) is not str or status not in ("active", "completed", "finished"):
        raise ValueError(f"gameStatus: expected 'active' or 'completed', got {show(status)}")
    over = status != "active"
    if over != (phase == "game_over") and phase == "game_over":
        raise ValueError("currentPhase: 'game_over' is only valid for a completed game")
    S[MT, M_STATUS] = 1 if over else 0
    winner = d.get("winner")
    if over:
        if not is_int(winner) or not 1 <= winner <= n:
            raise ValueError(f"winner: a completed game needs a winner 1..{n}, got {show(winner)}")
        S[MT, M_WINNER] = winner
        S[MT, M_PHASE] = PH_GAME_OVER
        reason = d.get("victoryReason")
        if reason is not None and type(reason) is not str:
            raise ValueError(f"victoryReason: expected a string, got {show(reason)}")
        # Reasons this engine does not know (RingRift writes 'unknown') are kept as none.
        S[MT, M_REASON] = REASON_NAMES.index(reason) if reason in REASON_NAMES[1:] else 0
        ranks = d.get("ranks")
        if ranks is None:
            ranks = {}
        if not isinstance(ranks, dict):
            raise ValueError(f"ranks: expected an object of player number -> rank, got {show(ranks)}")
        for k in ranks:
            if k not in [str(p) for p in range(1, n + 1)]:
                raise ValueError(f"ranks[{show(k)}]: expected a player number '1'..'{n}'")
        for p in range(1, n + 1):
            default = 1 if p == winner else 2
            S[MT, M_RANK + p - 1] = _int(ranks, str(p), f"ranks[{str(p)!r}]", default, lo=1, hi=n)
    S[MT, M_PLY] = _int(d, "turnNumber", "turnNumber", 1, lo=1) - 1
    S[MT, M_VTHRESH] = _int(d, "victoryThreshold", "victoryThreshold", spec.victory_threshold(n), lo=1)
    legacy = d.get("territoryVictoryThreshold")
    S[MT, M_TERR_LEGACY] = _int(d, "territoryVictoryThreshold", "territoryVictoryThreshold", spec.territory_legacy_threshold(), lo=1)
    if d.get("territoryVictoryMinimum") is not None:
        S[MT, M_TMIN] = _int(d, "territoryVictoryMinimum", "territoryVictoryMinimum", lo=1)
    elif legacy is not None:
        S[MT, M_TMIN] = S[MT, M_TERR_LEGACY]
    else:
        S[MT, M_TMIN] = spec.territory_minimum(n)
    S[MT, M_LINELEN] = spec.line_length(n)
    S[MT, M_RPP] = rpp
    write_options(S, opts)
    for p in range(1, n + 1):
        alive = S[MT, M_HAND + p - 1] > 0 or S[MT, M_ONB + p - 1] > 0
        S[MT, M_ELIMTURN + p - 1] = -1 if alive else 0

    engine = d.get("engineState")
    if engine is not None:
        _load_engine_fields(S, spec, engine)
    else:
        _infer_turn_fields(S, spec, d)
    return spec, S


def _load_engine_fields(S, spec, engine) -> None:
    if not isinstance(engine, dict):
        raise ValueError("engineState: expected an object")
    n = int(S[MT, M_NP])
    ranges = _engine_ranges(n, spec.n_cells)
    for name, idx in _ENGINE_FIELDS.items():
        if name in engine:
            lo, hi = ranges[name]
            if name == "mustActFrom":
                v = _int(engine, name, f"engineState.{name}", lo=lo)
                if v > hi:
                    raise ValueError(f"engineState.mustActFrom: not a cell of this board, got {v}")
            else:
                v = _int(engine, name, f"engineState.{name}", lo=lo, hi=hi)
            S[MT, idx] = v
    elim_turn = engine.get("eliminationTurn")
    if elim_turn is not None:
        if not isinstance(elim_turn, list) or len(elim_turn) != n:
            raise ValueError(
                f"engineState.eliminationTurn: expected a list of {n} integers, got {show(elim_turn)}"
            )
        for i, v in enumerate(elim_turn):
            # -1: still in the game; otherwise the ply of the permanent elimination.
            S[MT, M_ELIMTURN + i] = int_value(v, f"engineState.eliminationTurn[{i}]", lo=-1)


def _infer_turn_fields(S, spec, d) -> None:
    """Turn bookkeeping for a state saved by another engine."""
    phase = int(S[MT, M_PHASE])
    n = int(S[MT, 0])
    cur = int(S[MT, M_CUR])
    frm = -1
    frm_key = "chainCapturePosition"
    for key in ("chainCapturePosition", "mustMoveFromStackKey"):
        v = d.get(key)
        if v is None:
            continue
        frm = spec.cell_of_key(v, key) if isinstance(v, str) else spec.cell_of_pos(v, key)
        frm_key = key
    if frm >= 0 and (S[H, frm] == 0 or S[CT, frm] != cur):
        raise ValueError(f"{frm_key}: no stack of player {cur} at {spec.cell_key(frm)}")
    S[MT, M_FROM] = frm
    for key in ("pendingLineRewardElimination", "pendingTerritoryElimination"):
        if d.get(key) is not None and not isinstance(d[key], bool):
            raise ValueError(f"{key}: expected true or false, got {show(d[key])}")
    if d.get("pendingLineRewardElimination"):
        S[MT, M_PENDING] = PEND_LINE_ELIM
    elif d.get("pendingTerritoryElimination"):
        S[MT, M_PENDING] = PEND_TERR_ELIM
    # Past the movement step the player has acted (moved or captured) in this turn.
    S[MT, M_ACTED] = 1 if phase in (PH_CAPTURE, PH_CHAIN_CAPTURE, PH_LINE, PH_TERRITORY) else 0
    # The pie rule is open exactly while seat 2 has not yet played and seat 1 has.
    if S[MT, M_SWAP_ON] and n == 2:
        untouched = lambda p: (  # noqa: E731
            S[MT, M_HAND + p - 1] == spec.rings_per_player
            and S[MT, M_ELIM + p - 1] == 0
            and S[MT, M_TERR + p - 1] == 0
            and not np.any(S[MK, : spec.n_cells] == p)
        )
        if untouched(1) and untouched(2) and cur == 1:
            S[MT, M_SWAP_AVAIL] = 1
        elif untouched(2) and not untouched(1) and cur == 2 and phase in (PH_RING_PLACEMENT, PH_MOVEMENT):
            S[MT, M_SWAP_AVAIL] = 2
    _load_lps_fields(S, d, n, cur)


def _player_field(d: dict, key: str, n: int) -> int:
    """A player number or null (0) from a RingRift state field."""
    v = d.get(key)
    if v is None:
        return 0
    if not is_int(v) or not 1 <= v <= n:
        raise ValueError(f"{key}: expected a player number 1..{n} or null, got {show(v)}")
    return int(v)


def _load_lps_fields(S, d: dict, n: int, cur: int) -> None:
    """Last-player-standing round state from RingRift's ``lps*`` fields.

    Without them (or with no round open) tracking starts at the next turn start, as
    RingRift's engine does for a game it has just set up; with a round open, the
    loaded turn is taken as already counted."""
    anchor = _player_field(d, "lpsCurrentRoundFirstPlayer", n)
    leader = _player_field(d, "lpsConsecutiveExclusivePlayer", n)
    streak = _int(d, "lpsConsecutiveExclusiveRounds", "lpsConsecutiveExclusiveRounds", 0, lo=0)
    mask_obj = d.get("lpsCurrentRoundActorMask")
    if mask_obj is None:
        mask_obj = {}
    if not isinstance(mask_obj, dict):
        raise ValueError("lpsCurrentRoundActorMask: expected an object of player number -> true/false")
    seats = {str(p): p for p in range(1, n + 1)}  # canonical keys only: "1", not "01"
    mask = 0
    for k, v in mask_obj.items():
        p = seats.get(k) if type(k) is str else None
        if p is None or not isinstance(v, bool):
            raise ValueError(
                f"lpsCurrentRoundActorMask[{show(k)}]: expected player 1..{n} mapped to true or false"
            )
        if v:
            mask |= 1 << (p - 1)
    if streak and not leader:
        raise ValueError("lpsConsecutiveExclusiveRounds: a streak needs lpsConsecutiveExclusivePlayer")
    S[MT, M_LPS_ANCHOR] = anchor
    S[MT, M_LPS_LAST] = cur if anchor else 0
    S[MT, M_LPS_MASK] = mask
    S[MT, M_LPS_STREAK] = streak
    S[MT, M_LPS_LEADER] = leader if streak else 0
    S[MT, M_LPS_EXCL] = _player_field(d, "lpsExclusivePlayerForCompletedRound", n)


def state_to_json(state) -> dict:
    """The contract-vector form of a ``GameState``."""
    spec = state.spec
    S = state.S
    n = state.num_players
    stacks = {}
    cells = np.nonzero(S[H, : spec.n_cells])[0]
    # Oldest stack first, so that a reload keeps the order (recovery costs depend on it).
    for c in cells[np.argsort(S[AGE, cells], kind="stable")]:
        c = int(c)
        h, bits = int(S[H, c]), int(S[RG, c])
        stacks[spec.cell_key(c)] = {
            "position": spec.cell_pos(c),
            "rings": [((bits >> (2 * i)) & 3) + 1 for i in range(h)],
            "stackHeight": h,
            "capHeight": int(S[CP, c]),
            "controllingPlayer": int(S[CT, c]),
        }
    markers = {
        spec.cell_key(int(c)): {"position": spec.cell_pos(int(c)), "player": int(S[MK, c]), "type": "regular"}
        for c in np.nonzero(S[MK, : spec.n_cells])[0]
    }
    collapsed = {spec.cell_key(int(c)): int(S[CL, c]) for c in np.nonzero(S[CL, : spec.n_cells])[0]}
    players = [
        {
            "playerNumber": p,
            "ringsInHand": int(S[MT, M_HAND + p - 1]),
            "eliminatedRings": int(S[MT, M_ELIM + p - 1]),
            "territorySpaces": int(S[MT, M_TERR + p - 1]),
            "isActive": bool(S[MT, M_HAND + p - 1] > 0 or S[MT, M_ONB + p - 1] > 0),
        }
        for p in range(1, n + 1)
    ]
    out = {
        "boardType": spec.name,
        "board": {
            "type": spec.name,
            "size": spec.size,
            "stacks": stacks,
            "markers": markers,
            "collapsedSpaces": collapsed,
            "eliminatedRings": {str(p): int(S[MT, M_ELIM + p - 1]) for p in range(1, n + 1)},
        },
        "players": players,
        "currentPlayer": state.current_player,
        "currentPhase": state.current_phase,
        "turnNumber": state.ply + 1,
        "moveHistory": [],
        "gameStatus": state.game_status,
        "winner": state.winner,
        "victoryReason": state.victory_reason,
        "victoryThreshold": int(S[MT, M_VTHRESH]),
        "territoryVictoryThreshold": int(S[MT, M_TERR_LEGACY]),
        "territoryVictoryMinimum": int(S[MT, M_TMIN]),
        "totalRingsEliminated": state.total_eliminated,
        "totalRingsInPlay": spec.rings_per_player * n,
        "rulesOptions": {k: v for k, v in read_options(S).items() if k != "lpsRoundsRequired"},
        "lpsRoundsRequired": int(S[MT, M_LPS_REQ]),
        "engineState": {name: int(S[MT, idx]) for name, idx in _ENGINE_FIELDS.items()},
    }
    out["engineState"]["eliminationTurn"] = [int(S[MT, M_ELIMTURN + i]) for i in range(n)]
    if state.is_over:
        out["ranks"] = {str(p): r for p, r in state.ranks.items()}
    frm = int(S[MT, M_FROM])
    if frm >= 0:
        key = "chainCapturePosition" if S[MT, M_PHASE] in (PH_CAPTURE, PH_CHAIN_CAPTURE) else "mustMoveFromStackKey"
        out[key] = spec.cell_key(frm) if key == "mustMoveFromStackKey" else spec.cell_pos(frm)
    if S[MT, M_PENDING] == PEND_LINE_ELIM:
        out["pendingLineRewardElimination"] = True
    elif S[MT, M_PENDING] == PEND_TERR_ELIM:
        out["pendingTerritoryElimination"] = True
    return out

