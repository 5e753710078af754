"""Partitions and the storage layout: one value, one map of paths."""

import pytest

from ringrift_ml.lake.layout import Layout, Partition, storage_root


def test_partition_round_trips_its_key_and_refuses_bad_ones():
    p = Partition.parse("square8|2")
    assert (p.board, p.players, p.key, p.stem, p.label) == ("square8", 2, "square8|2", "square8_2p", "square8 2p")
    assert Partition.parse(" hexagonal | 4 ") == Partition("hexagonal", 4)
    assert len(Partition.all()) == 12 and len(set(Partition.all())) == 12
    assert all(Partition.parse(q.key) == q for q in Partition.all())
    for bad, field in (("square8", "partition 'square8'"), ("square8|x", "partition 'square8|x'"),
                       ("chess|2", "partition board"), ("square8|5", "partition players")):
        with pytest.raises(ValueError, match=field):
            Partition.parse(bad)
    with pytest.raises(ValueError, match="partition players"):
        Partition("square8", True)


def test_layout_names_every_path_under_the_root(tmp_path, monkeypatch):
    lay = Layout(tmp_path)
    p = Partition("hex8", 3)
    assert lay.generation_dir(p, 7) == tmp_path / "models" / "hex8_3p" / "loop" / "g0007"
    assert lay.export(p, "abc") == tmp_path / "exports" / "hex8_3p" / "abc.npz"
    assert lay.weights_file == tmp_path / "weights" / "heuristic.json"
    assert lay.tuning_dir(p, "h").parent.name == "hex8_3p"
    assert lay.ladder_plot(p).name == "ladder_hex8_3p.svg"
    assert lay.relative(lay.generation_dir(p, 0) / "model.pt") == "models/hex8_3p/loop/g0000/model.pt"
    with pytest.raises(ValueError, match="not under the storage root"):
        lay.relative(tmp_path.parent / "elsewhere")
    with pytest.raises(ValueError, match="generation"):
        lay.generation_dir(p, -1)
    monkeypatch.setenv("RINGRIFT_STORAGE", str(tmp_path / "env"))
    assert storage_root() == tmp_path / "env" and storage_root(tmp_path / "x") == tmp_path / "x"
    assert Layout.at().root == tmp_path / "env"
    monkeypatch.delenv("RINGRIFT_STORAGE")
    monkeypatch.chdir(tmp_path)
    assert storage_root() == tmp_path / "storage"


def test_candidates_are_found_by_generation_number(tmp_path):
    lay = Layout(tmp_path)
    p = Partition("square8", 2)
    assert lay.candidates(p) == []
    for g in (9, 10, 2):
        lay.generation_dir(p, g).mkdir(parents=True)
        lay.candidate_of(p, g).write_bytes(b"x")
    lay.generation_dir(p, 11).mkdir()  # a run that saved nothing yet
    assert [g for g, _ in lay.candidates(p)] == [2, 9, 10]  # numbers, not names: g0010 after g0009
    assert lay.candidates(p)[-1][1] == lay.candidate_of(p, 10)
