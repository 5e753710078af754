"""The landing zone loses nothing: one regression test per way it used to lose games."""

import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ringrift_ml.lake import landing
from ringrift_ml.lake.landing import audit, ingest_all
from ringrift_ml.lake.records import convert_record

from .conftest import random_records, write_jsonl


def _land(store, name, records):
    return write_jsonl(store.root / "landing" / name, records)


def _games(store, where="TRUE"):
    return store.query(f"SELECT game_id, source_name, source_file FROM lake.games WHERE {where} "
                       "ORDER BY game_id").to_pylist()


def _ingest(store):
    results, look = ingest_all(store, settle=0.05)
    return {r.file: r for r in results}, look


def _assert_nothing_lost(store):
    rep = audit(store)
    assert rep["lost"] == 0 and not rep["problems"], rep
    return rep


# ---- 1. landed games lost ---------------------------------------------------------------
def test_relanding_a_name_with_other_games_keeps_both(store):
    _land(store, "batch.jsonl", random_records(3, seed=1))
    _ingest(store)
    _land(store, "batch.jsonl", random_records(2, seed=50))
    res, _ = _ingest(store)
    assert res["batch.jsonl"].status == "ingested"
    assert len(_games(store)) == 5
    assert _assert_nothing_lost(store)["in_lake"] == 5


def test_names_differing_in_punctuation_or_letters_stay_apart(store):
    for i, name in enumerate(["a b.jsonl", "a_b.jsonl", "é.jsonl", "ü.jsonl"]):
        _land(store, name, random_records(2, seed=10 * i + 1))
    res, _ = _ingest(store)
    assert sorted(res) == ["a b.jsonl", "a_b.jsonl", "é.jsonl", "ü.jsonl"]
    assert len(_games(store)) == 8
    assert {g["source_name"] for g in _games(store)} == {"a b.jsonl", "a_b.jsonl", "é.jsonl", "ü.jsonl"}
    _assert_nothing_lost(store)


def test_jsonl_then_parquet_of_the_same_stem_keeps_both(store):
    _land(store, "x.jsonl", random_records(2, seed=1))
    _ingest(store)
    rows = [convert_record(r, source="landed", source_key="k") for r in random_records(2, seed=30)]
    pq.write_table(pa.Table.from_pylist(rows), store.root / "landing" / "x.parquet")
    res, _ = _ingest(store)
    assert res["x.parquet"].status == "ingested" and len(_games(store)) == 4
    _assert_nothing_lost(store)


def test_a_file_still_being_written_waits_and_a_later_append_is_a_new_file(store):
    path = store.root / "landing" / "live.jsonl"
    recs = random_records(4, seed=1)
    write_jsonl(path, recs[:2])
    first = landing.scan(store)
    assert first.stable == [] and first.waiting == ["live.jsonl"]
    with open(path, "a") as fh:  # the writer goes on
        fh.write(json.dumps(recs[2]) + "\n")
    second = landing.scan(store, first.looks)
    assert second.stable == []  # it changed since the first look
    third = landing.scan(store, second.looks)
    assert [p.name for p in third.stable] == ["live.jsonl"]
    staged = landing.stage(store, third.stable[0])
    assert not path.exists() and staged.path.exists()
    # The writer appends again: a new file in the zone, never the staged copy.
    write_jsonl(path, recs[3:])
    landing.ingest(store, staged.path)
    res, _ = _ingest(store)
    assert res["live.jsonl"].games == 1
    assert len(_games(store)) == 4
    _assert_nothing_lost(store)


