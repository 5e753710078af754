"""A Ray cluster of two nodes on this machine (``ray start --head`` plus ``ray start
--address``), one CPU each, started once for the tests of this package and stopped
after them (``ray stop``), also when a test fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="package")
def ray_cluster():
    pytest.importorskip("ray")
    ray_cli = shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not installed")
    env = {**os.environ, **ENV}
    os.environ.update(ENV)  # this process joins the same cluster
    port = _free_port()
    address = f"127.0.0.1:{port}"

    def run(*args):
        subprocess.run([ray_cli, *args], env=env, check=True, capture_output=True, timeout=180)

    try:
        run("start", "--head", "--num-cpus", "1", "--port", str(port), "--include-dashboard=false",
            "--disable-usage-stats")
        run("start", "--address", address, "--num-cpus", "1")
        yield address
    finally:
        import ray

        from ringrift_ml.cluster import close_pools

        if ray.is_initialized():
            close_pools()
            ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=180)
