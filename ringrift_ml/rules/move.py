"""The public :class:`Move` and its RingRift JSON form.

A ``Move`` is board-independent: positions are coordinate tuples ``(x, y)`` or
``(x, y, z)``.  Two moves are the same decision when their :meth:`Move.key` agree;
the key ignores what RingRift records carry only as decoration (placeholder ``to`` of
bookkeeping moves, ``phase`` echoes, ids, timestamps, the ``process_line`` /
``choose_line_option`` spelling of "collapse the whole line").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from ._check import INT_LIMIT, int_value, is_int, parse_key, show
from ._layout import MOVE_TYPE_NAMES

MOVE_TYPES = frozenset(MOVE_TYPE_NAMES)
# Moves that have no destination; RingRift records give them a placeholder ``to``.
NO_TARGET_TYPES = frozenset(
    {
        "skip_placement",
        "no_placement_action",
        "swap_sides",
        "skip_capture",
        "no_movement_action",
        "skip_recovery",
        "no_line_action",
        "skip_territory_processing",
        "no_territory_action",
    }
)
_NEEDS_TO = frozenset(
    {
        "place_ring",
        "move_stack",
        "overtaking_capture",
        "continue_capture_segment",
        "recovery_slide",
        "eliminate_rings_from_stack",
        "forced_elimination",
    }
)
_NEEDS_FROM = frozenset({"move_stack", "overtaking_capture", "continue_capture_segment", "recovery_slide"})
_RECOVERY_MODES = ("line", "fallback", "stack_strike")
_ELIM_CONTEXTS = ("line", "territory", "recovery")

Pos = tuple


def _is_plain_int(v) -> bool:
    """An ``int`` that is not a bool (what a constructed Move's integer fields hold;
    from_json converts numpy integers)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _coord(v, field: str, name: str, value) -> int:
    """One coordinate: a plain integer within ``±INT_LIMIT`` (no bool, float, str)."""
    if type(v) is int or is_int(v):
        if -INT_LIMIT <= v <= INT_LIMIT:
            return int(v)
        raise ValueError(f"{field}: coordinate {name} out of range, got {show(value)}")
    if name == "z":
        raise ValueError(f"{field}: z must be an integer, got {show(value)}")
    raise ValueError(f"{field}: position needs integer x and y, got {show(value)}")


def _pos(value, field: str) -> Optional[Pos]:
    """A position object ``{"x", "y"[, "z"]}`` as a tuple; ``None`` for null.

    x and y are required plain integers, z is optional (missing or null: a 2-tuple)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{field}: expected a position object, got {show(value)}")
    if "x" not in value or "y" not in value:
        raise ValueError(f"{field}: position needs integer x and y, got {show(value)}")
    x = _coord(value["x"], field, "x", value)
    y = _coord(value["y"], field, "y", value)
    z = value.get("z")
    if z is None:
        return (x, y)
    return (x, y, _coord(z, field, "z", value))


def _pos_json(p: Pos) -> dict:
    if len(p) == 3:
        return {"x": p[0], "y": p[1], "z": p[2]}
    return {"x": p[0], "y": p[1]}


def _pos_list(values, field: str) -> Optional[tuple]:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{field}: expected a list of positions, got {show(values)}")
    return tuple(_pos(v, f"{field}[{i}]") for i, v in enumerate(values))


def _objects(values, field: str, what: str) -> Optional[list]:
    """A list of objects (formedLines, disconnectedRegions, eliminatedRings); null is
    ``None``, an empty list stays empty."""
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise ValueError(f"{field}: expected a list of {what} objects, got {show(values)}")
    return values


def norm_pos(p: Optional[Pos], is_hex: bool) -> Optional[Pos]:
    """Complete a hex position's z (records sometimes omit it)."""
    if p is None:
        return None
    if is_hex and len(p) == 2:
        return (p[0], p[1], -p[0] - p[1])
    if not is_hex and len(p) == 3:
        return (p[0], p[1])
    return p


def _key_pos(v, is_hex: bool):
    """``norm_pos(_pos(v))`` for plain position JSON; ``TypeError`` for anything else
    (the caller then takes the checking path)."""
    if type(v) is not dict:
        raise TypeError("not a position object")
    x, y, z = v["x"], v["y"], v.get("z")
    if type(x) is not int or type(y) is not int or not (z is None or type(z) is int):
        raise TypeError("not a plain integer position")
    if not (-INT_LIMIT <= x <= INT_LIMIT and -INT_LIMIT <= y <= INT_LIMIT) or (
        z is not None and not -INT_LIMIT <= z <= INT_LIMIT
    ):
        raise TypeError("coordinate out of range")
    if is_hex:
        return (x, y, -x - y if z is None else z)
    return (x, y)


