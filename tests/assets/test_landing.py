"""Landing zone ingestion and the landing sensor."""

import json
import os

import dagster as dg
import pyarrow.parquet as pq

from ringrift_assets.resources import LakeResource
from ringrift_assets.sensors import landing_sensor
from ringrift_ml import lake, landing


def _jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_valid_file_is_staged_and_moved_to_processed(tmp_path, sq8_records, hex8_records):
    f = _jsonl(tmp_path / "landing" / "batch 1.jsonl", sq8_records + hex8_records)
    res = landing.ingest(tmp_path, f)
    assert res.quarantined is None and res.games == 6
    assert res.partitions == [("hex8", 3), ("square8", 2)]
    assert (tmp_path / "landing" / "processed" / "batch 1.jsonl").is_file() and not f.exists()
    staged = lake.partition_dir(tmp_path, "games", "square8", 2) / "landed-batch_1.parquet"
    assert pq.read_table(staged).num_rows == 4


def test_parquet_in_lake_schema_is_accepted(tmp_path, sq8_records):
    games, _ = lake.records_to_tables(sq8_records, "elsewhere")
    f = tmp_path / "landing" / "other.parquet"
    f.parent.mkdir()
    pq.write_table(games, f)
    res = landing.ingest(tmp_path, f)
    assert res.quarantined is None and res.partitions == [("square8", 2)]


def test_record_with_illegal_move_quarantines_whole_file_with_reason(tmp_path, sq8_records):
    bad = json.loads(json.dumps(sq8_records[1]))
    bad["moves"][5], bad["moves"][6] = bad["moves"][6], bad["moves"][5]
    f = _jsonl(tmp_path / "landing" / "mixed.jsonl", [sq8_records[0], bad])
    res = landing.ingest(tmp_path, f)
    assert res.quarantined and "record 2" in res.reason and bad["gameId"] in res.reason
    assert (tmp_path / "quarantine" / "mixed.jsonl").is_file()
    side = json.loads((tmp_path / "quarantine" / "mixed.jsonl.reason.json").read_text())
    assert side["reason"] == res.reason and side["file"] == "mixed.jsonl"
    assert not (tmp_path / "lake").exists()  # nothing of the file reached the lake


def test_wrong_winner_and_bad_fields_are_reasons(tmp_path, sq8_records):
    r = dict(sq8_records[0], winner=3 - sq8_records[0]["winner"])
    res = landing.ingest(tmp_path, _jsonl(tmp_path / "landing" / "w.jsonl", [r]))
    assert res.quarantined and "won" in res.reason
    r = dict(sq8_records[0], boardType="square9")
    res = landing.ingest(tmp_path, _jsonl(tmp_path / "landing" / "b.jsonl", [r]))
    assert "boardType" in res.reason
    (tmp_path / "landing" / "t.jsonl").write_text("{not json\n")
    res = landing.ingest(tmp_path, tmp_path / "landing" / "t.jsonl")
    assert "line 1" in res.reason
    # A second file of the same name does not overwrite the first quarantined one.
    res = landing.ingest(tmp_path, _jsonl(tmp_path / "landing" / "w.jsonl", [r]))
    assert res.quarantined != str(tmp_path / "quarantine" / "w.jsonl")
    assert len(list((tmp_path / "quarantine").glob("w*.reason.json"))) == 2


def _tick(root, cursor=None):
    with dg.instance_for_test() as inst:
        ctx = dg.build_sensor_context(instance=inst, cursor=cursor, resources={"lake_root": LakeResource(root=str(root))})
        return landing_sensor(ctx)


def test_sensor_requests_exactly_the_touched_partitions(tmp_path, sq8_records, hex8_records):
    _jsonl(tmp_path / "landing" / "a.jsonl", sq8_records[:2])
    _jsonl(tmp_path / "landing" / "b.jsonl", sq8_records[2:] + hex8_records)
    (tmp_path / "landing" / "c.parquet").write_bytes(b"corrupt")
    res = _tick(tmp_path)
    keys = sorted(str(r.partition_key) for r in res.run_requests)
    assert keys == ["hex8|3", "square8|2"]
    assert {r.job_name for r in res.run_requests} <= {None, "merge_landed_games"}
    assert (tmp_path / "quarantine" / "c.parquet.reason.json").is_file()
    # Nothing new: the next tick skips, and says so.
    again = _tick(tmp_path, res.cursor)
    assert not again.run_requests and again.skip_reason
    # The same games landed again under another file name: a run is requested, and
    # the merge removes them as duplicates.
    _jsonl(tmp_path / "landing" / "a-again.jsonl", sq8_records[:2])
    third = _tick(tmp_path, again.cursor)
    assert [str(r.partition_key) for r in third.run_requests] == ["square8|2"]
    stats = lake.merge_partition(tmp_path, "square8", 2)
    assert stats["rows_out"] == 4 and stats["duplicates_removed"] == 2


def test_sensor_skips_files_already_in_cursor(tmp_path, sq8_records):
    f = _jsonl(tmp_path / "landing" / "a.jsonl", sq8_records[:1])
    st = f.stat()
    cursor = json.dumps([f"a.jsonl:{st.st_size}:{int(st.st_mtime_ns)}"])
    res = _tick(tmp_path, cursor)
    assert not res.run_requests and f.exists()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched again: a new file version
    assert [str(r.partition_key) for r in _tick(tmp_path, cursor).run_requests] == ["square8|2"]
