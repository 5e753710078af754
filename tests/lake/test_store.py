"""The store: catalog backends, paths, moved and copied roots, packaging, identity."""

import importlib.resources
import shutil

import pytest

from ringrift_ml.lake import LakeError, LakeStore, connect
from ringrift_ml.lake.generated import write_generated
from ringrift_ml.lake.merge import id_conflicts, merge_partition, sql
from ringrift_ml.lake.records import game_id_for
from ringrift_ml.selfplay import SelfplayConfig, generator_config, run_selfplay

from .conftest import random_records


def _count(store, table="games"):
    return store.query(f"SELECT count(*) AS n FROM lake.{table}").to_pylist()[0]["n"]


def test_bad_catalog_is_refused_naming_it(tmp_path):
    with pytest.raises(LakeError, match="catalog: expected 'sqlite' or 'postgres:"):
        LakeStore.open(tmp_path, "mysql:x")


def test_a_root_whose_path_has_glob_characters(tmp_path, catalog):
    root = tmp_path / "odd [1] *?" / "root"
    store = LakeStore.open(root, *catalog)
    write_generated(store, random_records(2), run_id="r")
    assert _count(store) == 2 and merge_partition(store, "square8", 2)["rows_out"] == 2


def test_a_moved_root_reads_its_own_data_and_a_copy_is_independent(tmp_path):
    from ringrift_ml.lake.landing import ingest_all

    from .conftest import write_jsonl

    a = LakeStore.open(tmp_path / "a")
    write_jsonl(a.root / "landing" / "x.jsonl", random_records(3))
    ingest_all(a, settle=0.05)  # landed games are Parquet files under the root
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.move(tmp_path / "a", tmp_path / "moved")
    moved, copy = LakeStore.open(tmp_path / "moved"), LakeStore.open(tmp_path / "b")
    assert _count(moved) == 3 and _count(copy) == 3
    write_generated(copy, random_records(2, seed=50), run_id="r2")
    assert _count(copy) == 5 and _count(moved) == 3
    for store, where in ((copy, "b"), (moved, "moved")):
        paths = store.query("SELECT data_file FROM ducklake_list_files('lake', 'games')").to_pylist()
        assert paths and all(p["data_file"].startswith(str(tmp_path / where)) for p in paths)


def test_the_lake_id_is_fixed_at_creation_and_tells_lakes_apart(tmp_path, catalog):
    a = LakeStore.open(tmp_path / "a", *catalog)
    lake_id = a.lake_id
    assert len(lake_id) == 36 and LakeStore.open(tmp_path / "a", *catalog).lake_id == lake_id
    assert a.query("SELECT count(*) AS n FROM lake.lake_info").to_pylist() == [{"n": 1}]
    if catalog[0] == "sqlite":
        other = LakeStore.open(tmp_path / "b").lake_id
    else:  # another schema of the same database is another lake
        import uuid

        from ringrift_ml.lake.store import drop_postgres_schema

        schema = f"t_{uuid.uuid4().hex[:12]}"
        other = LakeStore.open(tmp_path / "b", catalog[0], schema).lake_id
        drop_postgres_schema(catalog[0], schema)
    assert other and other != lake_id


def test_a_reader_connection_cannot_write(store):
    if store.kind == "postgres":
        pytest.skip("the read-only attach is the same for both catalogs; tested on SQLite")
    with connect(store.root) as con:
        with pytest.raises(Exception, match="read-only|read only"):
            con.execute("INSERT INTO lake.elo (board) VALUES ('x')")


def test_the_sql_transforms_are_package_data():
    files = {p.name for p in importlib.resources.files("dbt_like_sql").iterdir()}
    assert {"games_merged.sql", "games_id_conflicts.sql"} <= files
    assert "FROM lake.games" in sql("games_merged")
    with pytest.raises(FileNotFoundError, match="nope"):
        sql("nope")


@pytest.mark.slow
def test_a_built_wheel_carries_the_sql(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(repo)], check=True)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert "dbt_like_sql/games_merged.sql" in names and "ringrift_assets/dagster.yaml" in names


# ---- identity ------------------------------------------------------------------------
def test_game_ids_hash_generator_config_seed_and_moves():
    moves = [{"type": "place_ring", "player": 1}]
    a = game_id_for("square8", 2, "selfplay", {"players": ["mcts:32", "mcts:32"]}, 7, moves)
    b = game_id_for("square8", 2, "selfplay", {"players": ["heuristic", "heuristic"]}, 7, moves)
    assert a != b and a == game_id_for("square8", 2, "selfplay", {"players": ["mcts:32", "mcts:32"]}, 7, moves)
    assert a.startswith("square8-2p-")


def test_two_generators_with_one_seed_keep_all_their_games(store, tmp_path):
    cfgs = [SelfplayConfig(board="square8", players=p, games=3, seed=0)
            for p in (("heuristic", "random"), ("random", "random"))]
    for cfg in cfgs:
        write_generated(store, run_selfplay(cfg, progress=False), run_id=str(cfg.players))
    assert _count(store) == 6
    assert merge_partition(store, "square8", 2)["rows_out"] == 6
    assert id_conflicts(store, "square8", 2) == []


def test_the_weights_version_is_part_of_the_generator_config(tmp_path):
    other = tmp_path / "w.json"
    from ringrift_ml.ai.heuristic import packaged_weights_path

    other.write_text(packaged_weights_path().read_text().replace("1", "2", 1))
    base = SelfplayConfig(board="hex8", players=("heuristic", "heuristic"), games=1, seed=0)
    moved = SelfplayConfig(board="hex8", players=("heuristic", "heuristic"), games=1, seed=0, weights=str(other))
    assert generator_config(base)["weights_version"] != generator_config(moved)["weights_version"]
    again = run_selfplay(base, progress=False)
    assert again == run_selfplay(base, progress=False)  # same config and inputs -> same games
    assert again[0]["gameId"] != run_selfplay(moved, progress=False)[0]["gameId"]


def test_selfplay_written_twice_is_not_doubled(store):
    recs = run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=2, seed=1),
                        progress=False)
    first = write_generated(store, recs, run_id="a")
    second = write_generated(store, recs, run_id="b")
    assert (first["games"], second["games"], second["already_in_lake"]) == (2, 0, 2)
    assert _count(store) == 2 and _count(store, "moves") == sum(r["length"] for r in recs)


def test_an_id_naming_two_games_is_reported_with_both_sources(store):
    from ringrift_ml.lake.io import append
    from ringrift_ml.lake.records import convert_record

    a, b = random_records(2, seed=1)
    rows = [convert_record(a, source="landed", source_key="k1", source_file="f" * 64, source_name="one.jsonl"),
            convert_record(dict(b, gameId=a["gameId"]), source="selfplay", source_key="k2", run_id="run-7")]
    store.write(lambda con: append(con, "games", rows), "two games, one id")
    (c,) = id_conflicts(store, "square8", 2)
    assert c["game_id"] == a["gameId"] and c["sequences"] == 2
    assert "landed file one.jsonl (ffffffffffff)" in c["sources"] and "selfplay run run-7" in c["sources"]
