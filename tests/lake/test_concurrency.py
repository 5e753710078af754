"""Several processes on one storage root: first runs, writers, readers, locks, and
kill -9 in the middle of an ingestion or a partition run."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ringrift_ml.lake import LakeStore, connect
from ringrift_ml.lake.landing import audit, ingest_all

from .conftest import random_records, write_jsonl


def _python(code: str, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _env(store):
    env = {"RINGRIFT_LAKE_CATALOG": store.catalog}
    if store.schema:
        env["RINGRIFT_LAKE_SCHEMA"] = store.schema
    return env


def _wait(procs, timeout=120):
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        outs.append((p.returncode, out, err))
    return outs


def test_two_first_runs_on_a_fresh_root_both_succeed(tmp_path):
    code = f"""
        from pathlib import Path
        from ringrift_assets.run import instance_for
        from ringrift_ml.lake import LakeStore
        root = Path({str(tmp_path / 'fresh')!r})
        instance, home = instance_for(root)
        store = LakeStore.open(root)
        store.write(lambda con: con.execute("SELECT 1"), "hello")
        print(len(instance.get_runs()))
    """
    results = _wait([_python(code, {"DAGSTER_HOME": ""}) for _ in range(2)])
    assert [r[0] for r in results] == [0, 0], [r[2][-2000:] for r in results]


def test_concurrent_writers_all_commit(tmp_path, catalog):
    store = LakeStore.open(tmp_path / "root", *catalog)
    code = f"""
        from ringrift_ml.lake import LakeStore
        from ringrift_ml.lake.io import append
        import os
        store = LakeStore.open({str(store.root)!r})
        w = os.getpid()
        for i in range(15):
            store.write(lambda con: append(con, "elo", [{{"board": "w", "players": 2, "player": str(w), "elo": i}}]),
                        "row")
    """
    results = _wait([_python(code, _env(store)) for _ in range(3)])
    assert all(r[0] == 0 for r in results), [r[2][-2000:] for r in results]
    assert store.query("SELECT count(*) AS n FROM lake.elo").to_pylist() == [{"n": 45}]


def test_an_open_reader_never_blocks_the_pipeline(tmp_path):
    store = LakeStore.open(tmp_path / "root")
    with connect(store.root) as reader:  # what a researcher leaves open
        assert reader.execute("SELECT count(*) FROM lake.games").fetchone() == (0,)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM lake.games").fetchone()
        write_jsonl(store.root / "landing" / "a.jsonl", random_records(3))
        code = f"""
            from ringrift_ml.lake import LakeStore
            from ringrift_ml.lake.landing import ingest_all
            from ringrift_ml.lake.merge import merge_partition
            store = LakeStore.open({str(store.root)!r})
            res, _ = ingest_all(store, settle=0.05)
            print(res[0].status, merge_partition(store, "square8", 2)["rows_out"])
        """
        (rc, out, err), = _wait([_python(code)], timeout=60)
        assert rc == 0 and out.split() == ["ingested", "3"], err[-2000:]
        # The reader's open transaction still sees its snapshot; a new one sees the games.
        assert reader.execute("SELECT count(*) FROM lake.games").fetchone() == (0,)
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM lake.games").fetchone() == (3,)


def test_runs_of_one_partition_never_overlap(tmp_path):
    code = f"""
        import time
        from pathlib import Path
        from ringrift_assets.run import partition_lock
        from ringrift_ml.lake.layout import Partition
        with partition_lock(Path({str(tmp_path)!r}), Partition("square8", 2)):
            t0 = time.time(); time.sleep(0.6); print(t0, time.time())
    """
    results = _wait([_python(code) for _ in range(2)])
    (a0, a1), (b0, b1) = [tuple(map(float, r[1].split())) for r in results]
    assert a1 <= b0 or b1 <= a0


# ---- kill -9 ---------------------------------------------------------------------------
_SLOW_APPEND = """
    import os, time
    from ringrift_ml.lake import io
    _append = io.append
    def slow(con, table, data):
        n = _append(con, table, data)
        rows = data if isinstance(data, list) else []
        if table == "games" or (rows and rows[0].get("event") == "ingested"):  # inside the transaction
            open(os.environ["MARK"], "a").write(table + "\\n")
            time.sleep(30)
        return n
    io.append = slow
    import ringrift_ml.lake.landing, ringrift_ml.lake.generated
    ringrift_ml.lake.landing.append = slow
    ringrift_ml.lake.generated.append = slow
