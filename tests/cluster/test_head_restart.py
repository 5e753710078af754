"""The Ray head dies in the middle of a loop generation: the driver ends (Ray ends a
driver whose head is gone), the cluster comes back at the same address, and the same
command resumes the generation without losing or doubling a game.

The cluster is the package's (``local_cluster``); the test kills its processes (only
that cluster's) and starts the head and the second node again on the same port, so
later tests find it as before.  The driver runs in a subprocess: this process must not be joined to a head
that is about to die.

The first driver holds its selfplay after the first game comes back (its ``on_game``
blocks), so the head dies while the generation's games are being played on any
machine, however fast: a fixed sleep let a fast machine finish the generation before
the head went."""

from __future__ import annotations

import os
import subprocess
import sys

from .raycluster import ENV

DRIVER = """
import sys, time
import ringrift_ml.selfplay as selfplay
from ringrift_ml.lake import LakeStore
from ringrift_ml.loop import LoopConfig, run_loop

if sys.argv[4] == "hold":  # stop collecting after the first game until the head is gone
    play = selfplay.run_selfplay

    def held(cfg, *args, **kw):
        def first(count, rec):
            print("GAME", count, flush=True)
            time.sleep(3600)
        return play(cfg, *args, on_game=first, **kw)

    selfplay.run_selfplay = held

store = LakeStore.open(sys.argv[2])
cfg = LoopConfig(board="square8", players=2, games=int(sys.argv[3]), simulations=4, bootstrap="mcts:4",
                 gate_min_games=2, gate_max_games=2, batch_games=2, train=(("epochs", 1), ("preset", "tiny")),
                 ladder_games=0, workers=2, ray_address=sys.argv[1])
rows = run_loop(store, cfg, generations=1, progress=False, log=lambda m: print(m, flush=True))
print("STATUS", rows[0]["status"], flush=True)
"""
GAMES = 60


def test_a_head_restart_mid_generation_resumes_without_loss(local_cluster, tmp_path):
    import ray

    from ringrift_ml.cluster import close_pools
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.landing import audit
    from ringrift_ml.loop import registry

    if ray.is_initialized():  # joined by an earlier test of the package: leave before the head dies
        close_pools()
        ray.shutdown()
    # A driver without its head gives up after this long (Ray's default: 60 s).
    env = {**os.environ, **ENV, "RAY_gcs_rpc_server_reconnect_timeout_s": "5", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", DRIVER, local_cluster.address, str(tmp_path), str(GAMES)]
    first = subprocess.Popen(cmd + ["hold"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    lines = []
    try:
        for line in first.stdout:
            lines.append(line)
            if line.startswith("GAME"):
                break
        assert local_cluster.stop() > 0
        out, _ = first.communicate(timeout=240)
        lines.append(out)
    finally:
        if first.poll() is None:
            first.kill()
        local_cluster.start()
    log = "".join(lines)
    assert first.returncode != 0 and "STATUS" not in log, log[-3000:]
    store = LakeStore.open(tmp_path)
    assert registry(store, "square8", 2) == []  # the generation did not finish
    # The same command on the restarted cluster finishes the generation.
    second = subprocess.run(cmd + ["go"], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "STATUS" in second.stdout, (second.stdout + second.stderr)[-3000:]
    store = LakeStore.open(tmp_path)
    (row,) = registry(store, "square8", 2)
    assert row["generation"] == 0 and row["selfplay_games"] == GAMES
    n = store.query("SELECT count(*) AS n, count(DISTINCT game_id) AS d FROM lake.games WHERE "
                    "json_extract_string(generator_config, '$.label') = 'loop:square8|2:g0'").to_pylist()[0]
    assert n == {"n": GAMES, "d": GAMES}  # every selfplay game once: none lost, none doubled
    report = audit(store)
    assert report["lost"] == 0 and report["missing_files"] == 0 and not report["problems"], report
