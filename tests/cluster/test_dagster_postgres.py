"""The cluster configuration end to end: Dagster with its storage in PostgreSQL (the
shipped ``dagster.postgres.yaml``), the lake on a PostgreSQL catalog, selfplay on the
two-node Ray cluster, and a Ray worker process killed in the middle of the run: the
run succeeds, every game is in the lake once, the audit finds nothing wrong."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from .raycluster import cluster_pids

DAGSTER_DB = os.environ.get("RINGRIFT_TEST_DAGSTER_DB")
LAKE_PG = os.environ.get("RINGRIFT_TEST_POSTGRES")  # libpq key=value pairs: host, user, password too


def _actor_pids(running: bool, cluster) -> list:
    """Process ids of this project's Ray actors (running a task, or any) in the test
    cluster ``cluster`` (``raycluster.LocalCluster``), never those of another cluster on
    the machine."""
    from ringrift_ml.cluster import ACTOR_CLASS

    ours = cluster_pids(cluster.temp_dir)
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) not in ours:
            continue
        try:
            title = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{ACTOR_CLASS}" + (".run" if running else "")):
            out.append(int(d.name))
    return out


@pytest.mark.skipif(not (DAGSTER_DB and LAKE_PG), reason="RINGRIFT_TEST_DAGSTER_DB and "
                    "RINGRIFT_TEST_POSTGRES are not set (.ci/run starts PostgreSQL and sets them)")
def test_selfplay_through_dagster_on_postgres_and_ray_survives_a_killed_worker(local_cluster, tmp_path, monkeypatch):
    import dagster as dg

    import ringrift_assets
    from ringrift_assets.configs import LoopSettings
    from ringrift_assets.definitions import ASSETS
    from ringrift_assets.resources import LakeResource
    from ringrift_ml.lake.landing import audit
    from ringrift_ml.lake.store import drop_postgres_schema

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(ringrift_assets.__file__).parent / "dagster.postgres.yaml", home / "dagster.yaml")
    conn = dict(kv.split("=", 1) for kv in LAKE_PG.split())
    for key, value in (("HOST", conn["host"]), ("USER", conn["user"]), ("PASSWORD", conn.get("password", "")),
                       ("DB", DAGSTER_DB)):
        monkeypatch.setenv(f"RINGRIFT_DAGSTER_PG_{key}", value)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    catalog = f"postgres:{LAKE_PG}"
    lake = LakeResource(root=str(tmp_path / "root"), catalog=catalog, lake_schema=schema)
    games = 12
    settings = {"games": games, "bootstrap": "mcts:16", "simulations": 16, "batch_games": 2, "workers": 2,
                "ray_address": local_cluster.address, "seed": 5}
    selfplay = next(a for a in ASSETS if a.key.to_user_string() == "selfplay_games")
    killed: list = []

    def kill_a_running_worker():
        t0 = time.time()
        while time.time() - t0 < 120 and not killed:
            pids = _actor_pids(running=True, cluster=local_cluster)
            if pids:
                time.sleep(0.5)  # well inside its task
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.1)

    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            killer = threading.Thread(target=kill_a_running_worker)
            killer.start()
            result = dg.materialize([selfplay], partition_key="square8|2", instance=instance,
                                    resources={"lake_root": lake, "loop": LoopSettings()},
                                    run_config={"resources": {"loop": {"config": settings}}})
            killer.join()
            assert result.success and killed, "a worker must have been killed mid-run"
            # The run and its materialization are in PostgreSQL.
            run = instance.get_run_by_id(result.run_id)
            assert run is not None and run.is_success
            md = result.asset_materializations_for_node("selfplay_games")[0].metadata
            assert md["games"].value == games and md["played_now"].value == games
        store = lake.store()
        rows = store.query("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.games WHERE "
                           "json_extract_string(generator_config, '$.label') = 'loop:square8|2:g0'").to_pylist()
        assert rows == [{"n": games, "d": games}]  # none lost, none doubled
        found = audit(store)
        assert found["problems"] == [] and found["lost"] == 0 and found["missing_files"] == 0
        # The killed worker's games were replayed: the same games an undisturbed run plays.
        from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

        ids = {r["game_id"] for r in store.query("SELECT game_id FROM lake.games").to_pylist()}
        want = run_selfplay(SelfplayConfig(board="square8", players=("mcts:16",) * 2, games=games, seed=5 * 1_000_003,
                                           batch_games=2, label="loop:square8|2:g0"), progress=False)
        assert ids == {r["gameId"] for r in want}
    finally:
        drop_postgres_schema(catalog, schema)