"""


def _kill_when_marked(proc, mark, timeout=60):
    t0 = time.time()
    while not (mark.exists() and mark.read_text()):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() - t0 < timeout, "the child never reached the write"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_kill_during_ingestion_then_rerun_loses_and_doubles_nothing(tmp_path, catalog):
    store = LakeStore.open(tmp_path / "root", *catalog)
    recs = random_records(6, seed=3)
    write_jsonl(store.root / "landing" / "big.jsonl", recs)
    mark = tmp_path / "mark"
    code = _SLOW_APPEND + f"""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.landing import ingest_all
    ingest_all(LakeStore.open({str(store.root)!r}), settle=0.05)
    """
    _kill_when_marked(_python(code, {**_env(store), "MARK": str(mark)}), mark)
    # Killed inside the file's transaction: nothing of it is visible, the file waits.
    assert store.query("SELECT count(*) AS n FROM lake.games").to_pylist() == [{"n": 0}]
    assert audit(store)["pending"] == 1
    results, _ = ingest_all(store, settle=0.05)
    assert [r.status for r in results] == ["ingested"] and results[0].games == 6
    assert store.query("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.games").to_pylist() == [
        {"n": 6, "d": 6}]
    rep = audit(store)
    assert rep["lost"] == 0 and rep["in_lake"] == 6 and rep["pending"] == 0 and not rep["problems"]
    store.write(lambda con: con.execute("SELECT 1"), "no stuck lock")


def test_kill_during_a_partition_run_then_rerun_succeeds(tmp_path):
    root = tmp_path / "root"
    mark = tmp_path / "mark"
    code = _SLOW_APPEND + f"""
    from ringrift_assets.run import main
    main(["--storage", {str(root)!r}, "--partitions", "square8|2", "--games", "8"])
    """
    _kill_when_marked(_python(code, {"MARK": str(mark), "DAGSTER_HOME": ""}), mark, timeout=120)
    from ringrift_assets.run import main

    # 8 games: enough for the blocking model check to pass (2 are not).
    assert main(["--storage", str(root), "--partitions", "square8|2", "--games", "8"]) == 0
    store = LakeStore.open(root)
    # The generation's 8 selfplay games once each (its gate's games, kept as training
    # data, come beside them; none doubled either).
    selfplay = "json_extract_string(generator_config, '$.label') NOT LIKE '%:gate'"
    assert store.query(f"SELECT count(*) AS n, count(DISTINCT entry_id) AS d FROM lake.games WHERE {selfplay}"
                       ).to_pylist() == [{"n": 8, "d": 8}]
    both = store.query("SELECT count(*) AS n, count(DISTINCT entry_id) AS d FROM lake.games").to_pylist()[0]
    assert both["n"] == both["d"]
    assert store.query(f"SELECT count(*) AS n FROM lake.games_merged WHERE {selfplay}").to_pylist() == [{"n": 8}]


def test_several_hosts_land_into_one_lake_concurrently(tmp_path, catalog):
    """Hosts simulated as processes, each with its own storage root and landing zone,
    one PostgreSQL catalog and one shared data path: distinct files and one file
    landed on two hosts at once.  Every game is in the lake once, the ledger accounts
    for every file, the audit of every host is clean."""
    import json

    if catalog[0] == "sqlite":
        pytest.skip("one SQLite catalog file serves one host; several hosts share a PostgreSQL catalog")
    shared = tmp_path / "shared_data"
    env = {"RINGRIFT_LAKE_CATALOG": catalog[0], "RINGRIFT_LAKE_SCHEMA": catalog[1],
           "RINGRIFT_LAKE_DATA_PATH": str(shared)}
    first = LakeStore.open(tmp_path / "host0", *catalog, data_path=shared)  # creates the catalog
    both = random_records(4, seed=500, prefix="both")  # landed on host 1 and host 2
    hosts = []
    for h in (1, 2, 3):
        root = tmp_path / f"host{h}"
        for k in range(2):
            write_jsonl(root / "landing" / f"h{h}_{k}.jsonl", random_records(3, seed=100 * h + 10 * k, prefix=f"h{h}k{k}_"))
        if h in (1, 2):
            write_jsonl(root / "landing" / "shared.jsonl", both)
        hosts.append(root)
    code = """
        import json, sys
        from ringrift_ml.lake import LakeStore
        from ringrift_ml.lake.landing import ingest_all
        results, _ = ingest_all(LakeStore.open(sys.argv[1]), settle=0.05)
        print(json.dumps([[r.status, r.games] for r in results]))
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(root)],
                              env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for root in hosts]
    outs = _wait(procs, timeout=300)
    assert all(rc == 0 for rc, _, _ in outs), [err[-2000:] for _, _, err in outs]
    statuses = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outs]
    ingested = sum(g for s in statuses for st, g in s if st == "ingested")
    assert ingested == 3 * 2 * 3 + 4  # the shared file's games counted once
    got = first.query("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.games").to_pylist()
    assert got == [{"n": 22, "d": 22}]
    assert not list((tmp_path / "host0" / "lake").glob("data/**/*.parquet"))  # the files are on the shared path
    assert list(shared.rglob("*.parquet"))
    for root in hosts:
        rep = audit(LakeStore.open(root, *catalog, data_path=shared))
        assert rep["lost"] == 0 and rep["missing_files"] == 0 and not rep["problems"], rep
        assert rep["lake_id"] == first.lake_id  # one lake, whichever host asks
        assert not list((root / "landing").glob("*.jsonl"))  # every file left its landing zone


