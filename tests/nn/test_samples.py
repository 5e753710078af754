"""Samples of the spatial network: targets match the game, and the quality suite."""

import json

import numpy as np
import pyarrow as pa
import pytest

from ringrift_ml import quality
from ringrift_ml.lake.records import games_table
from ringrift_ml.nn.features import FEATURES
from ringrift_ml.nn.policy import layout_for
from ringrift_ml.lake.samples import build_samples
from ringrift_ml.nn.samples import SAMPLE_SCHEMA, SampleError, game_samples
from ringrift_ml.rules.records import start_state
from ringrift_ml.rules.replay import Replayer
from ringrift_ml.nn.policy import move_indices
from ringrift_ml.selfplay import SelfplayConfig, run_selfplay


@pytest.fixture(scope="module")
def searched_games():
    return run_selfplay(SelfplayConfig(board="square8", players=("mcts:16", "random"), games=2, seed=21),
                        progress=False)


def test_game_samples_match_the_game(searched_games):
    rec = searched_games[0]
    out = game_samples(rec)
    assert [o["move_number"] for o in out] == list(range(len(out)))
    game = Replayer(start_state(rec))
    by_ply = {o["ply"]: o for o in out}
    for ply, md in enumerate(rec["moves"]):
        rows = game.rows()
        row = game.match(md)
        if ply in by_ply:
            o = by_ply[ply]
            idx = move_indices("square8", game.S, rows)
            # the decision played is the played row's policy index
            assert o["legal"][o["played"]] == idx[row]
            assert sorted(o["legal"]) == sorted(set(idx.tolist())) and len(o["legal"]) > 1
            assert abs(float(np.sum(o["policy"])) - 1) < 1e-5
            assert o["player"] == md["player"]
            assert len(o["planes"]) == FEATURES.n_planes * 64
            # the sym table holds one block per symmetry (identity first)
            k = len(o["sym_legal"]) // len(o["legal"])
            assert k == 8 and list(o["sym_legal"][: len(o["legal"])]) == list(o["legal"])
        else:
            assert len(set(move_indices("square8", game.S, rows).tolist())) == 1
        game.apply_index(row)
    # mover-relative outcome: slot 0 is the mover; the winner's value is +1
    for o in out:
        assert o["value"][0] == (1.0 if o["player"] == rec["winner"] else -1.0)
        assert o["value"][1] == -o["value"][0] and o["value"][2] == o["value"][3] == 0
    searched = [o for o in out if o["has_search_policy"]]
    assert searched and all(o["player"] == 1 for o in searched)
    assert any((np.asarray(o["policy"]) > 0).sum() > 1 for o in searched)
    assert all(o["policy"][o["played"]] == 1 for o in out if not o["has_search_policy"])


def test_a_record_with_an_illegal_move_names_game_and_ply(searched_games):
    rec = json.loads(json.dumps(searched_games[1]))
    rec["moves"][3] = rec["moves"][0]
    with pytest.raises(SampleError, match=rf"game {rec['gameId']}"):
        game_samples(rec)


def test_build_samples_filters_and_quality_passes(searched_games):
    games = games_table(searched_games).to_pylist()
    games.append(dict(games[0], game_id="unfinished", winner=None))
    table, stats = build_samples(games, min_length=1)
    assert stats["games_used"] == 2 and stats["skipped_unfinished"] == 1
    assert stats["features"] == FEATURES.identity
    _, stats2 = build_samples(games, min_length=10**6)
    assert stats2["games_used"] == 0 and stats2["skipped_short"] == 2
    report = quality.validate_samples(table, "square8")
    assert report.success, report.summary()


