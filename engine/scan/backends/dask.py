"""The Dask backend: a job's tasks on a Dask cluster (`dask` + `distributed`, the `dask` extra).

A task is (the job's rules, a set of hash partitions of the signal key), run on a worker with the
local engine over the archive, which workers read themselves (a path they all reach): the task
reads the range once for all of its partitions, so with `TASKS_PER_WORKER` tasks per worker
thread the range is read about that many times per thread, however many partitions memory asks
for. Tasks hand back their results, never frames of events. Dask retries the tasks of a worker
that is lost; a stop request cancels the tasks not yet done.

This is the only module of the engine that imports Dask, and only `engine.run(cluster=...)`
imports it: `import engine` and a local run load no Dask.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TypeVar

from distributed import Client, Future, LocalCluster, wait

from engine.core.errors import HindsightError
from engine.scan.backends.base import ClusterBackend
from engine.scan.backends.local import LocalBackend
from engine.scan.source import LogSource

S = TypeVar("S")
R = TypeVar("R")

#: A cluster given as text: `local:N` starts a LocalCluster of N worker processes.
LOCAL_PREFIX = "local:"
#: How often (seconds) a waiting client asks whether the job was stopped.
POLL_SECONDS = 0.2
#: How long (seconds) to wait for a scheduler given by address.
CONNECT_SECONDS = 10
#: Tasks per worker thread (per worker, of one thread), so a slow or lost worker holds back a
#: small share of the job (each task reads the range once: more tasks, more reads).
TASKS_PER_WORKER = 2

Cluster = str | Client


class DaskBackend(ClusterBackend):
    """A job's tasks on the Dask cluster of `client` (see the module docstring), in a fixed
    number of `partitions` when given; a context manager that closes what it started
    (`connect`)."""

    def __init__(
        self,
        client: Client,
        *,
        partitions: int | None = None,
        owns_client: bool = False,
        cluster: LocalCluster | None = None,
    ) -> None:
        self.client = client
        self._partitions = partitions
        self._owns_client = owns_client
        self._cluster = cluster

    def threads(self) -> int:
        """The cluster's worker threads now (at least 1)."""
        workers = self.client.scheduler_info()["workers"].values()
        return max(1, sum(int(worker.get("nthreads", 1)) for worker in workers))

    def partitions(self, source: LogSource, low: int | None, high: int | None) -> int:
        """A fixed count, or as many as a local run's memory asks for
        (`LocalBackend.partitions`), rounded up to a multiple of the tasks (at least one per
        task)."""
        if self._partitions is not None:
            return self._partitions
        tasks = self.threads() * TASKS_PER_WORKER
        by_memory = LocalBackend().partitions(source, low, high)
        return math.ceil(by_memory / tasks) * tasks

    def task_count(self, count: int) -> int:
        """`TASKS_PER_WORKER` per worker thread, at most one per partition."""
        return min(count, self.threads() * TASKS_PER_WORKER)

    def map(
        self,
        task: Callable[[S, int], R],
        shared: S,
        count: int,
        *,
        should_stop: Callable[[], bool],
    ) -> Iterator[tuple[int, R]]:
        """`(number, result)` of each task as it finishes (see `ClusterBackend.map`)."""
        # on every worker: a lost worker takes no input with it (scattered data is not recomputed)
        [sent] = self.client.scatter([shared], broadcast=True, hash=False)
        futures: dict[Future[R], int] = {
            self.client.submit(task, sent, number, pure=False): number for number in range(count)
        }
        waiting = set(futures)
        try:
            while waiting:
                if should_stop():
                    return
                try:
                    done, waiting = wait(
                        waiting, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:
                    continue
                for future in done:
                    yield futures[future], future.result()
        finally:
            self.client.cancel([*waiting, sent], force=True)

    def close(self) -> None:
        """Close the client and cluster this backend started (not a client it was given)."""
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def connect(cluster: Cluster) -> DaskBackend:
    """A backend on `cluster`: a `distributed.Client`, a scheduler address (`tcp://host:8786`),
    or `local:N` (a LocalCluster of N worker processes, one thread each, closed with the
    backend)."""
    if isinstance(cluster, Client):
        return DaskBackend(cluster)
    if cluster.startswith(LOCAL_PREFIX):
        workers = _count(cluster.removeprefix(LOCAL_PREFIX))
        local = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        return DaskBackend(Client(local), owns_client=True, cluster=local)
    try:
        client = Client(cluster, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise HindsightError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from exc
    return DaskBackend(client, owns_client=True)


def _count(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise HindsightError(f"{LOCAL_PREFIX}N needs a number of workers >= 1, not {text!r}")
    return workers
