"""Small constructed positions for tests, in RingRift's serialized state form."""

from ringrift_ml.rules import GameState


def position(board="square8", stacks=None, markers=None, collapsed=None, *, player=1, phase="movement",
             hands=(0, 0), eliminated=None, rules_options=None, **fields) -> GameState:
    """A position on ``board`` with one player per entry of ``hands``.

    ``stacks`` maps cell keys to ring lists (bottom ring first), ``markers`` and
    ``collapsed`` map cell keys to their owner; ``eliminated`` gives each player's
    eliminated-ring counter; ``fields`` are further top-level state fields."""
    eliminated = eliminated or (0,) * len(hands)
    return GameState.from_json(
        {
            "board": {
                "type": board,
                "stacks": {k: {"rings": r} for k, r in (stacks or {}).items()},
                "markers": {k: {"player": p} for k, p in (markers or {}).items()},
                "collapsedSpaces": dict(collapsed or {}),
            },
            "players": [
                {"playerNumber": p, "ringsInHand": hands[p - 1], "eliminatedRings": eliminated[p - 1],
                 "territorySpaces": 0}
                for p in range(1, len(hands) + 1)
            ],
            "currentPlayer": player,
            "currentPhase": phase,
            "gameStatus": "active",
            **fields,
        },
        rules_options=rules_options,
    )
