"""Small sample sets of every configuration, from random games (cached per session)."""

import functools

import numpy as np
import pyarrow as pa
import pytest

from ringrift_ml.nn.augment import symmetry_perms
from ringrift_ml.nn.samples import SAMPLE_SCHEMA, game_samples
from ringrift_ml.selfplay import SelfplayConfig, play_one
from ringrift_ml.train.dataset import from_table

CONFIGS = [(b, n) for b in ("square8", "hex8", "square19", "hexagonal") for n in (2, 3, 4)]
CONFIG_IDS = [f"{b}-{n}p" for b, n in CONFIGS]
SMALL = ("square8", "hex8")


@functools.lru_cache(maxsize=None)
def samples_for(board: str, n: int, games: int = 3, per_game: int = 24, player: str = "random"):
    """``per_game`` positions from each of ``games`` random games; symmetry tables on
    the small boards (on the big ones they cost more than the test is worth)."""
    rows = []
    cfg = SelfplayConfig(board=board, players=(player,) * n, games=games, seed=7)
    for i in range(games):
        rec = play_one(cfg, i)
        rows.extend(game_samples(rec, symmetries=board in SMALL)[:per_game])
    table = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    return from_table(table, board, sym_perms=symmetry_perms(board) if board in SMALL else None)


@pytest.fixture
def square8_data():
    return samples_for("square8", 2)


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
