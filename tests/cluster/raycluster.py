"""A Ray cluster of two nodes on this machine for the tests, which stops only itself.

``ray stop`` stops every Ray process of the machine, also the cluster of a loop or a
campaign running beside the tests.  Each test cluster therefore has a temporary
directory of its own (``--temp-dir``, on both nodes), named with :data:`PREFIX`: its
daemons (GCS, raylets, monitors) carry that directory on their command lines, and
their workers and agents, which rename themselves (``ray::...``), are the raylets'
descendants.  :func:`stop_clusters` kills those processes and nothing else.

``python -m tests.cluster.raycluster`` stops every test cluster left on the machine
(``.ci/run`` calls it on exit).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PREFIX = "rrtest-ray-"
"""The start of every test cluster's temporary directory's name."""

ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict:
    """``{pid: (parent pid, command line)}`` of the machine's processes (Linux ``/proc``)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                # the field after the parenthesised command name is the state, then the parent
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        out[int(name)] = (ppid, cmd)
    return out


def cluster_pids(marker: str) -> set:
    """The processes whose command line holds ``marker`` (a cluster's temporary
    directory, or :data:`PREFIX` for every test cluster) and all their descendants;
    never this process."""
    procs = _processes()
    children: dict = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    todo = [pid for pid, (_, cmd) in procs.items() if marker in cmd]
    found: set = set()
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    found.discard(os.getpid())
    return found


def stop_clusters(marker: str = "/" + PREFIX, timeout: float = 30.0) -> int:
    """Kill the processes of the test cluster(s) that ``marker`` names (see
    :func:`cluster_pids`) and wait until they are gone; returns how many there were."""
    pids = cluster_pids(marker)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return len(pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, awaiting its parent
    except OSError:
        return False


class LocalCluster:
    """A head and one more node, ``num_cpus`` CPUs each, in a temporary directory of
    their own; :meth:`stop` kills them (and only them), :meth:`start` starts them again
    on the same address."""

    def __init__(self, num_cpus: int = 1):
        self.num_cpus = num_cpus
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        # short: Ray's unix sockets live under it, and their paths have a length limit
        self.temp_dir = tempfile.mkdtemp(prefix=PREFIX, dir="/tmp")
        self.env = {**os.environ, **ENV}

    def start(self) -> None:
        ray_cli = shutil.which("ray")
        if ray_cli is None:
            raise RuntimeError("the ray command is not installed")
        common = ["--num-cpus", str(self.num_cpus), "--temp-dir", self.temp_dir]
        for args in (["start", "--head", "--port", str(self.port), "--include-dashboard=false",
                      "--disable-usage-stats", *common], ["start", "--address", self.address, *common]):
            subprocess.run([ray_cli, *args], env=self.env, check=True, capture_output=True, timeout=180)

    def stop(self) -> int:
        return stop_clusters(self.temp_dir)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


if __name__ == "__main__":
    print(f"stopped {stop_clusters()} process(es) of test Ray clusters")