def test_observing_changes_nothing_and_settling_acts_only_on_what_is_unchanged(store):
    zone = store.root / "landing"
    recs = random_records(3, seed=2)
    write_jsonl(zone / "a.jsonl", recs[:1])
    write_jsonl(zone / "b.jsonl", recs[1:2])
    (zone / "notes.txt").write_text("x")
    before = sorted(p.name for p in zone.iterdir())
    first = landing.observe(store.root)
    second = landing.observe(store.root, first.looks)
    assert sorted(p.name for p in second.stable) == ["a.jsonl", "b.jsonl"] and second.rejected[0][0] == "notes.txt"
    assert sorted(p.name for p in zone.iterdir()) == before  # observing moved nothing
    with open(zone / "b.jsonl", "a") as fh:  # b changes after the look
        fh.write(json.dumps(recs[2]) + "\n")
    staged, rejected = landing.settle(store, {p.name: second.looks[p.name] for p in second.stable},
                                      [n for n, _ in second.rejected])
    assert [s.name for s in staged] == ["a.jsonl"] and [n for n, _ in rejected] == ["notes.txt"]
    assert sorted(p.name for p in zone.iterdir()) == ["b.jsonl"]  # left for a later look
    # Settling the same look again does nothing more.
    assert landing.settle(store, {"a.jsonl": second.looks["a.jsonl"]}, ["notes.txt"]) == ([], [])


def test_partial_files_are_left_alone(store):
    write_jsonl(store.root / "landing" / "big.jsonl.partial", random_records(1))
    res, look = _ingest(store)
    assert res == {} and look.waiting == ["big.jsonl.partial"]
    assert (store.root / "landing" / "big.jsonl.partial").exists()


def test_the_same_bytes_twice_are_recorded_once(store):
    recs = random_records(2, seed=5)
    _land(store, "one.jsonl", recs)
    _ingest(store)
    _land(store, "copy.jsonl", recs)
    res, _ = _ingest(store)
    assert res == {}
    events = store.query("SELECT name, event FROM lake.landing_events WHERE event = 'duplicate'").to_pylist()
    assert events == [{"name": "copy.jsonl", "event": "duplicate"}]
    assert len(_games(store)) == 2
    assert _assert_nothing_lost(store)["files"] == 1


# ---- 2. different games, one id ----------------------------------------------------------
def test_a_landed_game_id_naming_another_game_quarantines_its_file(store):
    _land(store, "first.jsonl", random_records(2, seed=1))
    _ingest(store)
    clash = random_records(1, seed=77)[0]
    clash["gameId"] = "g1"  # the id of a different game already in the lake
    _land(store, "second.jsonl", [clash])
    res, _ = _ingest(store)
    r = res["second.jsonl"]
    assert r.status == "quarantined"
    assert "game id 'g1' already names a different game in the lake, from landed file 'first.jsonl'" in r.reason
    _assert_nothing_lost(store)


def test_a_game_id_twice_in_one_file_quarantines_it(store):
    recs = random_records(2, seed=1)
    recs[1]["gameId"] = recs[0]["gameId"]
    _land(store, "dup.jsonl", recs)
    res, _ = _ingest(store)
    assert res["dup.jsonl"].status == "quarantined" and "appears twice in the file" in res["dup.jsonl"].reason


