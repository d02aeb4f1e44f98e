"""Cluster figures: the rule library in one job, locally and on a Dask LocalCluster of 1 and 2
workers, with the same results.

    python -m benchmarks.cluster [--events 2000000] [--rules 100] [--tasks 4] [--partitions N]

The archive is the scale benchmark's (`benchmarks/data/scale-<events>/`, generated and ingested
when absent). Every cluster run uses the same tasks (`--tasks`, each a set of the partitions;
partitions: `--partitions`, or by memory as a local run, rounded to a multiple of the tasks), so
1 and 2 workers do the same work (by default a cluster gives `TASKS_PER_WORKER` tasks per worker
thread, so 2 workers would run twice the tasks, and read the range twice as often); the
figures: wall time, tasks, the bytes of what the tasks hand back to the client (pickled), and
the scheduler's overhead per task (the round trip of an empty task).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from distributed import Client, LocalCluster

import engine
from benchmarks.rules import varied_rules
from benchmarks.workload import write_ndjson
from engine.scan.backends.dask import DaskBackend
from engine.scan.source import LogSource

S = TypeVar("S")
R = TypeVar("R")
HERE = Path(__file__).parent
#: Empty tasks timed to measure the scheduler's overhead per task.
EMPTY_TASKS = 200


class Measured(DaskBackend):
    """A Dask backend running `fixed` tasks, counting them and the bytes they hand back."""

    tasks = 0
    bytes_back = 0

    def __init__(self, client: Client, *, partitions: int | None, fixed: int) -> None:
        super().__init__(client, partitions=partitions)
        self._fixed = fixed

    def partitions(self, source: LogSource, low: int | None, high: int | None) -> int:
        count = super().partitions(source, low, high)
        return math.ceil(count / self._fixed) * self._fixed

    def task_count(self, count: int) -> int:
        return min(count, self._fixed)

    def map(
        self, task: Callable[[S, int], R], shared: S, count: int, *, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[int, R]]:
        for number, outcome in super().map(task, shared, count, should_stop=should_stop):
            self.tasks += 1
            self.bytes_back += len(pickle.dumps(outcome))
            yield number, outcome


def _empty(number: int) -> int:
    return number


def archive_of(events: int, data: Path) -> Path:
    """The scale benchmark's archive of `events` events (made when absent)."""
    folder = data / f"scale-{events}"
    archive = folder / "archive"
    if not archive.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / f"auth-{events}.ndjson.gz"
        if not source.exists():
            write_ndjson(source, events)
        engine.ingest(source, archive)
    return archive


def on_cluster(
    workers: int, rules: list[dict[str, Any]], archive: Path, partitions: int | None, tasks: int
) -> tuple[dict[str, Any], engine.JobRun]:
    """The job on a LocalCluster of `workers` processes (one thread each, and one polars thread
    each, as Dask gives its workers one OpenMP/MKL thread per Dask thread), and its figures."""
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env={"POLARS_MAX_THREADS": "1"},
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(importlib.import_module, "engine.run")  # imports are not timed
        began = time.perf_counter()
        client.gather(client.map(_empty, range(EMPTY_TASKS), pure=False))
        overhead = (time.perf_counter() - began) / EMPTY_TASKS
        backend = Measured(client, partitions=partitions, fixed=tasks)
        began = time.perf_counter()
        outcome = engine.run(rules, archive, backend=backend)
        seconds = time.perf_counter() - began
    figures = {
        "workers": workers,
        "seconds": seconds,
        "tasks": backend.tasks,
        "bytes_back": backend.bytes_back,
        "overhead_ms_per_task": overhead * 1000,
        "results": len(outcome.results),
    }
    return figures, outcome


def main(argv: list[str] | None = None) -> int:
    """Measure, check the results are a local run's, print the table, write `cluster.json`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    archive = archive_of(args.events, args.data)
    rules = varied_rules(args.rules)
    began = time.perf_counter()
    local = engine.run(rules, archive)
    rows = [{"workers": "local", "seconds": time.perf_counter() - began}]
    for workers in (1, 2):
        figures, outcome = on_cluster(workers, rules, archive, args.partitions, args.tasks)
        if outcome.results != local.results:
            raise AssertionError(f"{workers} worker(s): results differ from the local run")
        rows.append(figures)
    text = report(rows, args.events, args.rules)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cluster.json").write_text(json.dumps(rows, indent=2))
    return 0


def report(rows: list[dict[str, Any]], events: int, rules: int) -> str:
    """The figures as a table, with the speed-up from 1 to 2 workers."""
    lines = [
        f"{rules} rules over {events:,} events",
        f"{'run':<12}{'seconds':>9}{'tasks':>7}{'KB back':>10}{'ms/task overhead':>18}",
    ]
    for row in rows:
        where = row["workers"] if row["workers"] == "local" else f"{row['workers']} worker(s)"
        if row["workers"] == "local":
            lines.append(f"{where:<12}{row['seconds']:>9.2f}")
            continue
        lines.append(
            f"{where:<12}{row['seconds']:>9.2f}{row['tasks']:>7}{row['bytes_back'] / 1024:>10.1f}"
            f"{row['overhead_ms_per_task']:>18.2f}"
        )
    one, two = rows[1]["seconds"], rows[2]["seconds"]
    lines.append(f"speed-up from 1 to 2 workers: {one / two:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
