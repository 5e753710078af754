"""The one partitioning of the pipeline: board x player count (12 partitions)."""

from __future__ import annotations

import warnings

import dagster as dg

# The blocking checks are partitioned like their assets, so each partition has its own
# check status; Dagster marks partitioned checks as a preview feature and warns on every
# definition load.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

BOARDS = ("square8", "square19", "hex8", "hexagonal")
PLAYER_COUNTS = ("2", "3", "4")

board_players = dg.MultiPartitionsDefinition(
    {
        "board": dg.StaticPartitionsDefinition(list(BOARDS)),
        "players": dg.StaticPartitionsDefinition(list(PLAYER_COUNTS)),
    }
)


def partition_key(board: str, players: int) -> str:
    """The key Dagster uses for a partition: dimensions ordered by name, joined by ``|``."""
    return dg.MultiPartitionKey({"board": board, "players": str(players)})


def split_key(context) -> tuple:
    """``(board, players)`` of the partition an asset or asset check runs for.

    Multi-partition keys read ``board|players`` (dimensions ordered by name), which
    holds for both context kinds, so the key string is parsed directly."""
    board, players = str(context.partition_key).split("|")
    return board, int(players)
