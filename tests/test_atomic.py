"""Atomic file writes: a reader sees the old file or the new one, never a part."""

import numpy as np
import pytest

from ringrift_ml.atomic import atomic_path, write_bytes, write_text


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "state.json"
    write_text(target, "old")
    write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "model.bin"
    write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of the ne")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_a_writer_that_wants_its_own_suffix(tmp_path):
    target = tmp_path / "set.npz"
    with atomic_path(target, suffix=".tmp.npz") as tmp:
        np.savez(tmp, a=np.arange(3))
    assert np.load(target)["a"].tolist() == [0, 1, 2] and [p.name for p in tmp_path.iterdir()] == ["set.npz"]