# Fields that Move.from_json reads, and checks, for a move of any type.
_COMMON_FIELDS = frozenset(
    {
        "from",
        "captureTarget",
        "formedLines",
        "collapsedMarkers",
        "collapsePositions",
        "disconnectedRegions",
        "eliminatedRings",
        "extractionStacks",
        "extractionStack",
    }
)
# Per move type, the fields from_json checks that the fast paths (json_move_key here,
# replay._quick_fields) do not check themselves: when one is present and not null, a
# fast path must hand the move to from_json, so that it never accepts a move that
# from_json rejects.
_UNCHECKED_BY_FAST_PATH = {t: _COMMON_FIELDS for t in MOVE_TYPES}
_UNCHECKED_BY_FAST_PATH["move_stack"] = _COMMON_FIELDS - {"from"}
_UNCHECKED_BY_FAST_PATH["overtaking_capture"] = _COMMON_FIELDS - {"from", "captureTarget"}
_UNCHECKED_BY_FAST_PATH["continue_capture_segment"] = _COMMON_FIELDS - {"from", "captureTarget"}


def fast_path_ok(d: dict, t: str) -> bool:
    """True when move JSON ``d`` of type ``t`` carries none of the fields that a fast
    path leaves to :meth:`Move.from_json` (or carries them as null)."""
    extra = _UNCHECKED_BY_FAST_PATH[t]
    if extra.isdisjoint(d.keys()):
        return True
    return all(d[k] is None for k in extra if k in d)


def fast_place_fields_ok(d: dict) -> bool:
    """The place_ring fields a fast path does not look at otherwise are well-formed
    (``placedOnStack`` null or a bool)."""
    ps = d.get("placedOnStack")
    return ps is None or type(ps) is bool


def json_move_key(d: Any, is_hex: bool) -> tuple:
    """``Move.from_json(d).key(is_hex)``, computed straight from the JSON for the
    common move types (comparing the legal-move lists of reference games decodes tens
    of thousands of moves); the rest, and anything unexpected, go through
    :meth:`Move.from_json`, which also raises its errors.  The shortcut takes only
    what from_json accepts: plain ints, players 1-4, counts 1-3, and no other checked
    field present (see :func:`fast_path_ok`)."""
    if type(d) is not dict:
        return Move.from_json(d).key(is_hex)  # raises its ValueError
    try:
        t = d["type"]
        p = d["player"]
        if type(t) is str and type(p) is int and 1 <= p <= 4 and t in MOVE_TYPES and fast_path_ok(d, t):
            if t in NO_TARGET_TYPES:
                return (t, p)
            if t == "place_ring":
                c = d.get("placementCount")
                if (c is None or (type(c) is int and 1 <= c <= 3)) and fast_place_fields_ok(d):
                    return (t, p, _key_pos(d["to"], is_hex), c or 1)
            elif t == "move_stack":
                return (t, p, _key_pos(d["from"], is_hex), _key_pos(d["to"], is_hex))
            elif t in ("overtaking_capture", "continue_capture_segment"):
                return (t, p, _key_pos(d["from"], is_hex), _key_pos(d["to"], is_hex),
                        _key_pos(d["captureTarget"], is_hex))
            elif t == "forced_elimination":
                return (t, p, _key_pos(d["to"], is_hex))
    except (KeyError, TypeError, AttributeError):
        pass
    return Move.from_json(d).key(is_hex)


