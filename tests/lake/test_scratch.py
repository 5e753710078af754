"""Scratch directories: a killed process's are removed by the next step on its host."""

import os
import subprocess
import sys

import pytest

from ringrift_ml.lake import scratch


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_sweep_removes_only_this_hosts_directories_of_stopped_processes(tmp_path):
    mine = scratch.make_scratch(tmp_path, "samples-square8-2p-g3")
    (mine / "part-00000.parquet").write_bytes(b"x")
    host = scratch._host()
    dead = tmp_path / f"samples-square8-2p-g2@{host}@{_dead_pid()}@abc"
    dead.mkdir()
    (dead / "part-00000.parquet").write_bytes(b"x" * 10)
    parent = tmp_path / f"samples-hexagonal-2p-g1@{host}@{os.getppid()}@abc"  # a running process
    parent.mkdir()
    other_host = tmp_path / f"samples-square8-2p-g2@{host}-elsewhere@{_dead_pid()}@abc"
    other_host.mkdir()
    foreign = tmp_path / "not-made-here"
    foreign.mkdir()
    assert mine.name.startswith(f"samples-square8-2p-g3@{host}@{os.getpid()}@")

    assert scratch.sweep_scratch(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, parent, other_host, foreign))
    assert scratch.sweep_scratch(tmp_path / "absent") == []


def test_scratch_names_cannot_hide_the_tag():
    with pytest.raises(ValueError, match="'@' and '/'"):
        scratch.make_scratch(__import__("pathlib").Path("/tmp"), "a@b")
