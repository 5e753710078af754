"""The landing zone in the graph: the sensor only looks, the asset ingests, the second
sensor merges what landed."""

import json

import dagster as dg

from ringrift_assets.definitions import defs
from ringrift_assets.landing import landed_file_partitions, landed_files, landed_games_sensor, landing_sensor
from ringrift_assets.resources import LakeResource
from ringrift_ml.lake import LakeStore


def _write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_sensor_waits_for_a_stable_file_then_requests_one_ingestion_run(tmp_path, sq8_records, hex8_records):
    res = LakeResource(root=str(tmp_path))
    _write(tmp_path / "landing" / "batch 1.jsonl", sq8_records + hex8_records)
    (tmp_path / "landing" / "readme.txt").write_text("not a record file")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"lake_root": res})
        first = landing_sensor(ctx)
        assert first.skip_reason and "waiting" in str(first.skip_reason) and not first.run_requests
        ctx2 = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"lake_root": res})
        second = landing_sensor(ctx2)
        (req,) = second.run_requests
        sha = req.partition_key
        assert len(sha) == 64 and second.dynamic_partitions_requests[0].partition_keys == [sha]
        # The tick only stages: nothing was validated or written to the tables.
        store = LakeStore.open(tmp_path)
        assert store.query("SELECT count(*) AS n FROM lake.games").to_pylist() == [{"n": 0}]
        assert (tmp_path / "lake" / "incoming" / f"{sha}.jsonl").is_file()
        assert (tmp_path / "quarantine").is_dir() and not (tmp_path / "landing" / "readme.txt").exists()
        # A third tick asks for nothing new.
        ctx3 = dg.build_sensor_context(instance=instance, cursor=second.cursor, resources={"lake_root": res})
        assert not landing_sensor(ctx3).run_requests

        instance.add_dynamic_partitions(landed_file_partitions.name, [sha])
        r = dg.materialize([landed_files], partition_key=sha, instance=instance, resources={"lake_root": res})
        assert r.success
        md = r.get_asset_materialization_events()[0].materialization.metadata
        assert md["status"].value == "ingested" and md["games"].value == 6
        assert sorted(md["partitions"].value) == ["hex8|3", "square8|2"]
        # The merge sensor asks for exactly those partitions.
        ctx4 = dg.build_sensor_context(instance=instance, resources={"lake_root": res},
                                       repository_def=defs.get_repository_def())
        requests = landed_games_sensor(ctx4)
        assert sorted(q.partition_key for q in requests) == ["hex8|3", "square8|2"]


def test_a_quarantined_file_is_a_successful_run_that_says_so(tmp_path, sq8_records):
    from ringrift_ml.lake import landing

    res = LakeResource(root=str(tmp_path))
    bad = dict(sq8_records[0], winner=None, ranks=None)
    _write(tmp_path / "landing" / "bad.jsonl", [bad])
    store = res.store()
    look = landing.scan(store, landing.scan(store).looks)
    staged = landing.stage(store, look.stable[0])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(landed_file_partitions.name, [staged.sha])
        r = dg.materialize([landed_files], partition_key=staged.sha, instance=instance, resources={"lake_root": res})
    assert r.success
    md = r.get_asset_materialization_events()[0].materialization.metadata
    assert md["status"].value == "quarantined" and "winner null" in md["reason"].value
    assert md["partitions"].value == []
