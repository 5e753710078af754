"""Match games kept as training data.

The gate's games (candidate against the best) and the ladder's games of a promoted
generation are played by searching players at the loop's budget: their decisions carry
the same search targets as selfplay.  Kept in the lake under their own label, they join
the next generation's sample set (which takes every merged game no earlier set holds),
so the CPU of those matches also makes training positions.
"""

from __future__ import annotations

from typing import Callable

from ..lake import LakeStore


def keep_match_games(store: LakeStore, board: str, players: int, label: str, a_spec: str, b_spec: str,
                     played: list, searched_only: bool = False, log: Callable[[str], None] = print) -> dict:
    """Write a match's games as game records (label ``label``) into the lake, merged.

    ``played``: ``(played_game, a_seat)`` pairs of ``arena.match`` (``a_spec`` in seat
    ``a_seat``, ``b_spec`` in the others).  ``searched_only``: moves no search chose (a
    random opening decision, a move of a player that does not search) are no training
    positions (``selfplay.played_record``).  Ids are content hashes: a match replayed
    after a kill adds nothing twice.  Returns ``write_generated``'s counts."""
    from ..arena.match import MAX_MOVES
    from ..lake.generated import write_generated
    from ..lake.merge import merge_partition
    from ..selfplay import SelfplayConfig, TemperatureSchedule, generator_config, played_record

    configs: dict = {}
    records = []
    for pg, seat in played:
        specs = [b_spec] * players
        specs[seat - 1] = a_spec
        key = tuple(specs)
        if key not in configs:
            sc = SelfplayConfig(board=board, players=key, games=1, max_moves=MAX_MOVES,
                                temperature=TemperatureSchedule(0, 0.0, 0.0), label=label)
            configs[key] = (sc, generator_config(sc))
        sc, conf = configs[key]
        records.append(played_record(sc, pg, conf, searched_only=searched_only))
    out = write_generated(store, records, run_id=label)
    merge_partition(store, board, players, run_id=label)
    log(f"{board}|{players}: kept {len(records)} games of {label} as training data ({out['games']} new)")
    return out


__all__ = ["keep_match_games"]
