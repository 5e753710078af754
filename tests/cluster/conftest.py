"""A Ray cluster of two nodes on this machine (``ray start --head`` plus ``ray start
--address``), one CPU each, started once for the tests of this package and stopped
after them, also when a test fails.  Only that cluster is stopped
(:mod:`tests.cluster.raycluster`), not every Ray process of the machine as ``ray stop``
would: a loop or campaign running beside the tests keeps its cluster."""

from __future__ import annotations

import os
import shutil

import pytest

from .raycluster import ENV, LocalCluster


@pytest.fixture(scope="package")
def local_cluster():
    pytest.importorskip("ray")
    if shutil.which("ray") is None:
        pytest.skip("the ray command is not installed")
    os.environ.update(ENV)  # this process joins the same cluster
    cluster = LocalCluster(num_cpus=1)
    try:
        cluster.start()
        yield cluster
    finally:
        import ray

        from ringrift_ml.cluster import close_pools

        if ray.is_initialized():
            close_pools()
            ray.shutdown()
        cluster.remove()


@pytest.fixture(scope="package")
def ray_cluster(local_cluster):
    """The test cluster's address."""
    return local_cluster.address