def test_quality_catches_bad_samples(searched_games):
    table, _ = build_samples(games_table(searched_games).to_pylist(), symmetries=False)
    rows = table.to_pylist()
    rows[0]["globals"][5] = float("nan")
    rows[1]["policy"] = [x * 0.5 for x in rows[1]["policy"]]
    rows[2]["value"] = [3.0, -1.0, 0.0, 0.0]
    rows[3]["legal"] = [layout_for("square8").size] + rows[3]["legal"][1:]
    rows[4]["planes"] = rows[4]["planes"][:-1]
    with_q = [i for i, r in enumerate(rows) if r["search_value"]]
    rows[with_q[-1]]["search_value"] = [1.5, -1.0, 0.0, 0.0]
    bad = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    report = quality.validate_samples(bad, "square8")
    assert not report.success
    failed = {r["column"] for r in report.results if not r["success"]}
    assert failed == {"globals_ok", "policy_sum", "value_max", "legal_ok", "planes_ok", "search_value_ok"}
    # the wrong board: every position has the wrong size
    assert not quality.validate_samples(table, "hex8").success
    # Checked a batch at a time (how a big board's set is read from the lake), the same
    # findings, the bad rows found in whichever batch holds them.
    batched = quality.validate_samples(bad.to_batches(max_chunksize=3), "square8")
    assert batched.rows == report.rows == bad.num_rows
    assert [(r["column"], r["success"], r["unexpected_count"]) for r in batched.results] == [
        (r["column"], r["success"], r["unexpected_count"]) for r in report.results]
    assert quality.validate_samples(table.to_batches(max_chunksize=2), "square8").success
    # No batch at all is an empty set, which fails its row count.
    empty = quality.validate_samples(iter(()), "square8")
    assert not empty.success and empty.rows == 0


def test_search_values_follow_the_movers_slot(searched_games):
    """Each searched decision carries its search's root value per seat slot (the mover
    in slot 0); decisions without a search carry none."""
    rec = searched_games[0]
    out = game_samples(rec)
    seen = 0
    for o in out:
        entry = rec["search"][o["ply"]]
        if entry is None:
            assert len(o["search_value"]) == 0
            continue
        seen += 1
        mover = o["player"]
        assert o["search_value"][0] == pytest.approx(entry["values"][mover - 1], abs=1e-6)
        assert o["search_value"][1] == pytest.approx(entry["values"][2 - mover], abs=1e-6)
        assert list(o["search_value"][2:]) == [0.0, 0.0]
    assert seen and any(len(o["search_value"]) == 0 for o in out)  # the random seat never searches
    # Records that predate the values (or lack them) give samples without them.
    old = json.loads(json.dumps(rec))
    for e in old["search"]:
        if e is not None:
            del e["values"]
    assert all(len(o["search_value"]) == 0 for o in game_samples(old, symmetries=False))


def test_games_check_replays_whole_rows_read_apart_from_the_small_columns(searched_games):
    """``validate_games`` on the small columns only reads the replayed games whole
    through ``fetch``: their moves are replayed and the big columns' types checked;
    without ``fetch`` it refuses, naming the column."""
    whole = games_table(searched_games)
    light = whole.drop_columns(["moves_json", "policy_json"])
    asked = []

    def fetch(entries):
        asked.append(entries)
        return whole.filter(pa.compute.is_in(whole.column("entry_id"), pa.array(entries)))

    report = quality.validate_games(light, replay_sample=2, fetch=fetch)
    assert report.success, report.summary()
    assert sorted(asked[0]) == sorted(whole.column("entry_id").to_pylist())
    # A replayed game whose moves were cut short fails the replay; a big column of the
    # wrong type fails the schema.
    cut = whole.to_pylist()
    cut[0]["moves_json"] = json.dumps(json.loads(cut[0]["moves_json"])[:3])
    report = quality.validate_games(light, replay_sample=2, fetch=lambda e: pa.Table.from_pylist(cut, whole.schema))
    assert not report.success and any("replay" in f for f in report.failures)
    retyped = whole.set_column(whole.schema.get_field_index("policy_json"), "policy_json",
                               pa.array([b"x"] * whole.num_rows, pa.binary()))
    report = quality.validate_games(light, replay_sample=2, fetch=lambda e: retyped)
    assert not report.success and any("column policy_json is binary" in f for f in report.failures)
    assert any("unreadable: JSONDecodeError" in f for f in report.failures)
    with pytest.raises(ValueError, match="moves_json"):
        quality.validate_games(light)
