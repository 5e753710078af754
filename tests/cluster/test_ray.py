"""Selfplay on a Ray cluster of two nodes: the same games as in-process, and faults
(an actor process killed mid-run) cost no game and double none."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time

import pytest

from ringrift_ml.cluster import ActorPool, ClusterError, close_pools, connect, remote_cpu_seconds, shared_pool
from ringrift_ml.selfplay import SelfplayConfig, _RayWorker, run_selfplay

CFG = SelfplayConfig(board="square8", players=("mcts:8", "heuristic"), games=8, seed=3, batch_games=2)


def _wait_for_nodes(n: int, timeout: float = 60.0) -> None:
    import ray

    t0 = time.time()
    while sum(1 for x in ray.nodes() if x["Alive"]) < n:
        if time.time() - t0 > timeout:
            raise AssertionError(f"the cluster has fewer than {n} live nodes after {timeout} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def address(ray_cluster):
    connect(ray_cluster)
    _wait_for_nodes(2)
    assert connect(ray_cluster)["CPU"] == 2  # a second call reuses the connection
    return ray_cluster


def test_selfplay_on_two_nodes_plays_the_in_process_games(address, tmp_path):
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    here = run_selfplay(CFG, progress=False)
    cpu = remote_cpu_seconds()
    there = run_selfplay(dataclasses.replace(CFG, ray_address=address, workers=2), progress=False)
    assert there == here  # engine players: the same records, byte for byte
    assert remote_cpu_seconds() > cpu  # the actors' CPU is accounted to this process
    # A network player: the checkpoint travels to the actors as bytes.
    save_net(RingNet(net_config("square8", "tiny")), tmp_path / "m.pt", {}, {})
    cfg = dataclasses.replace(CFG, players=(f"nn:{tmp_path / 'm.pt'}:4", "heuristic"), games=4)
    here = run_selfplay(cfg, progress=False)
    pool = shared_pool(address, 2)  # the pool run_selfplay used: its actors stay up
    assert len(pool.actors) == 2 and len(set(pool.nodes())) == 2  # one actor per node
    pids = pool.pids()
    there = [r for recs in pool.map(_RayWorker(cfg), [[0, 1], [2, 3]]) for r in recs]
    assert pool.pids() == pids and shared_pool(address, 2) is pool
    # The same games (ids hash the moves); float targets may differ in the last digit
    # with the network's batch composition.
    assert [r["gameId"] for r in there] == [r["gameId"] for r in here]
    assert [r["moves"] for r in there] == [r["moves"] for r in here]


@pytest.mark.parametrize("restarts", [2, 0])
def test_an_actor_killed_mid_run_costs_no_game(address, restarts):
    """Ray restarts a killed actor and retries its task (``restarts`` 2); without
    restarts the pool hands the dead actor's task to the other.  Either way every game
    comes back once, equal to the in-process game."""
    cfg = dataclasses.replace(CFG, games=10)
    here = run_selfplay(cfg, progress=False)
    close_pools()  # their actors hold the cluster's two CPUs
    pool = ActorPool(address, workers=2, max_restarts=restarts, max_task_retries=restarts)
    pids = pool.pids()
    killed = []

    def kill_one(i, recs):
        if not killed:  # at the first result the other tasks are running or queued
            os.kill(pids[1], signal.SIGKILL)
            killed.append(pids[1])

    try:
        got = pool.map(_RayWorker(cfg), [[i] for i in range(cfg.games)], on_result=kill_one)
        left = len(pool.actors)
    finally:
        pool.close()
    records = [r for recs in got for r in recs]
    assert killed and records == here
    assert len({r["gameId"] for r in records}) == cfg.games
    if restarts == 0:
        assert len(pool.lost) == 1 and pool.lost[0][0] == 1  # the task moved to the survivor
        assert left == 1  # the dead actor left the pool


def test_a_bad_address_is_a_clear_error():
    import socket

    with pytest.raises(ClusterError, match="ray_address: empty"):
        connect("")
    # A head that does not answer is named at once (Ray itself would wait for minutes).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
            with pytest.raises(ClusterError, match=f"cannot connect: nothing accepts connections at 127.0.0.1:{port}"):
                connect(address)


def test_a_closed_pool_leaves_no_shipped_files_behind(address, tmp_path):
    """Each actor writes the model files shipped to it into a temporary directory;
    closing the pool releases them before the actors are killed (a killed process runs
    no finalizers), so nothing is left on the hosts' disks."""
    import tempfile
    from pathlib import Path

    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    close_pools()  # the shared pool's actors hold the cluster's two CPUs
    save_net(RingNet(net_config("square8", "tiny")), tmp_path / "release-probe.pt", {}, {})
    cfg = dataclasses.replace(CFG, players=(f"nn:{tmp_path / 'release-probe.pt'}:4", "heuristic"), games=2)

    def copies() -> set:  # the actors run on this machine, with its temporary directory
        return {p.parent.parent for p in Path(tempfile.gettempdir()).glob("ringrift-shipped-*/model*/release-probe.pt")}

    before = copies()
    pool = ActorPool(address, workers=2)
    try:
        assert len(pool.map(_RayWorker(cfg), [[0], [1]])) == 2
        made = copies() - before
        assert len(made) == 2  # one copy per actor, kept while its players live
    finally:
        pool.close()
    assert not any(d.exists() for d in made)


