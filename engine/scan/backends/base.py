"""The scan backend interface: what `engine.run` calls to read a batch of rules' rows.

A run compiles every query of its rules into one `ScanPlan` (filters and derived columns) and asks
a backend for the plan's rows over `[low, high)` of a `LogSource`. The backend decides how: the
local backend reads the source's time slices in turn, in this process (`local.py`). A distributed
backend (issue 15) reads the same slices on workers. A run over many events is split in hash
partitions of the signal key (`partitions`): the run reads the range ONCE, writing each
partition's rows aside as the slices are read (`engine.scan.partitioned`), then detects one
partition after the other, so no step holds every matched row of the range. A distributed backend
hands out tasks that are (the rule batch, a set of partitions), each run the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Self, TypeVar

from engine.scan.partitioned import PartitionedRows
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource

S = TypeVar("S")
R = TypeVar("R")


@dataclass(frozen=True)
class Scanned:
    """What a scan read: the plan's rows by partition (`ScanPlan.apply`, `ScanPlan.keep`), how
    many events it read, and whether it was stopped before the end (then the rows are empty)."""

    parts: PartitionedRows
    events_scanned: int
    stopped: bool = False


class ScanBackend(ABC):
    """Runs the scan of a rule batch."""

    @abstractmethod
    def scan(
        self,
        source: LogSource,
        plan: ScanPlan,
        low: int | None,
        high: int | None,
        *,
        progress: Callable[[float], None],
        should_stop: Callable[[], bool],
        numbers: Sequence[int] = (0,),
        count: int = 1,
    ) -> Scanned:
        """The plan's rows of the events with `low <= timestamp < high` (epoch ms; None: open),
        read once and split among hash partitions `numbers` of `count` (1: not partitioned).

        `progress` is told the fraction of the scan done (monotonic, up to 1.0); `should_stop` is
        asked between pieces of work, and a True answer ends the scan (`stopped`).
        """

    def partitions(self, source: LogSource, low: int | None, high: int | None) -> int:
        """In how many hash partitions a run over `[low, high)` reads and detects (1: all at
        once). A run's unit of work is (its rules, one partition)."""
        return 1

    def numbers(self, count: int) -> Sequence[int]:
        """Which of the `count` partitions this backend reads (all; a task of a run on a
        cluster: its own)."""
        return range(count)


class ClusterBackend(ABC):
    """Runs a job's tasks in other processes or on other machines (`dask.py`): each task is
    (the job's rules, a set of hash partitions), run with the local engine where it lands."""

    @abstractmethod
    def partitions(self, source: LogSource, low: int | None, high: int | None) -> int:
        """In how many hash partitions a run over `[low, high)` is split."""

    def task_count(self, count: int) -> int:
        """Among how many tasks `count` partitions are dealt (each task reads the range once
        for all of its partitions; default: one task per partition)."""
        return count

    @abstractmethod
    def map(
        self,
        task: Callable[[S, int], R],
        shared: S,
        count: int,
        *,
        should_stop: Callable[[], bool],
    ) -> Iterator[tuple[int, R]]:
        """`(number, task(shared, number))` for each `number` in `range(count)`, as the tasks
        finish; `shared` is sent once. A True `should_stop` cancels the tasks not yet done and
        ends the iteration."""

    def close(self) -> None:  # noqa: B027 - optional: most backends start nothing
        """Release what the backend started (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
