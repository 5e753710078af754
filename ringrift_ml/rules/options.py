"""Rules options: the switches a game is played under, validated in one place.

A game's options travel as RingRift's ``rulesOptions`` JSON object (camelCase keys)
and live in the scalar row of the state array, so the compiled kernels read them
without any Python in the loop.  Every option defaults to the canonical rule.

| key | values | canonical | what the other value does |
|---|---|---|---|
| ``swapRuleEnabled`` | bool | ``false`` | the two-player pie rule (``swap_sides``) |
| ``lpsRoundsRequired`` | int >= 1 | ``3`` | exclusive rounds for a last-player-standing win |
| ``placedStackMustMove`` | bool | ``true`` | after a placement any controlled stack may move |
| ``territoryRepresentation`` | ``"controllers"`` / ``"rings"`` | ``"controllers"`` | see below |
| ``lpsCountsRecovery`` | bool | ``false`` | an available recovery slide counts as a real action for LPS |
| ``autoAdvanceAfterLineElimination`` | bool | ``false`` | see below |
| ``captureCollapsesScoreTerritory`` | bool | ``true`` | own markers that a capture segment passes over still collapse, but the cells do not count towards the capturer's territory |

``territoryRepresentation`` decides which colours a region must lack to be
disconnected (RR-CANON-R142).  ``"controllers"``: the region's colours are the
players controlling a stack in it, and it must lack one of the colours that have a
ring anywhere on the board.  ``"rings"`` swaps the two sets: the region's colours are
the colours of every ring in it, buried ones included, and it must lack one of the
players that control a stack somewhere.

``autoAdvanceAfterLineElimination``: after the elimination that pays for a line, with
no line left the line phase closes without a ``no_line_action``, and with no region to
claim the turn ends there, as it does after a territory payment.

The non-canonical values are the rules of the engine that recorded RingRift's golden
games (:data:`GOLDEN_GAME_RULES`); ``docs/rules-engine.md`` gives the evidence.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import numpy as np

from ._check import INT_LIMIT, is_int, show
from ._layout import (
    M_CAPTURE_UNSCORED,
    M_FREE_MOVE,
    M_LINE_AUTO,
    M_LPS_NO_RECOVERY,
    M_LPS_REQ,
    M_SWAP_ON,
    M_TERR_REPR,
    MT,
)

CANONICAL_RULES: dict = {
    "swapRuleEnabled": False,
    "lpsRoundsRequired": 3,
    "placedStackMustMove": True,
    "territoryRepresentation": "controllers",
    "lpsCountsRecovery": False,
    "autoAdvanceAfterLineElimination": False,
    "captureCollapsesScoreTerritory": True,
}

# The rules under which RingRift's golden games were recorded (see docs/rules-engine.md,
# "The golden games' rules").  Pie rule and round count stay at their defaults.
GOLDEN_GAME_RULES: dict = {
    "placedStackMustMove": False,
    "territoryRepresentation": "rings",
    "autoAdvanceAfterLineElimination": True,
    "captureCollapsesScoreTerritory": False,
}

RULES_PROFILES: dict = {"canonical": {}, "golden": GOLDEN_GAME_RULES}

def profile_rules(name: str) -> dict:
    """The variant options of rules profile ``name``; ``ValueError`` for an unknown one."""
    if not isinstance(name, str) or name not in RULES_PROFILES:
        raise ValueError(f"rules profile: expected one of {sorted(RULES_PROFILES)}, got {show(name)}")
    return RULES_PROFILES[name]


# Options that set a game up rather than choose a rules variant: a rules profile
# leaves them as the game has them.
SETUP_OPTIONS = frozenset({"swapRuleEnabled", "lpsRoundsRequired"})

_REPRESENTATIONS = ("controllers", "rings")


def check_option(key: str, value: Any, field: str) -> None:
    """Raise ``ValueError`` naming ``field`` unless ``value`` suits option ``key``."""
    if key not in CANONICAL_RULES:
        raise ValueError(f"{field}: unknown rules option; known: {sorted(CANONICAL_RULES)}")
    if isinstance(CANONICAL_RULES[key], bool):
        if not isinstance(value, bool):
            raise ValueError(f"{field}: expected true or false, got {show(value)}")
    elif key == "lpsRoundsRequired":
        if not is_int(value) or not 1 <= value <= INT_LIMIT:
            raise ValueError(f"{field}: expected a positive integer, got {show(value)}")
    elif key == "territoryRepresentation":
        if value not in _REPRESENTATIONS:
            raise ValueError(f"{field}: expected one of {list(_REPRESENTATIONS)}, got {show(value)}")


def normalize_options(opts: Optional[Mapping[str, Any]], field: str = "rules_options") -> dict:
    """Every option with its value: defaults filled in, each given value checked.

    Raises ``ValueError`` naming the option and the reason for an unknown key or a
    value of the wrong kind."""
    if opts is None:
        opts = {}
    if not isinstance(opts, Mapping):
        raise ValueError(f"{field}: expected an object of rules options, got {type(opts).__name__}")
    unknown = set(opts) - set(CANONICAL_RULES)
    if unknown:
        raise ValueError(f"{field}: unknown option(s) {sorted(unknown, key=str)}; known: {sorted(CANONICAL_RULES)}")
    for key, value in opts.items():
        check_option(key, value, f"{field}.{key}")
    return {**CANONICAL_RULES, **opts}


def write_options(S: np.ndarray, opts: Mapping[str, Any]) -> None:
    """Store normalized options in the state array (the pie rule's availability is
    turn state, set by the caller)."""
    S[MT, M_SWAP_ON] = 1 if opts["swapRuleEnabled"] else 0
    S[MT, M_LPS_REQ] = opts["lpsRoundsRequired"]
    S[MT, M_FREE_MOVE] = 0 if opts["placedStackMustMove"] else 1
    S[MT, M_TERR_REPR] = _REPRESENTATIONS.index(opts["territoryRepresentation"])
    S[MT, M_LPS_NO_RECOVERY] = 0 if opts["lpsCountsRecovery"] else 1
    S[MT, M_LINE_AUTO] = 1 if opts["autoAdvanceAfterLineElimination"] else 0
    S[MT, M_CAPTURE_UNSCORED] = 0 if opts["captureCollapsesScoreTerritory"] else 1


def read_options(S: np.ndarray) -> dict:
    """The options a state array was set up with, as ``rulesOptions`` JSON."""
    return {
        "swapRuleEnabled": bool(S[MT, M_SWAP_ON]),
        "lpsRoundsRequired": int(S[MT, M_LPS_REQ]),
        "placedStackMustMove": not S[MT, M_FREE_MOVE],
        "territoryRepresentation": _REPRESENTATIONS[int(S[MT, M_TERR_REPR])],
        "lpsCountsRecovery": not S[MT, M_LPS_NO_RECOVERY],
        "autoAdvanceAfterLineElimination": bool(S[MT, M_LINE_AUTO]),
        "captureCollapsesScoreTerritory": not S[MT, M_CAPTURE_UNSCORED],
    }


def non_default(opts: Mapping[str, Any]) -> dict:
    """The options that differ from the canonical rules."""
    return {k: v for k, v in opts.items() if CANONICAL_RULES.get(k) != v}


def describe(opts: Mapping[str, Any]) -> str:
    """A short name for a set of options: the rules profile whose variants they match
    (set-up options aside), else the JSON of those that are not canonical."""
    variants = {k: v for k, v in non_default(opts).items() if k not in SETUP_OPTIONS}
    for name, profile in RULES_PROFILES.items():
        if variants == profile:
            return name
    return json.dumps(variants, sort_keys=True)


def check_player_count(opts: Mapping[str, Any], num_players: int, field: str = "rules_options.swapRuleEnabled") -> None:
    if opts["swapRuleEnabled"] and num_players != 2:
        raise ValueError(f"{field}: the pie rule exists only in 2-player games")


__all__ = [
    "CANONICAL_RULES",
    "GOLDEN_GAME_RULES",
    "RULES_PROFILES",
    "SETUP_OPTIONS",
    "check_option",
    "check_player_count",
    "describe",
    "non_default",
    "normalize_options",
    "profile_rules",
    "read_options",
    "write_options",
]