def test_more_workers_than_cpus_is_a_clear_error(address):
    with pytest.raises(ClusterError, match="3 actors of one CPU each asked for.*2 CPU"):
        ActorPool(address, workers=3)


def test_a_loop_generation_plays_its_games_on_the_cluster(address, tmp_path):
    """``LoopConfig.ray_address``: the generation's selfplay and gate games come from the
    actors, the driver writes them to the lake once, and the steps' CPU includes theirs."""
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.loop import LoopConfig, run_loop

    store = LakeStore.open(tmp_path)
    cfg = LoopConfig(board="square8", players=2, games=6, simulations=4, bootstrap="mcts:4", gate_min_games=2,
                     gate_max_games=2, batch_games=3, train=(("epochs", 2), ("preset", "tiny")), ladder_games=0,
                     workers=2, ray_address=address)
    cpu = remote_cpu_seconds()
    row = run_loop(store, cfg, generations=1, progress=False, log=lambda m: None)[0]
    spent = remote_cpu_seconds() - cpu
    assert row["selfplay_games"] == 6 and spent > 0
    assert row["selfplay_cpu_seconds"] + row["gate_cpu_seconds"] >= spent - 0.2
    assert row["gate_games"] == 2
    n = store.query("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.games WHERE "
                    "json_extract_string(generator_config, '$.label') = 'loop:square8|2:g0'").to_pylist()[0]
    assert n == {"n": 6, "d": 6}


def test_matches_on_the_cluster_play_the_in_process_games(address, tmp_path):
    """``RayMatches`` as ``arena.match``'s runner: a head-to-head and a sequential test
    between a network under search and the heuristic give the games, scores and kept
    games they give in-process."""
    from ringrift_ml.arena import SPRT, head_to_head, sequential_match
    from ringrift_ml.loop.remote import RayMatches
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config
    from ringrift_ml.nn.players import make_player

    save_net(RingNet(net_config("square8", "tiny")), tmp_path / "m.pt", {}, {})
    spec = f"nn:{tmp_path / 'm.pt'}:4"
    a, ab = make_player(spec, "square8", 2)
    b, bb = make_player("heuristic", "square8", 2)
    a.name, b.name = "g0", "heuristic"
    kw = dict(seed=11, concurrency=2, random_opening=2, progress=False)
    here = head_to_head(a, b, ab, bb, "square8", 5, details=True, **kw)
    runner = RayMatches(address, 2, "square8", 2, {"g0": (spec, None), "heuristic": ("heuristic", None)})
    seen = []
    there = head_to_head(a, b, ab, bb, "square8", 5, details=True, runner=runner,
                         on_played=lambda pg, seat: seen.append((pg.job.players[seat - 1].name, len(pg.moves))),
                         **kw)
    assert there == here
    assert seen == [("g0", g["moves"]) for g in here["games_played"]]
    s_here = sequential_match(a, b, ab, bb, "square8", SPRT(0, 35), max_games=4, **kw)
    s_there = sequential_match(a, b, ab, bb, "square8", SPRT(0, 35), max_games=4, runner=runner, **kw)
    assert s_there == s_here
    with pytest.raises(ValueError, match="not entrants"):
        c, cb = make_player("random", "square8", 2)
        head_to_head(c, b, cb, bb, "square8", 1, runner=runner, progress=False)


def test_arena_command_on_the_cluster_prints_the_in_process_result(address, capsys):
    """``ringrift arena --ray-address``: a head-to-head and a round robin of three played
    on the cluster's actors print what the same command prints in-process; a bad
    ``--workers`` is one clear line."""
    from ringrift_ml.cli import main

    def arena(*extra) -> dict:
        assert main(["arena", "--board", "square8", "--games", "4", "--seed", "7", "--random-opening", "2",
                     "--concurrency", "2", "--json", "--no-progress", *extra]) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    for players in ("mcts:4,heuristic", "mcts:4,heuristic,random"):
        here = arena("--players", players)
        there = arena("--players", players, "--ray-address", address, "--workers", "2")
        assert there == here
    assert sorted(r["player"] for r in here["elo"]) == ["heuristic", "mcts:4", "random"]
    assert main(["arena", "--board", "square8", "--players", "heuristic,random", "--ray-address", address,
                 "--workers", "0", "--no-progress"]) == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
