"""The local backend: the scan in this process, with polars, one time slice after another.

The source's slices (`LogSource.slices`: cuts on archive file boundaries, about two million rows
each) are collected in time order, each with the plan's filters and derived columns and a count
of the events read, so progress follows event time and a stop request is honoured between slices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import polars as pl

from engine.scan.backends.base import ScanBackend, Scanned
from engine.scan.partitioned import PartitionedRows
from engine.scan.plan import ScanPlan
from engine.scan.source import SLICE_ROWS, LogSource

#: A local run reads and detects by hash partitions of about this much memory each ...
PARTITION_MEMORY = 512 * 2**20
#: ... counting this many bytes in memory (a partition's rows, matches frames, pending results
#: and their sample logs) per byte of the range's Parquet files. The range is read once whatever
#: the count (`PartitionedRows`), so partitions cost little time: 2M events (56 MiB of Parquet),
#: 100 rules of `benchmarks/rules.py`, 4 partitions peaked at 796-838 MiB (session 19, load
#: 9-20; before the single scan: 648 MiB, each partition reading the range again).
MEMORY_PER_FILE_BYTE = 32


class LocalBackend(ScanBackend):
    """In-process polars over the source's time slices; `partitions`: how many hash partitions
    a run is split in (default: as many as the range's files need, `PARTITION_MEMORY` each)."""

    def __init__(self, partitions: int | None = None) -> None:
        self._partitions = partitions

    def partitions(self, source: LogSource, low: int | None, high: int | None) -> int:
        """A fixed count, or one partition per `PARTITION_MEMORY` of the range's files in memory
        (`MEMORY_PER_FILE_BYTE`; in-memory logs: one)."""
        if self._partitions is not None:
            return self._partitions
        if source.archive is None:
            return 1
        files = source.archive.files(source.index, start=low, end=high)
        in_memory = sum(entry.bytes for entry in files) * MEMORY_PER_FILE_BYTE
        return max(1, math.ceil(in_memory / PARTITION_MEMORY))

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
        """The plan's rows of `[low, high)`, slice by slice, each slice read once and split
        among the partitions (see `ScanBackend.scan`)."""
        # a partitioned run holds a slice's rows of every partition at once: smaller slices
        slices = source.slices(low, high, target_rows=SLICE_ROWS // len(numbers))
        parts = PartitionedRows(plan, numbers, count)
        scanned = 0
        try:
            for number, (slice_low, slice_high) in enumerate(slices, start=1):
                if should_stop():
                    parts.close()
                    parts = PartitionedRows(plan, numbers, count)
                    parts.add(plan.apply(source.scan(low, high)).clear().collect())
                    return Scanned(parts, scanned, True)
                frame = source.scan(slice_low, slice_high)
                rows, read = source.collect_all(
                    [plan.apply(frame), frame.select(pl.len())], slice_low, slice_high
                )
                parts.add(rows)
                del rows
                scanned += int(read.item())
                progress(number / len(slices))
        except BaseException:
            parts.close()
            raise
        return Scanned(parts, scanned)
