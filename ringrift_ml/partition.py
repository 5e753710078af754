"""What a partition is: one board x player count.

The pipeline is partitioned by board x player count (12 partitions).  A
:class:`Partition` is the one value that names one: its key (``"square8|2"``, the
Dagster multi-partition key and the command line's ``--partition``), its file stem
(``"square8_2p"``) and its label.  Nothing else parses ``"board|n"`` or spells
``f"{board}_{n}p"``.  It sits just above the rules so every layer (training, the lake,
the loop, the assets) can name a partition.
"""

from __future__ import annotations

import dataclasses

from .rules.boards import BOARD_TYPES

PLAYER_COUNTS = (2, 3, 4)


@dataclasses.dataclass(frozen=True, order=True)
class Partition:
    """One board x player-count partition (validated on construction)."""

    board: str
    players: int

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"partition board: expected one of {', '.join(BOARD_TYPES)}, got {self.board!r}")
        if isinstance(self.players, bool) or not isinstance(self.players, int) or self.players not in PLAYER_COUNTS:
            raise ValueError(f"partition players: expected one of {PLAYER_COUNTS}, got {self.players!r}")

    @classmethod
    def parse(cls, key: str) -> "Partition":
        """The partition of a key ``"<board>|<players>"`` (as Dagster and the CLI write it)."""
        board, sep, n = str(key).partition("|")
        if not sep or not n.strip().isdigit():
            raise ValueError(f"partition {key!r}: expected '<board>|<players>', e.g. 'square8|2'")
        return cls(board.strip(), int(n))

    @classmethod
    def all(cls) -> tuple:
        """The 12 partitions, boards in rules order, then player counts."""
        return tuple(cls(b, n) for b in BOARD_TYPES for n in PLAYER_COUNTS)

    @property
    def key(self) -> str:
        return f"{self.board}|{self.players}"

    @property
    def stem(self) -> str:
        """The file-name form: ``square8_2p``."""
        return f"{self.board}_{self.players}p"

    @property
    def label(self) -> str:
        """The human form: ``square8 2p``."""
        return f"{self.board} {self.players}p"

    def __str__(self) -> str:
        return self.key


__all__ = ["PLAYER_COUNTS", "Partition"]