@dataclasses.dataclass(frozen=True)
class Move:
    """One RingRift move.  Build moves with :meth:`from_json` or take them from
    ``legal_moves``; optional fields are ``None`` when they do not apply."""

    type: str
    player: int
    to: Optional[Pos] = None
    from_: Optional[Pos] = None
    capture_target: Optional[Pos] = None
    placement_count: Optional[int] = None
    placed_on_stack: Optional[bool] = None
    line: Optional[tuple] = None  # positions of the formed line, in order
    collapsed: Optional[tuple] = None  # markers collapsed (choose_line_option, recovery)
    region: Optional[tuple] = None  # cells of the claimed region
    elimination_context: Optional[str] = None
    eliminated_count: Optional[int] = None
    recovery_mode: Optional[str] = None
    recovery_option: Optional[int] = None
    extraction_stacks: Optional[tuple] = None  # position keys "x,y"

    def __post_init__(self):
        if type(self.type) is not str or self.type not in MOVE_TYPES:
            raise ValueError(f"type: unknown move type {show(self.type)}")
        if not _is_plain_int(self.player) or not 1 <= self.player <= 4:
            raise ValueError(f"player: expected a player number 1-4, got {show(self.player)}")
        if self.type in _NEEDS_TO and self.to is None:
            raise ValueError(f"to: a {self.type} move needs a destination position")
        if self.type in _NEEDS_FROM and self.from_ is None:
            raise ValueError(f"from: a {self.type} move needs an origin position")
        if self.type in ("overtaking_capture", "continue_capture_segment") and self.capture_target is None:
            raise ValueError(f"captureTarget: a {self.type} move needs the captured stack's position")
        count = self.placement_count
        if count is not None and (not _is_plain_int(count) or not 1 <= count <= 3):
            raise ValueError(f"placementCount: must be 1-3, got {show(self.placement_count)}")
        if self.recovery_mode is not None and self.recovery_mode not in _RECOVERY_MODES:
            raise ValueError(
                f"recoveryMode: expected one of {_RECOVERY_MODES}, got {show(self.recovery_mode)}"
            )
        option = self.recovery_option
        if option is not None and (not _is_plain_int(option) or not 1 <= option <= 2):
            raise ValueError(f"recoveryOption: expected 1 or 2, got {show(self.recovery_option)}")
        if self.elimination_context is not None and self.elimination_context not in _ELIM_CONTEXTS:
            raise ValueError(
                f"eliminationContext: expected one of {_ELIM_CONTEXTS}, got {show(self.elimination_context)}"
            )

    @classmethod
    def _unchecked(cls, type: str, player: int, **fields) -> "Move":
        """A move decoded by the engine from one of its own legal rows: the fields are
        valid by construction, so the checks of ``__post_init__`` are skipped (the
        public API decodes every legal move, which made them the dominant cost)."""
        m = object.__new__(cls)
        d = m.__dict__
        d.update(_DEFAULTS)
        d["type"] = type
        d["player"] = player
        d.update(fields)
        return m

    # ---- identity ---------------------------------------------------------------
    def key(self, is_hex: Optional[bool] = None) -> tuple:
        """Canonical identity of the decision (see module docstring)."""
        t = self.type
        if is_hex is None:
            is_hex = any(p is not None and len(p) == 3 for p in (self.to, self.from_))
        n = lambda p: norm_pos(p, is_hex)  # noqa: E731
        if t in NO_TARGET_TYPES:
            return (t, self.player)
        if t == "place_ring":
            return (t, self.player, n(self.to), self.placement_count or 1)
        if t == "move_stack":
            return (t, self.player, n(self.from_), n(self.to))
        if t in ("overtaking_capture", "continue_capture_segment"):
            return (t, self.player, n(self.from_), n(self.to), n(self.capture_target))
        if t in ("process_line", "choose_line_option"):
            line = frozenset(n(p) for p in (self.line or ()))
            part = frozenset(n(p) for p in self.collapsed) if self.collapsed else line
            # "Collapse the whole line" is one decision under either name.
            kind = "line_all" if part == line else "line_part"
            return (kind, self.player, line, part)
        if t == "choose_territory_option":
            return (t, self.player, frozenset(n(p) for p in (self.region or ())))
        if t == "eliminate_rings_from_stack":
            return (t, self.player, n(self.to), self.elimination_context)
        if t == "forced_elimination":
            return (t, self.player, n(self.to))
        if t == "recovery_slide":
            part = frozenset(n(p) for p in self.collapsed) if self.collapsed and self.recovery_option == 2 else None
            ext = tuple(self.extraction_stacks) if self.extraction_stacks else None
            return (t, self.player, n(self.from_), n(self.to), self.recovery_mode, self.recovery_option, part, ext)
        raise AssertionError(t)

    # ---- JSON ---------------------------------------------------------------------
    @classmethod
    def from_json(cls, d: Any) -> "Move":
        """Parse a RingRift move object (conformance / record form).

        Strict: a malformed field raises ``ValueError`` naming it.  Integers (player,
        coordinates, counts, options) must be plain integers (bools, floats such as
        ``2.0`` and numeric strings are rejected); a position's z may be missing or
        null.  Fields that do not apply to the move's type (the placeholder ``to`` of
        moves without a target, the ``placementCount`` RingRift writes on forced
        eliminations, ...) are ignored, as are fields this parser does not read
        (ids, timestamps, ``phase``)."""
        if not isinstance(d, dict):
            raise ValueError(f"move: expected an object, got {type(d).__name__}")
        t = d.get("type")
        if type(t) is not str or t not in MOVE_TYPES:
            raise ValueError(f"type: unknown move type {show(t)}")
        player = d.get("player")
        if not is_int(player):
            raise ValueError(f"player: expected an integer player number, got {show(player)}")
        player = int(player)  # its range is checked by __post_init__
        to = None if t in NO_TARGET_TYPES else _pos(d.get("to"), "to")
        frm = _pos(d.get("from"), "from")
        capture_target = _pos(d.get("captureTarget"), "captureTarget")
        formed = _objects(d.get("formedLines"), "formedLines", "line")
        line = _pos_list(formed[0].get("positions"), "formedLines[0].positions") if formed else None
        collapsed = _pos_list(d.get("collapsedMarkers"), "collapsedMarkers")
        if collapsed is None:
            collapsed = _pos_list(d.get("collapsePositions"), "collapsePositions")
        regions = _objects(d.get("disconnectedRegions"), "disconnectedRegions", "region")
        region = _pos_list(regions[0].get("spaces"), "disconnectedRegions[0].spaces") if regions else None
        count = placed = None
        if t == "place_ring":
            count = d.get("placementCount")
            if count is None:
                count = 1
            elif not is_int(count):
                raise ValueError(f"placementCount: expected an integer 1-3, got {show(count)}")
            count = int(count)  # its range is checked by __post_init__
            placed = d.get("placedOnStack")
            if placed is not None and not isinstance(placed, bool):
                raise ValueError(f"placedOnStack: expected true or false, got {show(placed)}")
        # (forced_elimination records carry a meaningless placementCount: ignored)
        elim_count = None
        er = _objects(d.get("eliminatedRings"), "eliminatedRings", "elimination")
        if er and er[0].get("count") is not None:
            elim_count = int_value(er[0]["count"], "eliminatedRings[0].count", 1)
        ctx = mode = option = None
        if t == "eliminate_rings_from_stack":
            ctx = d.get("eliminationContext")
        if t == "recovery_slide":
            mode = d.get("recoveryMode")
            name = "recoveryOption" if "recoveryOption" in d else "option"
            option = d.get(name)
            if option is not None:
                if not is_int(option):
                    raise ValueError(f"{name}: expected 1 or 2, got {show(option)}")
                option = int(option)
                if not 1 <= option <= 2:
                    raise ValueError(f"{name}: expected 1 or 2, got {option}")
        ext = d.get("extractionStacks")
        ext_field = "extractionStacks"
        if ext is None and d.get("extractionStack") is not None:
            ext = [d.get("extractionStack")]
            ext_field = "extractionStack"
        if ext is not None:
            if not isinstance(ext, list):
                raise ValueError(f"{ext_field}: expected a list of position keys, got {show(ext)}")
            for i, k in enumerate(ext):
                parse_key(k, ext_field if ext_field == "extractionStack" else f"{ext_field}[{i}]")
            ext = tuple(ext)
        return cls(
            type=t,
            player=player,
            to=to,
            from_=frm,
            capture_target=capture_target,
            placement_count=count,
            placed_on_stack=placed,
            line=line,
            collapsed=collapsed,
            region=region,
            elimination_context=ctx,
            eliminated_count=elim_count,
            recovery_mode=mode,
            recovery_option=option,
            extraction_stacks=ext,
        )

    def to_json(self) -> dict:
        """RingRift move JSON (no placeholder ``to`` for moves without a target)."""
        d: dict = {"type": self.type, "player": self.player}
        if self.from_ is not None:
            d["from"] = _pos_json(self.from_)
        if self.to is not None:
            d["to"] = _pos_json(self.to)
        if self.capture_target is not None:
            d["captureTarget"] = _pos_json(self.capture_target)
        if self.type == "place_ring":
            d["placementCount"] = self.placement_count or 1
            d["placedOnStack"] = bool(self.placed_on_stack)
        if self.line is not None:
            d["formedLines"] = [
                {
                    "positions": [_pos_json(p) for p in self.line],
                    "player": self.player,
                    "length": len(self.line),
                }
            ]
        if self.collapsed is not None:
            d["collapsedMarkers"] = [_pos_json(p) for p in self.collapsed]
        if self.region is not None:
            d["disconnectedRegions"] = [
                {
                    "spaces": [_pos_json(p) for p in self.region],
                    "controllingPlayer": self.player,
                    "isDisconnected": True,
                }
            ]
        if self.elimination_context is not None:
            d["eliminationContext"] = self.elimination_context
        if self.eliminated_count is not None:
            d["eliminatedRings"] = [{"player": self.player, "count": self.eliminated_count}]
        if self.recovery_mode is not None:
            d["recoveryMode"] = self.recovery_mode
        if self.recovery_option is not None:
            d["recoveryOption"] = self.recovery_option
        if self.extraction_stacks is not None:
            d["extractionStacks"] = list(self.extraction_stacks)
        return d

    def __str__(self) -> str:
        parts = [self.type, f"p{self.player}"]
        if self.from_ is not None:
            parts.append("from " + ",".join(map(str, self.from_)))
        if self.to is not None:
            parts.append("to " + ",".join(map(str, self.to)))
        if self.capture_target is not None:
            parts.append("over " + ",".join(map(str, self.capture_target)))
        if self.placement_count and self.placement_count > 1:
            parts.append(f"x{self.placement_count}")
        return " ".join(parts)


_DEFAULTS = {f.name: None for f in dataclasses.fields(Move)}
