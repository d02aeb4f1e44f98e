"""A scan's rows by hash partition, written once: each time slice's rows are split among the
partitions a run reads (`ScanPlan.keep`) as the slice is read, kept in memory for one partition,
else appended to temporary Arrow IPC files (one per slice and partition) read back one partition
at a time. The files are removed by `close` (the rows are a context manager), or, failing that,
when the rows are garbage collected."""

from __future__ import annotations

import os
from collections.abc import Sequence

import polars as pl

from engine.scan.plan import Partition, ScanPlan
from engine.scan.scratch import Scratch

__all__ = ["PartitionedRows"]


class PartitionedRows(Scratch):
    """The rows of partitions `numbers` of `count`, gathered slice by slice (`add`); with more
    than one partition, spilled to a temporary folder."""

    def __init__(self, plan: ScanPlan, numbers: Sequence[int], count: int) -> None:
        super().__init__("hindsight-scan-", wanted=len(numbers) > 1)
        self._plan = plan
        self.numbers = list(numbers)
        self.count = count
        self._empty: pl.DataFrame | None = None
        self._kept: dict[int, list[pl.DataFrame]] = {number: [] for number in self.numbers}
        self._files: dict[int, list[str]] = {number: [] for number in self.numbers}

    def add(self, rows: pl.DataFrame) -> None:
        """One slice's rows (`ScanPlan.apply` without a partition), split among the partitions
        (a row may belong to several: `ScanPlan.keep`)."""
        if self._empty is None:
            self._empty = rows.clear()
        for number in self.numbers:
            part = rows if self.count == 1 else rows.filter(self._plan.keep(self._of(number)))
            if self.folder is None:
                self._kept[number].append(part)
            elif part.height:
                path = self.path(f"p{number}-{len(self._files[number])}.arrow")
                part.write_ipc(path)
                self._files[number].append(path)

    def rows(self, number: int) -> pl.DataFrame:
        """Partition `number`'s rows, in scan order (read back from its files, which are then
        removed)."""
        if self.folder is None:
            parts = self._kept.pop(number, [])
        else:
            parts = [pl.read_ipc(path) for path in self._files[number]]
            for path in self._files.pop(number, []):
                os.remove(path)
        if not parts:
            return self._empty if self._empty is not None else pl.DataFrame()
        return pl.concat(parts)

    def _of(self, number: int) -> Partition:
        return Partition(number, self.count)

    def close(self) -> None:
        """Drop the rows and remove the temporary files (if any)."""
        self._kept.clear()
        super().close()
