"""The lake tables and the SQL transforms, without Dagster."""

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from ringrift_ml import lake


def test_records_to_tables_has_one_row_per_game_and_move(sq8_records):
    games, moves = lake.records_to_tables(sq8_records, "selfplay")
    assert games.schema == lake.GAMES_SCHEMA and moves.schema == lake.MOVES_SCHEMA
    assert games.num_rows == len(sq8_records)
    assert moves.num_rows == sum(len(r["moves"]) for r in sq8_records)
    g = games.to_pylist()
    assert [r["game_id"] for r in g] == [r["gameId"] for r in sq8_records]
    assert all(r["schema_version"] == lake.SCHEMA_VERSION for r in g)
    assert [json.loads(r["moves_json"]) for r in g] == [r["moves"] for r in sq8_records]
    m = moves.to_pylist()
    first = [r for r in m if r["game_id"] == sq8_records[0]["gameId"]]
    assert [r["ply"] for r in first] == list(range(len(sq8_records[0]["moves"])))
    assert first[0]["phase"] == "ring_placement" and first[0]["player"] == 1
    # Phases come from replay: every bookkeeping move type sits in its own phase.
    assert all(r["phase"] == "line_processing" for r in m if r["move_type"] == "no_line_action")
    assert all(r["phase"] == "territory_processing" for r in m if r["move_type"] == "no_territory_action")


def test_write_games_replaces_its_own_files(tmp_path, sq8_records):
    lake.write_games(tmp_path, sq8_records, "selfplay")
    lake.write_games(tmp_path, sq8_records[:2], "selfplay")
    assert lake.table_rows("games", "square8", 2, tmp_path) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_games_rejects_mixed_partitions(tmp_path, sq8_records, hex8_records):
    with pytest.raises(ValueError, match="span partitions"):
        lake.write_games(tmp_path, sq8_records + hex8_records, "x")


def test_merge_removes_duplicate_ids_and_duplicate_move_sequences(tmp_path, sq8_records):
    lake.write_games(tmp_path, sq8_records, "selfplay")
    # Same games landed again: two under new ids (hash duplicates), one under its own id.
    renamed = [dict(r, gameId="elsewhere-" + r["gameId"]) for r in sq8_records[:2]]
    lake.write_games(tmp_path, renamed + [sq8_records[3]], "landed-a")
    stats = lake.merge_partition(tmp_path, "square8", 2)
    assert stats["rows_in"] == 7
    assert stats["rows_out"] == 4
    assert stats["duplicates_removed"] == 3
    merged = pq.read_table(stats["games_path"]).to_pylist()
    assert sorted(r["game_id"] for r in merged) == sorted(r["gameId"] for r in sq8_records)
    moves = pq.read_table(stats["moves_path"])
    assert moves.num_rows == sum(len(r["moves"]) for r in sq8_records)
    # Running the merge again changes nothing.
    assert lake.merge_partition(tmp_path, "square8", 2)["rows_out"] == 4


def test_rules_version_is_recorded_and_older_files_still_merge(tmp_path, sq8_records):
    from ringrift_ml.rules import RULES_VERSION

    lake.write_games(tmp_path, sq8_records[:2], "selfplay")
    # A file written before the rules_version column existed.
    games, moves = lake.records_to_tables(sq8_records[2:], "old")
    gdir = lake.partition_dir(tmp_path, "games", "square8", 2)
    pq.write_table(games.drop_columns(["rules_version"]), gdir / "old.parquet")
    pq.write_table(moves, lake.partition_dir(tmp_path, "moves", "square8", 2) / "old.parquet")
    stats = lake.merge_partition(tmp_path, "square8", 2)
    merged = pq.read_table(stats["games_path"])
    assert merged.schema == lake.GAMES_SCHEMA
    by_source = {r["source"]: r["rules_version"] for r in merged.to_pylist()}
    assert by_source == {"selfplay": RULES_VERSION, "old": None}
    assert lake.row_to_record(merged.to_pylist()[0]).get("rulesVersion") in (RULES_VERSION, None)


def test_merge_of_an_empty_partition_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"hex8\|3"):
        lake.merge_partition(tmp_path, "hex8", 3)


def test_catalog_views_answer_queries(tmp_path, sq8_records, hex8_records):
    for recs in (sq8_records, hex8_records):
        lake.write_games(tmp_path, recs, "selfplay")
    lake.merge_partition(tmp_path, "square8", 2)
    lake.merge_partition(tmp_path, "hex8", 3)
    out = lake.refresh_catalog(tmp_path)
    assert out["views"] == {"games": 6, "moves": sum(len(r["moves"]) for r in sq8_records + hex8_records)}
    con = duckdb.connect(out["path"], read_only=True)
    by_part = dict(((b, p), c) for b, p, c in con.execute(
        "SELECT board, players, count(*) FROM games GROUP BY ALL").fetchall())
    assert by_part == {("square8", 2): 4, ("hex8", 3): 2}
    wins = con.execute("SELECT winner, count(*) FROM games WHERE board = 'square8' GROUP BY ALL").fetchall()
    assert sum(c for _, c in wins) == 4
    expected = {}
    for r in sq8_records:
        expected[r["winner"]] = expected.get(r["winner"], 0) + 1
    assert dict(wins) == expected


def test_games_quality_suite(sq8_records):
    import pyarrow as pa

    from ringrift_ml import quality

    games, _ = lake.records_to_tables(sq8_records, "s")
    ok = quality.validate_games(games, replay_sample=4)
    assert ok.success, ok.summary()
    rows = games.to_pylist()
    rows[1]["game_id"] = rows[0]["game_id"]
    rows[2]["players"] = 5
    bad = quality.validate_games(pa.Table.from_pylist(rows, schema=lake.GAMES_SCHEMA), replay_sample=0)
    failed = {r["column"] for r in bad.results if not r["success"]}
    assert failed == {"game_id", "players", "ranks_valid"}
    empty = quality.validate_games(games.slice(0, 0))
    assert not empty.success and "expect_table_row_count_to_be_between" in empty.failures[0]
