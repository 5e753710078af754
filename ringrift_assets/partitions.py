"""The one partitioning of the pipeline: board x player count (12 partitions).

A partition is :class:`ringrift_ml.lake.layout.Partition`; this module only gives it
its Dagster form (the multi-partition definition and keys)."""

from __future__ import annotations

import warnings

import dagster as dg

from ringrift_ml.lake.layout import PLAYER_COUNTS as _COUNTS
from ringrift_ml.lake.layout import Partition
from ringrift_ml.rules.boards import BOARD_TYPES

# The blocking checks are partitioned like their assets, so each partition has its own
# check status; Dagster marks partitioned checks as a preview feature and warns on every
# definition load.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

BOARDS = BOARD_TYPES
PLAYER_COUNTS = tuple(str(n) for n in _COUNTS)

board_players = dg.MultiPartitionsDefinition(
    {
        "board": dg.StaticPartitionsDefinition(list(BOARDS)),
        "players": dg.StaticPartitionsDefinition(list(PLAYER_COUNTS)),
    }
)


def partition_key(p: Partition) -> dg.MultiPartitionKey:
    """The key Dagster uses for a partition: dimensions ordered by name, joined by ``|``
    (so its string is ``p.key``)."""
    return dg.MultiPartitionKey({"board": p.board, "players": str(p.players)})


def partition_of(context) -> Partition:
    """The partition an asset, an asset check or a run request is for."""
    return Partition.parse(str(context.partition_key))


def split_key(context) -> tuple:
    """``(board, players)`` of the partition an asset or asset check runs for."""
    p = partition_of(context)
    return p.board, p.players
