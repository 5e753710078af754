"""Work spread over a Ray cluster: long-lived actors, each holding its own state (players,
networks), run tasks handed out by the driver.

The embedded default needs none of this: with no Ray address configured every caller
runs in-process as before.  With one (``auto``: the running cluster this host belongs
to; ``local``: a Ray started inside this process; ``<host>:<port>``: the head's GCS
address; ``ray://<host>:10001``: a Ray client), :class:`ActorPool` starts ``workers``
long-lived actors of one CPU each and feeds them tasks one at a time, so a slow worker
never holds a queue of others' work.  Each piece of work (a generation's selfplay, a
gate) ships a factory that every actor runs once to build its players; the process
keeps one pool per address (:func:`shared_pool`), so actors start once per run, not
per generation.

What makes a retried task harmless is the caller's: tasks must be deterministic (game
``i`` of a selfplay run is the same game whichever actor plays it) and their results
are returned to the driver, which alone commits them to the lake (content ids: a game
played twice is written once).  Faults:

* an actor process that dies is restarted by Ray (``max_restarts``) and its running
  task retried (``max_task_retries``), both Ray's own mechanisms;
* an actor that stays dead (its restarts spent, its node gone) loses its task to the
  queue: the next live actor runs it;
* when no actor is left the pool raises :class:`ClusterError` naming the task.

Nothing here knows about games: :mod:`ringrift_ml.selfplay` builds its worker factory
on top (it ships the network files to the actors, since a path on the driver need not
exist on another host).
"""

from __future__ import annotations

import gc
import os
import socket
import time
from typing import Any, Callable, Optional

LOCAL = "local"
"""Ray address that starts Ray inside this process (no cluster to join)."""

_joined: Optional[str] = None  # the address this process's Ray connection was made for
_remote_cpu = 0.0  # CPU seconds of the tasks this process's pools ran (see remote_cpu_seconds)


def remote_cpu_seconds() -> float:
    """CPU seconds that tasks of this process's actor pools spent on the cluster so far
    (each task's process time, measured in its actor): the cluster's share of a step's
    CPU, as ``RUSAGE_CHILDREN`` is the local worker processes'.  A task an actor could
    not finish is not counted."""
    return _remote_cpu


class ClusterError(RuntimeError):
    """The cluster could not run the work (no Ray, no reachable head, every actor gone)."""


_PROBE_SECONDS = 5.0  # how long a head's port may take to accept a connection