def test_a_file_staged_twice_before_either_ingest_commits_lands_once(tmp_path, monkeypatch):
    """Two writers that staged the same bytes before either committed (two hosts of one
    lake): the first ingest lands the games, the second finds the first's ledger event
    inside its own transaction and records a duplicate with the reason, its converted
    files removed and nothing added."""
    import shutil

    from ringrift_ml.lake import landing

    store = LakeStore.open(tmp_path / "root")
    write_jsonl(tmp_path / "root" / "landing" / "a.jsonl", random_records(3, seed=700, prefix="twice"))
    ingest_all(store, settle=0)  # staged and ingested: the first writer
    (kept,) = list(landing.files_dir(store.root).iterdir())
    again = tmp_path / "other" / "incoming" / kept.name  # the second writer's staged copy
    again.parent.mkdir(parents=True)
    shutil.copy(kept, again)
    monkeypatch.setattr(landing, "_ledger", lambda store_, sha: [])  # it read the ledger before the commit
    before = {p.name for p in store.data_path.rglob("*.parquet")}
    res = landing.ingest(store, again)
    assert res.status == "duplicate" and not again.exists()
    assert store.query("SELECT count(*) AS n FROM lake.games").to_pylist() == [{"n": 3}]
    assert {p.name for p in store.data_path.rglob("*.parquet")} == before
    (dup,) = store.query("SELECT reason FROM lake.landing_events WHERE event = 'duplicate'").to_pylist()
    assert "another host" in dup["reason"]
    monkeypatch.undo()
    rep = audit(store)
    assert rep["lost"] == 0 and not rep["problems"] and rep["in_lake"] == 3, rep


def test_concurrent_ingest_commits_conflict_so_the_later_one_retries(tmp_path, catalog):
    """Two transactions that each ingest (every ingest rewrites the lake's identity row)
    conflict at the later commit, with an error the store retries; plain appends would
    both commit.  PostgreSQL only: the SQLite catalog takes one writer at a time."""
    from ringrift_ml.lake import landing
    from ringrift_ml.lake.store import is_retryable

    if catalog[0] == "sqlite":
        pytest.skip("the SQLite catalog serialises writers with its file lock")
    store = LakeStore.open(tmp_path / "root", *catalog)
    a, b = store._open(False), store._open(False)
    try:
        for con in (a, b):
            con.execute("BEGIN")
            landing._one_ingest_at_a_time(con)
        a.execute("COMMIT")
        with pytest.raises(Exception) as err:
            b.execute("COMMIT")
        assert is_retryable(err.value), err.value
    finally:
        a.close()
        b.close()
    assert len(store.query("SELECT lake_id FROM lake.lake_info").to_pylist()) == 1