# ---- 3. one bad file never stalls the zone ------------------------------------------------
def test_hostile_files_are_quarantined_and_the_zone_moves_on(store):
    good = random_records(1, seed=3)[0]
    ranks_as_list = dict(good, ranks=[1, 2])
    overflow = json.loads(json.dumps(good))
    overflow["moves"][0]["to"]["x"] = 1e400
    land = store.root / "landing"
    land.mkdir(parents=True)
    (land / "a_ranks.jsonl").write_text(json.dumps(ranks_as_list) + "\n")
    (land / "b_overflow.jsonl").write_text(json.dumps(overflow).replace("Infinity", "1e400") + "\n")
    (land / "c_deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (land / "d_notjson.jsonl").write_text("{not json\n")
    (land / "e_empty.jsonl").write_text("\n")
    (land / "f_garbage.parquet").write_bytes(b"PAR1 not really")
    _land(store, "z_good.jsonl", random_records(2, seed=40))
    res, _ = _ingest(store)
    assert res["z_good.jsonl"].status == "ingested"
    bad = {k: v for k, v in res.items() if k != "z_good.jsonl"}
    assert len(bad) == 6 and all(v.status == "quarantined" for v in bad.values()), bad
    assert "ranks" in bad["a_ranks.jsonl"].reason
    assert "x" in bad["b_overflow.jsonl"].reason
    assert "deeply" in bad["c_deep.jsonl"].reason or "RecursionError" in bad["c_deep.jsonl"].reason
    for r in bad.values():
        assert (store.root / "quarantine" / f"{r.sha}.{r.file.rsplit('.', 1)[1]}").exists()
        assert (store.root / "quarantine" / f"{r.sha}.{r.file.rsplit('.', 1)[1]}.reason.json").exists()
    _assert_nothing_lost(store)


# ---- 4. poison pills ------------------------------------------------------------------
def _policy_record():
    from ringrift_ml.selfplay import SelfplayConfig, play_one

    return play_one(SelfplayConfig(board="square8", players=("mcts:8", "random"), games=1, seed=5), 0)


def test_a_malformed_policy_is_quarantined_at_landing(store):
    rec = _policy_record()
    ply = next(i for i, p in enumerate(rec["policy"]) if p)
    rec["policy"][ply][0][0] = {"type": "place_ring", "player": 1, "to": {"x": 99, "y": 99}}
    _land(store, "policy.jsonl", [rec])
    res, _ = _ingest(store)
    assert res["policy.jsonl"].status == "quarantined"
    assert f"ply {ply}: policy[0] names an illegal move" in res["policy.jsonl"].reason


def test_search_facts_land_in_the_lake_and_bad_ones_are_quarantined(store):
    from ringrift_ml.selfplay import SelfplayConfig, play_one

    rec = play_one(SelfplayConfig(board="square8", players=("gumbel:8", "random"), games=1, seed=6,
                                  full_search_prob=0.5), 0)
    searched = [s for s in rec["search"] if s]
    assert searched and any(not s["full"] for s in searched)
    bad = json.loads(json.dumps(rec))
    ply = next(i for i, s in enumerate(bad["search"]) if s)
    bad["gameId"] += "-bad"
    bad["search"][ply]["values"] = [2.0, 0.0]
    full = next(i for i, s in enumerate(rec["search"]) if s and s["full"])
    assert {"entropy", "kl_prior", "kl_uniform"} <= set(rec["search"][full])  # the target's signal
    badkl = json.loads(json.dumps(rec))
    badkl["gameId"] += "-badkl"
    badkl["search"][full]["kl_prior"] = -0.5
    extra = json.loads(json.dumps(rec))
    extra["gameId"] += "-extra"
    extra["search"][full]["visits"] = 3
    _land(store, "search.jsonl", [rec])
    _land(store, "badsearch.jsonl", [bad])
    _land(store, "badkl.jsonl", [badkl])
    _land(store, "extra.jsonl", [extra])
    res, _ = _ingest(store)
    assert res["search.jsonl"].status == "ingested"
    assert f"ply {ply}: search.values must be 2 numbers in [-1, 1]" in res["badsearch.jsonl"].reason
    assert f"ply {full}: search.kl_prior must be a number >= 0 or null" in res["badkl.jsonl"].reason
    assert f"ply {full}: search entry must be null or an object with" in res["extra.jsonl"].reason
    row = store.query("SELECT search_json, policy_json FROM lake.games WHERE game_id = ?",
                      [rec["gameId"]]).to_pylist()[0]
    assert json.loads(row["search_json"]) == rec["search"]
    # Per move, in SQL: how many decisions were full searches, and the mean root value of seat 1.
    got = store.query("SELECT count(*) FILTER (WHERE (s->>'full')::BOOLEAN) AS full, "
                      "count(*) FILTER (WHERE NOT (s->>'full')::BOOLEAN) AS fast "
                      "FROM (SELECT unnest(CAST(search_json AS JSON[])) AS s FROM lake.games "
                      "WHERE game_id = ?) WHERE s IS NOT NULL AND s::VARCHAR <> 'null'",
                      [rec["gameId"]]).to_pylist()[0]
    assert got == {"full": sum(s["full"] for s in searched), "fast": sum(not s["full"] for s in searched)}
    # The mean KL of the game's targets from the search's prior, in SQL and from the record.
    kl = store.query("SELECT avg((s->>'kl_prior')::DOUBLE) AS kl FROM (SELECT unnest(CAST(search_json AS JSON[])) "
                     "AS s FROM lake.games WHERE game_id = ?)", [rec["gameId"]]).to_pylist()[0]["kl"]
    from ringrift_ml.ai.signal import summarize

    assert kl == pytest.approx(summarize([rec])["kl_prior"]) and kl > 0
    _assert_nothing_lost(store)


def test_a_finished_game_without_winner_and_a_truncated_game_are_quarantined(store):
    recs = random_records(2, seed=8)
    no_winner = dict(recs[0], winner=None, ranks=None)
    truncated = dict(recs[1], moves=recs[1]["moves"][:-5], winner=None, ranks=None)
    _land(store, "nowinner.jsonl", [no_winner])
    _land(store, "truncated.jsonl", [truncated])
    res, _ = _ingest(store)
    assert "finished game with winner null" in res["nowinner.jsonl"].reason
    assert "not finished after its" in res["truncated.jsonl"].reason


# ---- 5. names, suffixes and links ----------------------------------------------------------
def test_suffixes_any_case_hidden_files_and_unknown_suffixes(store):
    _land(store, "UPPER.JSONL", random_records(1, seed=1))
    (store.root / "landing" / "single.json").write_text(json.dumps(random_records(1, seed=2)[0]))
    (store.root / "landing" / "list.json").write_text(json.dumps(random_records(2, seed=3)))
    (store.root / "landing" / ".hidden.jsonl").write_text("{}")
    (store.root / "landing" / "notes.txt").write_text("hello")
    (store.root / "landing" / "sub").mkdir()
    res, look = _ingest(store)
    assert {k: v.status for k, v in res.items()} == {"UPPER.JSONL": "ingested", "single.json": "ingested",
                                                     "list.json": "ingested"}
    reasons = dict(look.rejected)
    assert "hidden file" in reasons[".hidden.jsonl"]
    assert "unknown suffix" in reasons["notes.txt"]
    assert "directory" in reasons["sub"]
    assert os.listdir(store.root / "landing") == []
    assert _assert_nothing_lost(store)["in_lake"] == 4


def test_a_symlink_is_quarantined_and_its_target_never_read(store, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text("TOP-SECRET-CONTENT\n")
    (store.root / "landing").mkdir(parents=True)
    os.symlink(secret, store.root / "landing" / "link.jsonl")
    _, look = _ingest(store)
    assert "symbolic link" in dict(look.rejected)["link.jsonl"]
    assert secret.read_text() == "TOP-SECRET-CONTENT\n"
    qd = store.root / "quarantine"
    for f in qd.iterdir():
        if not f.is_symlink():
            assert "TOP-SECRET" not in f.read_text()
    ledger = json.dumps(store.query("SELECT * FROM lake.landing_events").to_pylist(), default=str)
    assert "TOP-SECRET" not in ledger
    assert any(f.is_symlink() for f in qd.iterdir())  # the link itself, moved unread


# ---- the torture test ----------------------------------------------------------------
def test_every_scenario_in_one_root_and_the_audit_finds_nothing_lost(store, capsys, monkeypatch):
    """The scenarios above, interleaved in one storage root over two passes, then
    `ringrift lake audit` (the command researchers run) reports lost 0."""
    from ringrift_ml.cli import main

    land = store.root / "landing"
    batches = [
        [("a b.jsonl", random_records(3, seed=1)), ("a_b.jsonl", random_records(2, seed=10)),
         ("é.jsonl", random_records(1, seed=20)), ("x.jsonl", random_records(2, seed=30))],
        [("a b.jsonl", random_records(2, seed=40)), ("ü.jsonl", random_records(1, seed=50)),
         ("UPPER.JSONL", random_records(1, seed=60)), ("copy.jsonl", random_records(3, seed=1))],
    ]
    for k, batch in enumerate(batches):
        for name, recs in batch:
            _land(store, name, recs)
        bad = random_records(1, seed=70 + k)[0]
        (land / f"bad{k}.jsonl").write_text(json.dumps(dict(bad, winner=None)) + "\n")
        (land / f".dot{k}").write_text("x")
        (land / f"notes{k}.txt").write_text("x")
        _ingest(store)
    rep = _assert_nothing_lost(store)
    # 3+2+1+2 then 2+1+1 games ingested (copy.jsonl repeats a.jsonl's bytes), 2 bad.
    assert rep["in_lake"] == 12 and rep["quarantined"] == 2 and rep["pending"] == 0
    if store.schema:
        monkeypatch.setenv("RINGRIFT_LAKE_SCHEMA", store.schema)
    capsys.readouterr()
    rc = main(["lake", "audit", "--storage", str(store.root), "--catalog", store.catalog])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.startswith(f"lake {store.lake_id}: files 13, games 14, in_lake 12, quarantined 2, lost 0"), out
    print(out, file=sys.stderr)


# ---- one lake, one data path ------------------------------------------------------------
def test_a_catalog_of_another_root_is_refused_with_both_paths_and_nothing_moves(store, tmp_path, monkeypatch):
    """A PostgreSQL catalog belongs to the data path it was created with: a second
    storage root opening it fails with both paths named, before its landing zone is
    touched; given that data path (a shared mount) it is the same lake.  A SQLite
    catalog lives under its root (a moved root keeps its lake)."""
    from ringrift_ml.cli import main
    from ringrift_ml.lake import LakeError, LakeStore

    _land(store, "a.jsonl", random_records(3, seed=1))
    _ingest(store)
    other = tmp_path / "other"
    write_jsonl(other / "landing" / "b.jsonl", random_records(2, seed=9))
    if store.kind == "sqlite":
        moved = tmp_path / "moved"
        import shutil

        shutil.copytree(store.root, moved)
        assert len(_games(LakeStore.open(moved))) == 3
        return
    monkeypatch.setenv("RINGRIFT_LAKE_SCHEMA", store.schema)
    with pytest.raises(LakeError) as e:
        LakeStore.open(other, store.catalog, store.schema)
    assert str(store.data_path) in str(e.value) and str(other / "lake" / "data") in str(e.value)
    assert main(["lake", "ingest", "--storage", str(other), "--catalog", store.catalog]) == 1
    assert (other / "landing" / "b.jsonl").is_file()  # nothing staged, nothing lost
    assert main(["lake", "audit", "--storage", str(other), "--catalog", store.catalog]) == 1
    shared = LakeStore.open(other, store.catalog, store.schema, data_path=store.data_path)
    assert len(_games(shared)) == 3


def test_a_duplicate_is_discarded_only_when_its_earlier_copy_is_readable(store):
    """The ledger knows the bytes, but the lake lost the earlier copy's data files: the
    new copy stays in the landing zone, the error says why, and the audit reports the
    missing files."""
    from ringrift_ml.lake import LakeError

    recs = random_records(2, seed=3)
    _land(store, "a.jsonl", recs)
    _ingest(store)
    _land(store, "again.jsonl", recs)  # the same bytes: a duplicate, discarded
    res, _ = _ingest(store)
    assert not (store.root / "landing" / "again.jsonl").exists()
    files = [r["data_file"] for r in store.query("SELECT data_file FROM ducklake_list_files('lake', 'games')")
             .to_pylist()]
    for f in files:
        Path(f).unlink()
    _land(store, "third.jsonl", recs)
    with pytest.raises(LakeError, match="cannot be read|holds 0 of the 2"):
        _ingest(store)
    assert (store.root / "landing" / "third.jsonl").is_file()
    rep = audit(store)
    assert rep["missing_files"] == len(files) > 0 and any("missing" in p for p in rep["problems"])