def _reachable(address: str) -> None:
    """Raise :class:`ClusterError` when ``address`` names a host and port (``HOST:PORT``
    or ``ray://HOST:PORT``) on which nothing accepts a connection: ``ray.init`` would
    wait for such a head for minutes.  Other forms (``auto``) are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS).close()
    except OSError as e:
        raise ClusterError(f"ray_address {address!r}: cannot connect: nothing accepts connections at "
                           f"{host}:{port} ({e})") from None


def connect(address: str, num_cpus: Optional[int] = None) -> dict:
    """Join (or, for :data:`LOCAL`, start) Ray; returns the cluster's resources.  A
    second call in the same process reuses the connection."""
    try:
        import ray
    except ImportError:
        raise ClusterError("ray_address is set but Ray is not installed: pip install 'ringrift-lab[cluster]'") from None
    global _joined
    if not address:
        raise ClusterError("ray_address: empty (no cluster configured: run in-process instead)")
    if ray.is_initialized() and _joined is not None and _joined != address:
        ray.shutdown()  # a run names another cluster than the one joined before
    if not ray.is_initialized():
        if address != LOCAL:
            _reachable(address)
        kw: dict = {"log_to_driver": False, "include_dashboard": False}
        try:
            if address == LOCAL:
                ray.init(num_cpus=num_cpus, **kw)
            else:
                ray.init(address=address, **kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ClusterError(f"ray_address {address!r}: cannot connect: {e}") from None
        _joined = address
    return dict(ray.cluster_resources())


ACTOR_CLASS = "RingriftActor"
"""The actors' class name: Ray titles their processes ``ray::RingriftActor`` (and
``ray::RingriftActor.run`` while a task runs), which is how an operator finds them."""

_RELEASE_TIMEOUT = 30.0  # seconds the actors get to release their states before they are killed
_KEEP = 2  # states an actor keeps built (e.g. a gate's players while the next selfplay's load)


def _worker_class(ray, max_restarts: int, max_task_retries: int):
    class RingriftActor:
        """One long-lived actor: builds the state of a piece of work once from its
        factory (players, networks), keeps the newest few, and runs tasks with them."""

        def __init__(self):
            self._built: dict = {}

        def run(self, key: str, factory_box: list, task: Any) -> tuple:
            t0 = time.process_time()
            if key not in self._built:
                factory = ray.get(factory_box[0])  # boxed: fetched only when not built yet
                self._built[key] = factory()
                while len(self._built) > _KEEP:
                    self._built.pop(next(iter(self._built)))
            out = self._built[key](task)
            return out, time.process_time() - t0

        def release(self) -> int:
            """Drop every built state (players, and the directories of the model files
            shipped to them, which go with their handles); returns how many there were."""
            n = len(self._built)
            self._built.clear()
            gc.collect()
            return n

        def pid(self) -> int:
            return os.getpid()

        def node(self) -> str:
            return ray.get_runtime_context().get_node_id()

    return ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=max_task_retries)(RingriftActor)


class ActorPool:
    """``workers`` long-lived actors of one CPU each on the cluster at ``address``
    (``workers`` <= 0: one per CPU of the cluster).  :meth:`map` runs a piece of work:
    a factory (a picklable callable, run once per actor, returning the function that
    runs one task) and its tasks.  :func:`shared_pool` keeps one pool per address for
    the whole process, so actors start (imports, compiled code) once, not per
    generation or match."""

    def __init__(self, address: str, workers: int = 0, max_restarts: int = 2, max_task_retries: int = 2):
        import ray

        res = connect(address)
        cpus = int(res.get("CPU", 0))
        if workers <= 0:
            workers = max(1, cpus)
        if workers > cpus:
            # An actor without a CPU would wait forever, and so would the tasks handed to it.
            raise ClusterError(f"workers: {workers} actors of one CPU each asked for, the cluster at {address!r} "
                               f"has {cpus} CPU(s)")
        cls = _worker_class(ray, max_restarts, max_task_retries)
        self.actors = [cls.remote() for _ in range(workers)]
        self.lost: list = []  # (actor index, task index, error) of every task an actor could not finish

    def pids(self) -> list:
        """The actors' process ids (for fault tests and for operators)."""
        import ray

        return ray.get([a.pid.remote() for a in self.actors])

    def nodes(self) -> list:
        """The Ray node id each actor runs on."""
        import ray

        return ray.get([a.node.remote() for a in self.actors])

    def map(self, factory: Callable[[], Callable[[Any], Any]], tasks: list,
            on_result: Optional[Callable[[int, Any], None]] = None) -> list:
        """Run every task with ``factory``'s state; results in task order.
        ``on_result(i, result)`` sees each as it arrives (completion order).  A task
        whose actor died for good is run again by another actor; that actor leaves the
        pool."""
        global _remote_cpu
        import uuid

        import ray
        from ray.exceptions import RayActorError

        if not self.actors:
            raise ClusterError("the actor pool has no actors left")
        key = uuid.uuid4().hex
        box = [ray.put(factory)]
        queue = list(range(len(tasks)))[::-1]  # pop() hands out the first task first
        results: dict = {}
        live = list(range(len(self.actors)))
        running: dict = {}  # object ref -> (actor index, task index)

        def feed(a: int) -> None:
            if queue:
                t = queue.pop()
                running[self.actors[a].run.remote(key, box, tasks[t])] = (a, t)

        for a in live:
            feed(a)
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                ref = done[0]
                a, t = running.pop(ref)
                try:
                    out, cpu = ray.get(ref)
                except RayActorError as e:
                    self.lost.append((a, t, str(e).splitlines()[0]))
                    live.remove(a)
                    queue.append(t)  # the next free actor runs it
                    if not live:
                        raise ClusterError(f"every actor is gone; task {t} of {len(tasks)} unfinished "
                                           f"(last error: {str(e).splitlines()[0]})") from None
                    busy = {v[0] for v in running.values()}
                    for x in live:
                        if x not in busy:
                            feed(x)
                    continue
                results[t] = out
                _remote_cpu += cpu
                if on_result is not None:
                    on_result(t, out)
                feed(a)
        finally:
            gone = set(range(len(self.actors))) - set(live)
            self.actors = [x for i, x in enumerate(self.actors) if i not in gone]
        return [results[t] for t in range(len(tasks))]

    def close(self) -> None:
        """Stop the actors (and forget the pool if it is the shared one).  Each is first
        asked to release what it built: ``ray.kill`` ends the process without running
        finalizers, which would leave the copies of shipped model files on its host's
        disk, one set per actor and pool (an actor that does not answer in time is
        killed all the same)."""
        import ray

        try:
            ray.get([a.release.remote() for a in self.actors], timeout=_RELEASE_TIMEOUT)
        except Exception:  # noqa: BLE001 - a dead or stuck actor must not keep the others alive
            pass
        for a in self.actors:
            ray.kill(a)
        self.actors = []
        for k, (_, v) in list(_pools.items()):
            if v is self:
                del _pools[k]


_pools: dict = {}  # address -> (workers asked for, pool)


def shared_pool(address: str, workers: int = 0) -> ActorPool:
    """The process's pool on ``address`` (started on first use).  One per address: a
    request for another size stops the old pool first (its actors hold the CPUs the
    new one needs), and a pool that lost all its actors is started again."""
    asked, pool = _pools.get(address, (None, None))
    if pool is not None and (not pool.actors or asked != workers):
        pool.close()
        pool = None
    if pool is None:
        pool = ActorPool(address, workers)
        _pools[address] = (workers, pool)
    return pool


def close_pools() -> None:
    """Stop every shared pool of this process (their CPUs become free)."""
    for _, pool in list(_pools.values()):
        pool.close()


__all__ = ["ACTOR_CLASS", "ActorPool", "ClusterError", "LOCAL", "close_pools", "connect", "remote_cpu_seconds",
           "shared_pool"]
