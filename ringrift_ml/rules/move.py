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


def _pos(value, field: str) -> Optional[Pos]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{field}: expected a position object, got {value!r}")
    try:
        x, y = int(value["x"]), int(value["y"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{field}: position needs integer x and y, got {value!r}") from None
    z = value.get("z")
    if z is None:
        return (x, y)
    try:
        return (x, y, int(z))
    except (TypeError, ValueError):
        raise ValueError(f"{field}: z must be an integer, got {value!r}") from None


def _pos_json(p: Pos) -> dict:
    if len(p) == 3:
        return {"x": p[0], "y": p[1], "z": p[2]}
    return {"x": p[0], "y": p[1]}


def _pos_list(values, field: str) -> Optional[tuple]:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{field}: expected a list of positions, got {values!r}")
    return tuple(_pos(v, f"{field}[{i}]") for i, v in enumerate(values))


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
    """``norm_pos(_pos(v))`` for well-formed position JSON (no checks)."""
    x, y, z = v["x"], v["y"], v.get("z")
    if type(x) is not int or type(y) is not int or not (z is None or type(z) is int):
        raise TypeError("not a plain integer position")
    if is_hex:
        return (x, y, -x - y if z is None else z)
    return (x, y)


def json_move_key(d: Any, is_hex: bool) -> tuple:
    """``Move.from_json(d).key(is_hex)``, computed straight from the JSON for the
    common move types (comparing the legal-move lists of reference games decodes tens
    of thousands of moves); the rest, and anything unexpected, go through
    :meth:`Move.from_json`, which also raises its errors."""
    try:
        t = d["type"]
        p = d["player"]
        if type(p) is int:
            if t in NO_TARGET_TYPES:
                return (t, p)
            if t == "place_ring":
                c = d.get("placementCount")
                if c is None or type(c) is int:
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
        if self.type not in MOVE_TYPES:
            raise ValueError(f"type: unknown move type {self.type!r}")
        if not isinstance(self.player, int) or isinstance(self.player, bool) or not 1 <= self.player <= 4:
            raise ValueError(f"player: expected a player number 1-4, got {self.player!r}")
        if self.type in _NEEDS_TO and self.to is None:
            raise ValueError(f"to: a {self.type} move needs a destination position")
        if self.type in _NEEDS_FROM and self.from_ is None:
            raise ValueError(f"from: a {self.type} move needs an origin position")
        if self.type in ("overtaking_capture", "continue_capture_segment") and self.capture_target is None:
            raise ValueError(f"captureTarget: a {self.type} move needs the captured stack's position")
        if self.placement_count is not None and not 1 <= self.placement_count <= 3:
            raise ValueError(f"placementCount: must be 1-3, got {self.placement_count}")
        if self.recovery_mode is not None and self.recovery_mode not in _RECOVERY_MODES:
            raise ValueError(f"recoveryMode: expected one of {_RECOVERY_MODES}, got {self.recovery_mode!r}")
        if self.elimination_context is not None and self.elimination_context not in _ELIM_CONTEXTS:
            raise ValueError(
                f"eliminationContext: expected one of {_ELIM_CONTEXTS}, got {self.elimination_context!r}"
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
        """Parse a RingRift move object (conformance / record form)."""
        if not isinstance(d, dict):
            raise ValueError(f"move: expected an object, got {type(d).__name__}")
        t = d.get("type")
        if t not in MOVE_TYPES:
            raise ValueError(f"type: unknown move type {t!r}")
        player = d.get("player")
        if not isinstance(player, int) or isinstance(player, bool):
            raise ValueError(f"player: expected an integer player number, got {player!r}")
        to = None if t in NO_TARGET_TYPES else _pos(d.get("to"), "to")
        frm = _pos(d.get("from"), "from")
        line = None
        formed = d.get("formedLines")
        if formed:
            if not isinstance(formed, list) or not isinstance(formed[0], dict):
                raise ValueError("formedLines: expected a list of line objects")
            line = _pos_list(formed[0].get("positions"), "formedLines[0].positions")
        collapsed = _pos_list(d.get("collapsedMarkers"), "collapsedMarkers")
        if collapsed is None:
            collapsed = _pos_list(d.get("collapsePositions"), "collapsePositions")
        region = None
        regions = d.get("disconnectedRegions")
        if regions:
            if not isinstance(regions, list) or not isinstance(regions[0], dict):
                raise ValueError("disconnectedRegions: expected a list of region objects")
            region = _pos_list(regions[0].get("spaces"), "disconnectedRegions[0].spaces")
        count = d.get("placementCount")
        if t == "place_ring":
            count = 1 if count is None else count
            if not isinstance(count, int) or isinstance(count, bool):
                raise ValueError(f"placementCount: expected an integer, got {count!r}")
        else:
            count = None  # forced_elimination records carry a meaningless one
        elim_count = None
        er = d.get("eliminatedRings")
        if isinstance(er, list) and er and isinstance(er[0], dict):
            elim_count = er[0].get("count")
        ctx = d.get("eliminationContext") if t == "eliminate_rings_from_stack" else None
        option = d.get("recoveryOption", d.get("option")) if t == "recovery_slide" else None
        mode = d.get("recoveryMode") if t == "recovery_slide" else None
        ext = d.get("extractionStacks")
        if ext is None and d.get("extractionStack") is not None:
            ext = [d.get("extractionStack")]
        if ext is not None:
            if not isinstance(ext, list) or not all(isinstance(k, str) for k in ext):
                raise ValueError(f"extractionStacks: expected a list of position keys, got {ext!r}")
            ext = tuple(ext)
        return cls(
            type=t,
            player=player,
            to=to,
            from_=frm,
            capture_target=_pos(d.get("captureTarget"), "captureTarget"),
            placement_count=count,
            placed_on_stack=d.get("placedOnStack") if t == "place_ring" else None,
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
