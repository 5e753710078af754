"""Lake fixtures: every lake test runs on the embedded SQLite catalog and, when
``RINGRIFT_TEST_POSTGRES`` names a PostgreSQL database (``.ci/run`` starts one), on a
PostgreSQL catalog too, each test in a schema of its own."""

import json
import os
import uuid

import pytest

from ringrift_ml.lake import LakeStore
from ringrift_ml.lake.store import drop_postgres_schema
from ringrift_ml.rules import new_game
from ringrift_ml.rules.fast import FastGame, playout
from ringrift_ml.rules.records import make_record

POSTGRES = os.environ.get("RINGRIFT_TEST_POSTGRES")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def catalog(request):
    """``(catalog, schema)`` of one backend; a PostgreSQL test's schema is dropped after
    it, passed or failed."""
    if request.param == "postgres":
        if not POSTGRES:
            pytest.skip("RINGRIFT_TEST_POSTGRES is not set (.ci/run starts PostgreSQL and sets it)")
        cat, schema = f"postgres:{POSTGRES}", f"t_{uuid.uuid4().hex[:12]}"
        yield cat, schema
        drop_postgres_schema(cat, schema)
        return
    yield "sqlite", None


@pytest.fixture
def store(tmp_path, catalog):
    return LakeStore.open(tmp_path / "root", *catalog)


def random_records(n, seed=1, board="square8", players=2, prefix="g"):
    """``n`` finished random games as this project's records (ids ``<prefix><seed>``)."""
    start = new_game(board, players)
    out = []
    for i in range(n):
        final, _, _, rows = playout(start, seed + i, record_moves=True)
        g = FastGame(start)
        moves = []
        for r in rows:
            moves.append(g.move(r))
            g.apply(r)
        out.append(make_record(moves, final, game_id=f"{prefix}{seed + i}", board_type=board, num_players=players,
                               seed=seed + i))
    return out


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
