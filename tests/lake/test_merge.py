"""games_merged is brought up to date incrementally and always equals the full rebuild:
one row per move sequence, the earliest row (created_at, then entry_id) winning."""

import datetime as dt

from ringrift_ml.lake.generated import write_generated
from ringrift_ml.lake.io import append
from ringrift_ml.lake.merge import merge_partition

from .conftest import random_records


def _merged(store):
    return sorted((r["move_hash"], r["entry_id"]) for r in store.query(
        "SELECT move_hash, entry_id FROM lake.games_merged WHERE board = 'square8' AND players = 2").to_pylist())


def _by_rule(store):
    """The winners computed here, from lake.games, by games_merged.sql's rule."""
    best = {}
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    for r in store.query("SELECT move_hash, entry_id, created_at FROM lake.games "
                         "WHERE board = 'square8' AND players = 2").to_pylist():
        key = (r["created_at"] or far, r["entry_id"])
        if r["move_hash"] not in best or key < best[r["move_hash"]][0]:
            best[r["move_hash"]] = (key, r["entry_id"])
    return sorted((h, e) for h, (_, e) in best.items())


def _copy_of(store, source_id, **change):
    row = store.query("SELECT * FROM lake.games WHERE game_id = ?", [source_id]).to_pylist()[0]
    row.update(change)
    store.write(lambda con: append(con, "games", [row]), "a copy of a game")
    return row


def test_merges_rewrite_only_what_changed_and_equal_the_full_rebuild(store):
    write_generated(store, random_records(4, seed=1), run_id="a")
    first = merge_partition(store, "square8", 2)
    assert first["changed"] == 4 and first["rows_out"] == 4 and _merged(store) == _by_rule(store)
    assert merge_partition(store, "square8", 2)["changed"] == 0  # nothing new: nothing rewritten
    write_generated(store, random_records(3, seed=20), run_id="b")
    second = merge_partition(store, "square8", 2)
    assert second["changed"] == 3 and second["rows_out"] == 7 and _merged(store) == _by_rule(store)
    # The same move sequence again, later, under another id: it loses, nothing changes.
    winner = dict(_merged(store))
    some = store.query("SELECT game_id, move_hash, created_at FROM lake.games ORDER BY game_id LIMIT 2").to_pylist()
    _copy_of(store, some[0]["game_id"], entry_id="late-copy", game_id="late-copy",
             created_at=some[0]["created_at"] + dt.timedelta(hours=1))
    third = merge_partition(store, "square8", 2)
    assert third["changed"] == 0 and third["rows_out"] == 7 and third["duplicates_removed"] == 1
    assert dict(_merged(store))[some[0]["move_hash"]] == winner[some[0]["move_hash"]]
    # ... and earlier than the merged row (a landed file may carry an old time): it wins.
    _copy_of(store, some[1]["game_id"], entry_id="early-copy", game_id="early-copy",
             created_at=some[1]["created_at"] - dt.timedelta(days=1))
    fourth = merge_partition(store, "square8", 2)
    assert fourth["changed"] == 1 and fourth["rows_out"] == 7
    assert dict(_merged(store))[some[1]["move_hash"]] == "early-copy"
    assert _merged(store) == _by_rule(store)
    # A rebuild from nothing gives the same table.
    before = _merged(store)
    full = merge_partition(store, "square8", 2, rebuild=True)
    assert full["changed"] == 7 and _merged(store) == before
    # The merged rows are whole rows of lake.games.
    n = store.query("SELECT count(*) AS n FROM lake.games_merged m JOIN lake.games g USING (entry_id) "
                    "WHERE m.moves_json = g.moves_json AND m.policy_json IS NOT DISTINCT FROM g.policy_json").to_pylist()
    assert n[0]["n"] == 7
