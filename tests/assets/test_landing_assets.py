"""The landing zone in the graph: the sensor only looks, runs stage and ingest, the
second sensor merges what landed."""

import json

import dagster as dg

from ringrift_assets.definitions import defs
from ringrift_assets.landing import (landed_file_partitions, landed_files, landed_games_sensor, landing_sensor,
                                    landing_zone)
from ringrift_assets.resources import LakeResource
from ringrift_ml.lake import LakeStore


def _write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_sensor_waits_for_a_stable_file_then_requests_one_ingestion_run(tmp_path, sq8_records, hex8_records):
    res = LakeResource(root=str(tmp_path))
    _write(tmp_path / "landing" / "batch 1.jsonl", sq8_records + hex8_records)
    (tmp_path / "landing" / "readme.txt").write_text("not a record file")
    landed = sorted(p.name for p in (tmp_path / "landing").iterdir())
    with dg.instance_for_test() as instance:
        def tick(cursor=None):
            return landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor,
                                                          resources={"lake_root": res}))

        first = tick()
        (stage_req,) = first.run_requests  # the unlandable file at once; the record file is still settling
        assert stage_req.job_name == "stage_landed_files"
        assert stage_req.run_config["ops"]["landing_zone"]["config"] == {"stable": {}, "rejected": ["readme.txt"]}
        second = tick(first.cursor)
        (stage_req,) = second.run_requests
        assert list(stage_req.run_config["ops"]["landing_zone"]["config"]["stable"]) == ["batch 1.jsonl"]
        # The sensor only looked: nothing moved, nothing written.
        assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == landed
        store = LakeStore.open(tmp_path)
        assert store.query("SELECT count(*) AS n FROM lake.landing_events").to_pylist() == [{"n": 0}]
        # The staging run does the moves.
        r = dg.materialize([landing_zone], instance=instance, resources={"lake_root": res},
                           run_config=stage_req.run_config)
        md = r.asset_materializations_for_node("landing_zone")[0].metadata
        (staged,) = md["staged"].value
        sha = staged["sha256"]
        assert (tmp_path / "lake" / "incoming" / f"{sha}.jsonl").is_file()
        assert (tmp_path / "quarantine").is_dir() and not (tmp_path / "landing" / "readme.txt").exists()
        assert md["quarantined"].value[0]["name"] == "readme.txt"
        assert sha in instance.get_dynamic_partitions(landed_file_partitions.name)
        # Nothing validated or written to the games yet; the next tick asks for one ingestion run.
        assert store.query("SELECT count(*) AS n FROM lake.games").to_pylist() == [{"n": 0}]
        third = tick(second.cursor)
        (req,) = third.run_requests
        assert (req.job_name, req.partition_key) == ("ingest_landed_file", sha)
        assert third.dynamic_partitions_requests[0].partition_keys == [sha]
        # A fourth tick asks for nothing new.
        assert not tick(third.cursor).run_requests

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
